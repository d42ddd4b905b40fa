// Mermaid flowchart text of the f_i graph (renders on GitHub and in most Markdown viewers).
import type { GraphOptions, TapeNode } from "../graph.js";
import { mermaidString } from "./escape.js";
import { type GraphPicture, graphPicture, type PictureKind } from "./picture.js";
import { BOX_STYLES, CLUSTER_STYLE, KINDS } from "./style.js";
import { clusterTree } from "./tree.js";

export function toMermaid(nodes: readonly TapeNode[], opts: GraphOptions = {}): string {
  return pictureToMermaid(graphPicture(nodes, opts, "toMermaid"));
}

export function pictureToMermaid(picture: GraphPicture): string {
  const out: string[] = [];
  if (picture.title !== undefined && picture.title !== "") {
    // Front matter is Mermaid's way to title a diagram; JSON strings are valid YAML scalars.
    out.push("---", `title: ${JSON.stringify(picture.title)}`, "---");
  }
  out.push(`flowchart ${picture.rankdir}`);
  const nodeLine = (i: number, indent: string): string => {
    const node = picture.nodes[i];
    return `${indent}${node.id}["${mermaidString(node.lines)}"]`;
  };

  const tree = clusterTree(picture);
  for (const i of tree.topNodes) out.push(nodeLine(i, "  "));
  const stack: { cluster: number; open: boolean }[] = tree.topClusters
    .slice()
    .reverse()
    .map((cluster) => ({ cluster, open: true }));
  while (stack.length > 0) {
    const { cluster, open } = stack.pop()!;
    const c = picture.clusters[cluster];
    const indent = "  ".repeat(c.depth + 1);
    if (!open) {
      out.push(`${indent}end`);
      continue;
    }
    out.push(`${indent}subgraph ${c.id}["${mermaidString([c.label])}"]`);
    for (const i of tree.nodesIn[cluster]) out.push(nodeLine(i, `${indent}  `));
    stack.push({ cluster, open: false });
    for (let k = tree.childrenOf[cluster].length - 1; k >= 0; k--) {
      stack.push({ cluster: tree.childrenOf[cluster][k], open: true });
    }
  }
  for (const edge of picture.edges) {
    out.push(`  ${picture.nodes[edge.from].id} --> ${picture.nodes[edge.to].id}`);
  }

  const byKind = new Map<PictureKind, string[]>();
  for (const node of picture.nodes) {
    const ids = byKind.get(node.kind) ?? [];
    ids.push(node.id);
    byKind.set(node.kind, ids);
  }
  for (const kind of KINDS) {
    const ids = byKind.get(kind);
    if (ids === undefined) continue;
    const style = BOX_STYLES[kind];
    out.push(`  classDef ${kind}Box fill:${style.fill},stroke:${style.stroke}`);
    out.push(`  class ${ids.join(",")} ${kind}Box`);
  }
  if (picture.clusters.length > 0) {
    out.push(
      `  classDef scopeCluster fill:${CLUSTER_STYLE.fill},stroke:${CLUSTER_STYLE.stroke},stroke-dasharray:4 3`,
    );
    out.push(`  class ${picture.clusters.map((c) => c.id).join(",")} scopeCluster`);
  }
  return `${out.join("\n")}\n`;
}
