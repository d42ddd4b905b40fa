// Colours per kind of box, shared by every format so the three pictures look alike.
import type { PictureKind } from "./picture.js";

export interface BoxStyle {
  fill: string;
  stroke: string;
}

export const BOX_STYLES: Record<PictureKind, BoxStyle> = {
  input: { fill: "#dbeafe", stroke: "#2563eb" },
  param: { fill: "#fef3c7", stroke: "#b45309" },
  const: { fill: "#f3f4f6", stroke: "#6b7280" },
  op: { fill: "#ffffff", stroke: "#374151" },
  scope: { fill: "#ecfdf5", stroke: "#047857" },
};

export const CLUSTER_STYLE = { fill: "#f8fafc", stroke: "#94a3b8", text: "#475569" };
export const EDGE_COLOR = "#4b5563";
export const KINDS: readonly PictureKind[] = ["input", "param", "const", "op", "scope"];
