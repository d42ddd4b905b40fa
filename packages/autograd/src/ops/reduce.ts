import { isBatched, liftBatched, storageOf } from "../batched.js";
import { ShapeError } from "../errors.js";
import { argReduce, type ReduceOp, reduce as reduceKernel } from "../kernels/reduce.js";
import { formatShape, normalizeAxes, normalizeAxis, reducedShape, sizeOf } from "../shape.js";
import { apply, recordNonDifferentiable } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { type BatchRule, type BatchRuleTable, batchFirst, physicalAxis } from "./batching.js";
import { where } from "./elementwise.js";
import type { JvpTable, PrimitiveParams, RuleTable } from "./primitive.js";
import { reshape } from "./shape.js";
import { checkTensor, composite, empty, requireFloat, scalar } from "./util.js";

type Axes = number | readonly number[] | undefined | null;

function reduceForward(op: ReduceOp, x: Tensor, axes: number[], keepdims: boolean): Tensor {
  const out = empty(x.dtype, reducedShape(x.shape, axes, keepdims));
  // max/min of nothing is undefined; an empty result (another dimension is 0) is fine.
  if (op !== "sum" && reducedCount(x.shape, axes) === 0 && out.size > 0) {
    throw new ShapeError(
      `${op}: cannot reduce over an empty axis of shape ${formatShape(x.shape)} (axes ${JSON.stringify(axes)}; no identity element)`,
    );
  }
  if (out.size > 0) reduceKernel(op, x.data, x.shape, axes, out.data);
  return out;
}

function reducedCount(shape: readonly number[], axes: readonly number[]): number {
  let n = 1;
  for (const a of axes) n *= shape[a];
  return n;
}

/** The cotangent of a reduction, reshaped with the reduced axes kept and broadcast back to x's shape. */
function expandBack(g: Tensor, x: Tensor, axes: number[], keepdims: boolean): Tensor {
  const kept = keepdims ? g : g.reshape(reducedShape(x.shape, axes, true));
  return kept.broadcastTo(x.shape as number[]);
}

/** max/min: the cotangent goes to the extreme elements, split evenly among ties (as torch.amax does). */
function extremeVjp(g: Tensor, x: Tensor, y: Tensor, axes: number[], keepdims: boolean): Tensor {
  const yKept = keepdims ? y : y.reshape(reducedShape(x.shape, axes, true));
  const mask = x.equal(yKept.detach()); // constant 0/1 mask
  const count = mask.sum(axes, true);
  const share = where(mask, expandBack(g, x, axes, keepdims).div(count), scalar(0, x.dtype));
  // A NaN extreme matches no element (NaN != NaN): its whole slice gets NaN, so a NaN loss never
  // yields silently zero gradients.
  if (!isBatched(yKept) && !yKept.data.some(Number.isNaN)) return share;
  return where(yKept.notEqual(yKept), scalar(Number.NaN, x.dtype), share);
}

export const reduceRules: RuleTable<"sum" | "max" | "min"> = {
  sum: {
    name: "sum",
    forward: ([x], { axes, keepdims }) => reduceForward("sum", x, axes, keepdims),
    vjp: (g, { inputs: [x], params: { axes, keepdims } }) => [expandBack(g, x, axes, keepdims)],
  },
  max: {
    name: "max",
    forward: ([x], { axes, keepdims }) => reduceForward("max", x, axes, keepdims),
    vjp: (g, { inputs: [x], output, params: { axes, keepdims } }) => [
      extremeVjp(g, x, output, axes, keepdims),
    ],
  },
  min: {
    name: "min",
    forward: ([x], { axes, keepdims }) => reduceForward("min", x, axes, keepdims),
    vjp: (g, { inputs: [x], output, params: { axes, keepdims } }) => [
      extremeVjp(g, x, output, axes, keepdims),
    ],
  },
};

/**
 * Forward mode: a sum is linear (the tangent is summed the same way); max and min pass on the tangent of
 * the extreme element, averaged over ties, the transpose of extremeVjp's even split.
 */
export const reduceJvpRules: JvpTable<"sum" | "max" | "min"> = {
  sum: ([t], { params }) => (t === null ? null : apply(reduceRules.sum, [t], params)),
  max: ([t], { inputs: [x], output, params: { axes, keepdims } }) =>
    t === null ? null : extremeJvp(t, x, output, axes, keepdims),
  min: ([t], { inputs: [x], output, params: { axes, keepdims } }) =>
    t === null ? null : extremeJvp(t, x, output, axes, keepdims),
};

