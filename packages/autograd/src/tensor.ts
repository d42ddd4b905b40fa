import { type DType, dtypeOf, type TypedArray } from "./dtype.js";
import { DTypeError, GraphError, ShapeError, ValueError } from "./errors.js";
import * as ops from "./ops/index.js";
import { formatShape, type Shape } from "./shape.js";
import { backward, type Dual, type Node, recordNonDifferentiable } from "./tape.js";

type Operand = Tensor | number;
type Axes = number | readonly number[];

/** A nested array of numbers as returned by toArray (a number for 0-d tensors). */
export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array with contiguous row-major data. Tensors are values: ops never modify their
 * inputs. A tensor produced by an op whose inputs require grad holds the graph node that made it.
 */
export class Tensor {
  readonly data: TypedArray;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
  /** Accumulated gradient of a leaf after backward(); null until then. */
  grad: Tensor | null = null;
  /** A label for pictures of the graph (e.g. "W_1"). */
  name: string | undefined = undefined;
  /** @internal */ _requiresGrad = false;
  /** @internal The node that produced this tensor, if it was recorded. */
  _node: Node | null = null;
  /** @internal Its tangents at the jvp levels that reached it (forward mode); null outside jvp. */
  _duals: Dual | null = null;

  constructor(data: TypedArray, shape: Shape) {
    if (!(data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array)) {
      throw new DTypeError(
        `Tensor: data must be a Float32Array, Float64Array or Int32Array, got ${data === null ? "null" : Array.isArray(data) ? "an array" : typeof data === "object" ? (data as object).constructor?.name : typeof data}`,
      );
    }
    if (!Array.isArray(shape)) {
      throw new ShapeError(`Tensor: shape must be an array of integers >= 0, got ${String(shape)}`);
    }
    let size = 1;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i];
      // Number.isInteger rejects NaN, ±Infinity, fractions and non-numbers.
      if (!Number.isInteger(d) || d < 0) {
        throw new ShapeError(
          `Tensor: shape ${formatShape(shape)} has an invalid dimension ${String(d)} at index ${i}; expected integers >= 0`,
        );
      }
      size *= d;
    }
    if (data.length !== size) {
      throw new ShapeError(
        `Tensor: data has ${data.length} elements but shape ${formatShape(shape)} needs ${size}`,
      );
    }
    this.data = data;
    this.shape = shape;
    this.dtype = dtypeOf(data);
    this.size = size;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  set requiresGrad(value: boolean) {
    if (value && this.dtype === "int32") {
      throw new DTypeError(
        `requiresGrad: int32 tensors (indices, labels) cannot require grad; cast to a float dtype first`,
      );
    }
    if (!value && this._node !== null) {
      throw new GraphError(
        `requiresGrad: only leaf tensors can change requiresGrad; this tensor was produced by ${this._node.rule.name} (f_${this._node.index}). Use detach()`,
      );
    }
    this._requiresGrad = value;
  }

  /** True for tensors not produced by a recorded op (inputs, parameters, constants). */
  get isLeaf(): boolean {
    return this._node === null;
  }

  /** The element type as nested arrays (a number for 0-d tensors). */
  toArray(): NestedArray {
    if (this.shape.length === 0) return this.data[0];
    const build = (dim: number, offset: number): NestedArray[] => {
      const n = this.shape[dim];
      const out: NestedArray[] = new Array(n);
      if (dim === this.shape.length - 1) {
        for (let i = 0; i < n; i++) out[i] = this.data[offset + i];
        return out;
      }
      let stride = 1;
      for (let d = dim + 1; d < this.shape.length; d++) stride *= this.shape[d];
      for (let i = 0; i < n; i++) out[i] = build(dim + 1, offset + i * stride);
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a size-1 tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new ValueError(
        `item: only size-1 tensors have one value; this one has shape ${formatShape(this.shape)}`,
      );
    }
    return this.data[0];
  }

  toString(): string {
    const body = this.size <= 100 ? JSON.stringify(this.toArray()) : `<${this.size} values>`;
    return `Tensor(${body}, shape=${formatShape(this.shape)}, dtype=${this.dtype}${this._requiresGrad ? ", requiresGrad" : ""})`;
  }

  /** A tensor sharing this one's data, cut from the graph (never requires grad). */
  detach(): Tensor {
    const t = new Tensor(this.data, this.shape);
    t.name = this.name;
    recordNonDifferentiable("detach", null, [this], t);
    return t;
  }

  backward(seed?: Tensor | number, opts?: { retainGraph?: boolean; createGraph?: boolean }): void {
    backward(this, seed, opts);
  }

  // elementwise arithmetic (NumPy broadcasting; a number takes this tensor's dtype)
  add(other: Operand): Tensor {
    return ops.add(this, other);
  }
  sub(other: Operand): Tensor {
    return ops.sub(this, other);
  }
  mul(other: Operand): Tensor {
    return ops.mul(this, other);
  }
  div(other: Operand): Tensor {
    return ops.div(this, other);
  }
  pow(other: Operand): Tensor {
    return ops.pow(this, other);
  }
  maximum(other: Operand): Tensor {
    return ops.maximum(this, other);
  }
  minimum(other: Operand): Tensor {
    return ops.minimum(this, other);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  leakyRelu(alpha = 0.01): Tensor {
    return ops.leakyRelu(this, alpha);
  }
  softplus(): Tensor {
    return ops.softplus(this);
  }
  erf(): Tensor {
    return ops.erf(this);
  }
  gelu(): Tensor {
    return ops.gelu(this);
  }
  sin(): Tensor {
    return ops.sin(this);
  }
  cos(): Tensor {
    return ops.cos(this);
  }
  /** log(1 + x), accurate near 0. */
  log1p(): Tensor {
    return ops.log1p(this);
  }
  /** eˣ − 1, accurate near 0. */
  expm1(): Tensor {
    return ops.expm1(this);
  }
  clamp(min: number, max: number): Tensor {
    return ops.clamp(this, min, max);
  }
  sign(): Tensor {
    return ops.sign(this);
  }

  // comparisons: 0/1 masks in this tensor's dtype, never differentiable
  greater(other: Operand): Tensor {
    return ops.greater(this, other);
  }
  greaterEqual(other: Operand): Tensor {
    return ops.greaterEqual(this, other);
  }
  less(other: Operand): Tensor {
    return ops.less(this, other);
  }
  lessEqual(other: Operand): Tensor {
    return ops.lessEqual(this, other);
  }
  equal(other: Operand): Tensor {
    return ops.equal(this, other);
  }
  notEqual(other: Operand): Tensor {
    return ops.notEqual(this, other);
  }

  matmul(other: Tensor, opts?: ops.MatmulOptions): Tensor {
    return ops.matmul(this, other, opts);
  }

  // layout
  transpose(axes?: readonly number[]): Tensor {
    return ops.transpose(this, axes);
  }
  /** The transpose of a 2-D tensor. */
  get T(): Tensor {
    if (this.shape.length !== 2) {
      throw new ShapeError(
        `T: defined for 2-D tensors; got shape ${formatShape(this.shape)}. Use transpose(axes)`,
      );
    }
    return ops.transpose(this);
  }
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  broadcastTo(shape: readonly number[]): Tensor {
    return ops.broadcastTo(this, shape);
  }
  squeeze(axis?: number): Tensor {
    return ops.squeeze(this, axis);
  }
  unsqueeze(axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  /** Entries [start, end) along `axis`, every `step`-th (step >= 1); negative indices count from the end. */
  slice(axis: number, start: number, end?: number, step = 1): Tensor {
    return ops.slice(this, axis, start, end, step);
  }
  /** torch.gather along `axis`: out[p] = this[p with its axis coordinate replaced by indices[p]]. */
  takeAlongAxis(indices: Tensor, axis: number): Tensor {
    return ops.takeAlongAxis(this, indices, axis);
  }
  /** Adds this tensor's entries into zeros(shape) at `indices` along `axis` (takeAlongAxis's transpose). */
  scatterAddAlongAxis(indices: Tensor, axis: number, shape: readonly number[]): Tensor {
    return ops.scatterAddAlongAxis(this, indices, axis, shape);
  }
  /** Equal parts (a count) or parts of the given sizes along `axis`. */
  split(sizesOrCount: number | readonly number[], axis = 0): Tensor[] {
    return ops.split(this, sizesOrCount, axis);
  }
  /** Up to n parts of ceil(size / n) entries along `axis` (torch.chunk). */
  chunk(n: number, axis = 0): Tensor[] {
    return ops.chunk(this, n, axis);
  }
  /** Reverses the order along `axes` (all when omitted). */
  flip(axes?: number | readonly number[]): Tensor {
    return ops.flip(this, axes);
  }
  /** Rotates entries by `shift` along `axis` (the flattened tensor when omitted). */
  roll(shift: number | readonly number[], axis?: number | readonly number[]): Tensor {
    return ops.roll(this, shift, axis);
  }
  /** Lower triangle of the last two axes (col − row <= k), zeros above. */
  tril(k = 0): Tensor {
    return ops.tril(this, k);
  }
  /** Upper triangle of the last two axes (col − row >= k), zeros below. */
  triu(k = 0): Tensor {
    return ops.triu(this, k);
  }
  gather(indices: Tensor | readonly number[], axis = 0): Tensor {
    return ops.gather(this, indices, axis);
  }
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  /** Zero padding along one axis. */
  pad(axis: number, before: number, after: number): Tensor {
    return ops.pad(this, axis, before, after);
  }
  /** Adds slices of this tensor along `axis` into zeros of length `size` at `indices` (gather's transpose). */
  scatterAdd(indices: Tensor | readonly number[], axis: number, size: number): Tensor {
    return ops.scatterAdd(this, indices, axis, size);
  }

  // reductions
  sum(axis?: Axes, keepdims = false): Tensor {
    return ops.sum(this, axis, keepdims);
  }
  mean(axis?: Axes, keepdims = false): Tensor {
    return ops.mean(this, axis, keepdims);
  }
  max(axis?: Axes, keepdims = false): Tensor {
    return ops.max(this, axis, keepdims);
  }
  min(axis?: Axes, keepdims = false): Tensor {
    return ops.min(this, axis, keepdims);
  }
  logsumexp(axis?: Axes, keepdims = false): Tensor {
    return ops.logsumexp(this, axis, keepdims);
  }
  prod(axis?: Axes, keepdims = false): Tensor {
    return ops.prod(this, axis, keepdims);
  }
  /** Variance (correction 1 by default: the unbiased estimate). */
  var(axis?: Axes, opts?: ops.VarOptions): Tensor {
    return ops.variance(this, axis, opts);
  }
  std(axis?: Axes, opts?: ops.VarOptions): Tensor {
    return ops.std(this, axis, opts);
  }
  /** Vector p-norm (p = 2 by default; 1, Infinity, -Infinity, 0 or any p > 0). */
  norm(p = 2, axis?: Axes, keepdims = false): Tensor {
    return ops.norm(this, p, axis, keepdims);
  }
  /** Running sum along `axis` (the flattened tensor when omitted). */
  cumsum(axis?: number): Tensor {
    return ops.cumsum(this, axis);
  }
  /** Sorted values (differentiable) and their int32 indices along `axis`; stable, NaN largest. */
  sort(axis = -1, opts?: ops.SortOptions): { values: Tensor; indices: Tensor } {
    return ops.sort(this, axis, opts);
  }
  argsort(axis = -1, opts?: ops.SortOptions): Tensor {
    return ops.argsort(this, axis, opts);
  }
  /** The k largest (or smallest, { largest: false }) entries along `axis` and their indices. */
  topk(k: number, axis = -1, opts?: ops.TopkOptions): { values: Tensor; indices: Tensor } {
    return ops.topk(this, k, axis, opts);
  }
  argmax(axis?: number): Tensor {
    return ops.argmax(this, axis);
  }
  argmin(axis?: number): Tensor {
    return ops.argmin(this, axis);
  }
  softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
}
