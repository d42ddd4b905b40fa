import type { DType } from "../dtype.js";
import type { Window2d } from "../kernels/conv.js";
import type { Tensor } from "../tensor.js";

/**
 * Parameters of every primitive op. The keys of this interface ARE the primitive set: a primitive added
 * here without a rule in ops/rules.ts is a compile error (the rule table is typed over these keys).
 */
export interface PrimitiveParams {
  // elementwise unary
  neg: null;
  exp: null;
  log: null;
  sqrt: null;
  abs: null;
  square: null;
  tanh: null;
  sigmoid: null;
  relu: null;
  softplus: null;
  erf: null;
  sin: null;
  cos: null;
  log1p: null;
  expm1: null;
  // elementwise binary, NumPy broadcasting
  add: null;
  sub: null;
  mul: null;
  div: null;
  pow: null;
  maximum: null;
  minimum: null;
  // fused activation gradients (inputs: saved activation or input, cotangent)
  tanhGrad: null;
  sigmoidGrad: null;
  reluGrad: null;
  // selection
  where: null;
  // linear algebra: op(A)·op(B) with transpose flags, batched
  matmul: { transA: boolean; transB: boolean };
  // reductions
  sum: { axes: number[]; keepdims: boolean };
  max: { axes: number[]; keepdims: boolean };
  min: { axes: number[]; keepdims: boolean };
  // product over one axis, kept as size 1 (composites reduce several axes one at a time)
  prod: { axis: number };
  // running sums along one axis (from the end when reverse: cumsum's own transpose)
  cumsum: { axis: number; reverse: boolean };
  // layout
  reshape: { shape: number[] };
  transpose: { perm: number[] };
  broadcastTo: { shape: number[] };
  // every step-th entry of [start, end) along axis (step >= 1)
  slice: { axis: number; start: number; end: number; step: number };
  pad: { axis: number; before: number; after: number };
  concat: { axis: number };
  gather: { axis: number };
  scatterAdd: { axis: number; size: number };
  // torch.gather along axis (inputs: x, int32 indices of x's rank) and its transpose into `shape`
  takeAlongAxis: { axis: number };
  scatterAddAlongAxis: { axis: number; shape: number[] };
  cast: { dtype: DType };
  // convolution (ops/conv.ts; pooling in ops/pool.ts is conv, takeAlongAxis and matmul): sliding windows over the last two axes
  conv: Window2d & { groups: number };
  convInputGrad: Window2d & { groups: number };
  convWeightGrad: Window2d & { groups: number };
  // user-defined primitives (customOp)
  custom: CustomParams;
}

export type Primitive = keyof PrimitiveParams;

export interface CustomParams {
  name: string;
  forward: (...inputs: Tensor[]) => Tensor;
  vjp: (cotangent: Tensor, inputs: readonly Tensor[], output: Tensor) => (Tensor | null) | (Tensor | null)[];
  /** Forward-mode rule (optional): the output tangent from the input tangents (null = zero tangent). */
  jvp?: (tangents: readonly (Tensor | null)[], inputs: readonly Tensor[], output: Tensor) => Tensor | null;
}

/** What a vjp rule sees of its node: the inputs and output of the forward call, and its parameters. */
export interface VjpContext<P extends Primitive> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly params: PrimitiveParams[P];
}

/**
 * A primitive: `forward` computes the output with kernels (never recording anything); `vjp` maps the
 * output cotangent to one cotangent per input (null = no gradient for that input), written with
 * differentiable tensor ops so that higher-order gradients come for free. `needs[i]` says whether
 * input i's cotangent is wanted; a rule may skip work for the others.
 */
export interface Rule<P extends Primitive> {
  readonly name: P;
  forward(inputs: readonly Tensor[], params: PrimitiveParams[P]): Tensor;
  vjp(cotangent: Tensor, ctx: VjpContext<P>, needs: readonly boolean[]): (Tensor | null)[];
}

export type RuleTable<K extends Primitive> = { readonly [P in K]: Rule<P> };

/**
 * A forward-mode rule: the tangent of the output from the tangents of the inputs (null = a zero tangent,
 * never materialised), written with differentiable tensor ops so that forward mode composes with reverse
 * mode and with itself (jvp of a grad, jacfwd of jacrev). Returns null when the output tangent is zero.
 * The context is the forward call itself: the inputs, the output just computed and the parameters.
 */
export type JvpRule<P extends Primitive> = (
  tangents: readonly (Tensor | null)[],
  ctx: VjpContext<P>,
) => Tensor | null;

/** Typed over the primitives like RuleTable: a primitive without a jvp rule does not compile. */
export type JvpTable<K extends Primitive> = { readonly [P in K]: JvpRule<P> };
