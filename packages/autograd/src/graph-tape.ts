import { type GraphOptions, type TapeNode, toDot, toMermaid, toSvg } from "./graph.js";

/** The ordered record of one `record(fn)` call: what was computed, for inspection and pictures. */
export class Tape {
  constructor(readonly nodes: readonly TapeNode[]) {}

  /** Graphviz DOT, left to right. `{ collapseScopes: true }` draws one box per scope (the article's level). */
  toDot(opts?: GraphOptions): string {
    return toDot(this.nodes, opts);
  }

  /** A Mermaid flowchart. */
  toMermaid(opts?: GraphOptions): string {
    return toMermaid(this.nodes, opts);
  }

  /** A standalone SVG picture with its own layout (no dependencies). */
  toSvg(opts?: GraphOptions): string {
    return toSvg(this.nodes, opts);
  }
}