function extremeJvp(t: Tensor, x: Tensor, y: Tensor, axes: number[], keepdims: boolean): Tensor {
  const yKept = keepdims ? y : y.reshape(reducedShape(x.shape, axes, true));
  const mask = x.equal(yKept.detach());
  const picked = sum(where(mask, t, scalar(0, t.dtype)), axes, true).div(mask.sum(axes, true));
  const out = yKept.data.some(Number.isNaN)
    ? where(yKept.notEqual(yKept), scalar(Number.NaN, t.dtype), picked)
    : picked;
  return keepdims ? out : out.reshape(y.shape as number[]);
}

/** Sum over `axis` (a number, a list, or all axes when omitted). */
export function sum(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  checkTensor(x, "sum");
  const axes = normalizeAxes(axis, x.ndim, "sum");
  return apply(reduceRules.sum, [x], { axes, keepdims });
}

export const mean = composite("mean", function mean(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  checkTensor(x, "mean");
  requireFloat(x, "mean");
  const axes = normalizeAxes(axis, x.ndim, "mean");
  let count = 1;
  for (const a of axes) count *= x.shape[a];
  if (count === 0)
    throw new ShapeError(`mean: cannot average over zero elements (shape ${formatShape(x.shape)})`);
  const total = sum(x, axes, keepdims);
  // A sum past the largest float (mean of [max, max]) overflows though the mean does not: then divide
  // first. Only then, since n divisions round more than one.
  if (!hasInfinity(total) || hasInfinity(x)) return total.div(count);
  return sum(x.div(count), axes, keepdims);
});

function hasInfinity(t: Tensor): boolean {
  const d = storageOf(t); // any example's, when batched (vmap): either path is right for every example
  for (let i = 0; i < d.length; i++)
    if (d[i] === Number.POSITIVE_INFINITY || d[i] === Number.NEGATIVE_INFINITY) return true;
  return false;
}

export function max(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  checkTensor(x, "max");
  return apply(reduceRules.max, [x], { axes: normalizeAxes(axis, x.ndim, "max"), keepdims });
}

export function min(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  checkTensor(x, "min");
  return apply(reduceRules.min, [x], { axes: normalizeAxes(axis, x.ndim, "min"), keepdims });
}

/**
 * log Σ exp(x), stable: the max is subtracted first and detached. The detach is exact, since the
 * expression does not depend on the shift, and it makes the gradient softmax(x).
 */
export const logsumexp = composite(
  "logsumexp",
  function logsumexp(x: Tensor, axis?: Axes, keepdims = false): Tensor {
    checkTensor(x, "logsumexp");
    requireFloat(x, "logsumexp");
    const axes = normalizeAxes(axis, x.ndim, "logsumexp");
    const m = stableShift(x, axes);
    const lse = x.sub(m).exp().sum(axes, true).log().add(m);
    return keepdims ? lse : lse.reshape(reducedShape(x.shape, axes, false));
  },
);

/**
 * The detached max over `axes` (kept), or 0 over an empty axis, where the max is undefined but log Σ exp = -Inf.
 * `keepPlusInf`: softmax and logSoftmax keep a +Inf shift, so a row holding +Inf is NaN throughout as in
 * torch (Inf − Inf), rather than NaN at the Inf and 0 or −Inf beside it.
 */
function stableShift(x: Tensor, axes: number[], keepPlusInf = false): Tensor {
  if (reducedCount(x.shape, axes) === 0) return empty(x.dtype, reducedShape(x.shape, axes, true));
  return finiteShift(max(x, axes, true).detach(), keepPlusInf);
}

/** Replaces ±Inf/NaN shifts by 0 (+Inf kept if asked) so that all -Inf rows give -Inf rather than NaN. */
function finiteShift(m: Tensor, keepPlusInf: boolean): Tensor {
  const lifted = liftBatched([m], ([v], [d]) => ({ value: finiteShift(v, keepPlusInf), dim: d }));
  if (lifted !== null) return lifted;
  const replace = (v: number): boolean =>
    !Number.isFinite(v) && !(keepPlusInf && v === Number.POSITIVE_INFINITY);
  let ok = true;
  for (let i = 0; i < m.data.length; i++) if (replace(m.data[i])) ok = false;
  if (ok) return m;
  const data = m.data.slice();
  for (let i = 0; i < data.length; i++) if (replace(data[i])) data[i] = 0;
  const t = empty(m.dtype, m.shape);
  t.data.set(data);
  return t;
}

