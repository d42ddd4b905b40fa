import { type GraphOptions, type TapeNode, toDot, toMermaid, toSvg } from "./graph.js";
import type { NonDifferentiableOp, NonDifferentiableParams } from "./ops/non-differentiable.js";
import type { Primitive, PrimitiveParams } from "./ops/primitive.js";
import type { Tensor } from "./tensor.js";

/**
 * What one tape node computed: a leaf (an input, parameter or constant that entered from outside), a
 * primitive with its parameters (the same ones its rule's forward saw), or a non-differentiable op
 * (recorded only with `record(fn, { nonDifferentiable: true })`). Discriminated on `primitive`/`op`,
 * so `params` is typed by the op.
 */
export type RecordedOp =
  | { readonly kind: "leaf" }
  | {
      [P in Primitive]: {
        readonly kind: "primitive";
        readonly primitive: P;
        readonly params: PrimitiveParams[P];
      };
    }[Primitive]
  | {
      [O in NonDifferentiableOp]: {
        readonly kind: "nonDifferentiable";
        readonly op: O;
        readonly params: NonDifferentiableParams[O];
      };
    }[NonDifferentiableOp];

/** The ordered record of one `record(fn)` call: what was computed, for inspection and pictures. */
export class Tape {
  /**
   * `ops` and `tensors` run parallel to `nodes` (what each node computed, and the tensor it made or, for
   * a leaf, is); a Tape built from nodes alone can draw pictures but not answer op() or tensor().
   */
  constructor(
    readonly nodes: readonly TapeNode[],
    private readonly ops: readonly RecordedOp[] = [],
    private readonly tensors: readonly Tensor[] = [],
  ) {}

  /** The primitive (and its parameters) that node i applied, or { kind: "leaf" }. For exporters. */
  op(i: number): RecordedOp {
    const op = this.ops[i];
    if (op === undefined)
      throw new RangeError(`Tape.op: no recorded op for node ${i} of ${this.nodes.length}`);
    return op;
  }

  /**
   * The tensor node i made, or for a leaf the tensor itself (a parameter's live data, a constant's
   * values). Held, not copied: the tape keeps every recorded tensor alive while it lives.
   */
  tensor(i: number): Tensor {
    const t = this.tensors[i];
    if (t === undefined) throw new RangeError(`Tape.tensor: no tensor for node ${i} of ${this.nodes.length}`);
    return t;
  }

  /** The index of the node that made (or is) t, or -1 when t is not on this tape. */
  indexOf(t: Tensor): number {
    return this.tensors.indexOf(t);
  }

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
