// Pictures of a recorded tape: the f_i graph as Graphviz DOT, Mermaid, or a standalone SVG.
// The tape (tape.ts) hands over plain TapeNode records; everything here is pure string/geometry work.

/** One recorded node as the tape exposes it: a leaf (input, parameter, constant) or a primitive op. */
export interface TapeNode {
  /** Position in tape.nodes (0, 1, 2, ...), creation order. */
  index: number;
  /** Primitive name ("matmul", "add", "sigmoid", "sum", ...); "leaf" for leaves. */
  op: string;
  /** Indices (into tape.nodes) of this node's inputs, in argument order. */
  inputs: number[];
  shape: readonly number[];
  dtype: "float32" | "float64" | "int32";
  /** Scope labels, outermost first; [] = top level. */
  scope: readonly string[];
  /** A unique id per scope() call, parallel to scope (two calls with one label differ). */
  scopeIds: readonly number[];
  /** tensor.name if set (e.g. "X", "Y", "W_1", "b_1"). */
  name?: string;
  /** True for tensors that entered from outside the recorded function. */
  leaf: boolean;
  /** For leaves: a parameter (true) or data/constant (false). */
  requiresGrad: boolean;
}

export interface GraphOptions {
  /** One box per outermost scope instance (the article's level) instead of every primitive. */
  collapseScopes?: boolean;
  title?: string;
  /** Show each node's shape, e.g. [8, 30]. Default true. */
  showShapes?: boolean;
  /** Direction of the data flow. Default "LR" (left to right, like the article's figures). */
  rankdir?: "LR" | "TB";
}

export { toDot } from "./graph/dot.js";
export { toMermaid } from "./graph/mermaid.js";
export type { GraphPicture, PictureCluster, PictureEdge, PictureKind, PictureNode } from "./graph/picture.js";
export { graphPicture } from "./graph/picture.js";
export { toSvg } from "./graph/svg.js";