/** softmax along `axis`: exp(x − max) / Σ exp(x − max). */
export const softmax = composite("softmax", function softmax(x: Tensor, axis = -1): Tensor {
  checkTensor(x, "softmax");
  requireFloat(x, "softmax");
  const ax = normalizeAxis(axis, x.ndim, "softmax");
  const e = x.sub(stableShift(x, [ax], true)).exp();
  return e.div(e.sum(ax, true));
});

/**
 * log softmax along `axis`: (x − m) − log Σ exp(x − m) with m the detached max. Subtracting the small
 * log-sum from the shifted logits, rather than x − logsumexp(x), keeps float32 accuracy for large logits.
 */
export const logSoftmax = composite("logSoftmax", function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkTensor(x, "logSoftmax");
  requireFloat(x, "logSoftmax");
  const ax = normalizeAxis(axis, x.ndim, "logSoftmax");
  const shifted = x.sub(stableShift(x, [ax], true));
  return shifted.sub(shifted.exp().sum(ax, true).log());
});

function argOp(op: "argmax" | "argmin", x: Tensor, axis: number | undefined): Tensor {
  checkTensor(x, op);
  const lifted = liftBatched([x], ([v], [d]) => {
    const dim = d as number;
    if (axis === undefined)
      return { value: argOp(op, reshape(batchFirst(v, dim), [v.shape[dim], -1]), 1), dim: 0 };
    const ax = physicalAxis(normalizeAxis(axis, x.ndim, op), dim);
    return { value: argOp(op, v, ax), dim: ax < dim ? dim - 1 : dim };
  });
  if (lifted !== null) return lifted;
  const noValues = (): ShapeError =>
    new ShapeError(
      `${op}: empty tensor of shape ${formatShape(x.shape)} has no ${op}${axis === undefined ? "" : ` along axis ${axis}`}`,
    );
  if (axis === undefined) {
    if (x.size === 0) throw noValues();
    const out = empty("int32", []);
    argReduce(op, x.data, 1, x.size, 1, out.data as Int32Array);
    recordNonDifferentiable(op, { axis: null }, [x], out);
    return out;
  }
  const ax = normalizeAxis(axis, x.ndim, op);
  const outer = sizeOf(x.shape.slice(0, ax));
  const inner = sizeOf(x.shape.slice(ax + 1));
  const out = empty("int32", reducedShape(x.shape, [ax], false));
  if (out.size === 0) return out;
  if (x.shape[ax] === 0) throw noValues();
  argReduce(op, x.data, outer, x.shape[ax], inner, out.data as Int32Array);
  recordNonDifferentiable(op, { axis: ax }, [x], out);
  return out;
}

/** Index of the largest element (flattened, or along `axis`), as int32. Ties: the first. Not differentiable. */
export const argmax = (x: Tensor, axis?: number): Tensor => argOp("argmax", x, axis);
/** Index of the smallest element (flattened, or along `axis`), as int32. Not differentiable. */
export const argmin = (x: Tensor, axis?: number): Tensor => argOp("argmin", x, axis);

// ---- batching rules (vmap) -------------------------------------------------------------------------

/** A reduction reduces the same axes of the batch value, shifted past the batch axis: nothing moves. */
function reduceBatch<P extends "sum" | "max" | "min">(): BatchRule<P> {
  return ({ rule, values: [x], dims: [d], params }) => {
    const dim = d as number;
    const { axes, keepdims } = params as PrimitiveParams["sum"];
    const out = apply(rule, [x], {
      axes: axes.map((a) => physicalAxis(a, dim)),
      keepdims,
    } as PrimitiveParams[P]);
    return { value: out, dim: keepdims ? dim : dim - axes.filter((a) => a < dim).length };
  };
}

export const reduceBatchRules: BatchRuleTable<"sum" | "max" | "min"> = {
  sum: reduceBatch(),
  max: reduceBatch(),
  min: reduceBatch(),
};
