// Graphviz DOT text of the f_i graph; render with e.g. `dot -Tsvg graph.dot -o graph.svg`.
import type { GraphOptions, TapeNode } from "../graph.js";
import { dotString } from "./escape.js";
import { type GraphPicture, graphPicture } from "./picture.js";
import { BOX_STYLES, CLUSTER_STYLE, EDGE_COLOR } from "./style.js";
import { clusterTree } from "./tree.js";

export function toDot(nodes: readonly TapeNode[], opts: GraphOptions = {}): string {
  return pictureToDot(graphPicture(nodes, opts, "toDot"));
}

export function pictureToDot(picture: GraphPicture): string {
  const out: string[] = ["digraph tapegrad {"];
  const graphAttrs = [`rankdir=${picture.rankdir}`, 'fontname="Helvetica"', "nodesep=0.25", "ranksep=0.4"];
  if (picture.title !== undefined && picture.title !== "") {
    graphAttrs.push(`label="${dotString([picture.title])}"`, "labelloc=t", "fontsize=14");
  }
  out.push(`  graph [${graphAttrs.join(", ")}];`);
  out.push('  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];');
  out.push(`  edge [arrowsize=0.7, color="${EDGE_COLOR}"];`);

  const nodeLine = (i: number, indent: string): string => {
    const node = picture.nodes[i];
    const style = BOX_STYLES[node.kind];
    return `${indent}${node.id} [label="${dotString(node.lines)}", fillcolor="${style.fill}", color="${style.stroke}"];`;
  };

  const tree = clusterTree(picture);
  for (const i of tree.topNodes) out.push(nodeLine(i, "  "));
  // Clusters are printed depth first with an explicit stack (deep scope nesting must not recurse).
  const stack: { cluster: number; open: boolean }[] = tree.topClusters
    .slice()
    .reverse()
    .map((cluster) => ({ cluster, open: true }));
  while (stack.length > 0) {
    const { cluster, open } = stack.pop()!;
    const indent = "  ".repeat(picture.clusters[cluster].depth + 1);
    if (!open) {
      out.push(`${indent}}`);
      continue;
    }
    const c = picture.clusters[cluster];
    out.push(`${indent}subgraph cluster_${c.id} {`);
    out.push(
      `${indent}  label="${dotString([c.label])}"; style="rounded,dashed,filled"; ` +
        `fillcolor="${CLUSTER_STYLE.fill}"; color="${CLUSTER_STYLE.stroke}"; fontcolor="${CLUSTER_STYLE.text}"; fontsize=10;`,
    );
    for (const i of tree.nodesIn[cluster]) out.push(nodeLine(i, `${indent}  `));
    stack.push({ cluster, open: false });
    for (let k = tree.childrenOf[cluster].length - 1; k >= 0; k--) {
      stack.push({ cluster: tree.childrenOf[cluster][k], open: true });
    }
  }
  for (const edge of picture.edges) {
    out.push(`  ${picture.nodes[edge.from].id} -> ${picture.nodes[edge.to].id};`);
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}
