import { isBatched, storageOf } from "../batched.js";
import { ValueError } from "../errors.js";
import { cumsumAxis, prodAxis } from "../kernels/math.js";
import { formatShape, normalizeAxes, normalizeAxis, reducedShape, sizeOf } from "../shape.js";
import { apply } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { type BatchRuleTable, physicalAxis } from "./batching.js";
import {
  abs,
  add,
  div,
  equal,
  greater,
  mul,
  notEqual,
  pow,
  sqrt,
  square,
  sub,
  where,
} from "./elementwise.js";
import type { JvpTable, RuleTable } from "./primitive.js";
import { max, mean, min, sum } from "./reduce.js";
import { checkTensor, composite, empty, requireFloat } from "./util.js";

type Axes = number | readonly number[] | undefined | null;

function axisView(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), n: shape[axis], inner: sizeOf(shape.slice(axis + 1)) };
}

export const statisticsRules: RuleTable<"prod" | "cumsum"> = {
  prod: {
    name: "prod",
    forward: ([x], { axis }) => {
      const shape = x.shape.slice();
      shape[axis] = 1;
      const out = empty(x.dtype, shape);
      const { outer, n, inner } = axisView(x.shape, axis);
      prodAxis(x.data, out.data, outer, n, inner);
      return out;
    },
    vjp: (g, { inputs: [x], output, params: { axis } }) => [mul(g, productOfOthers(x, output, axis))],
  },
  cumsum: {
    name: "cumsum",
    forward: ([x], { axis, reverse }) => {
      const out = empty(x.dtype, x.shape);
      const { outer, n, inner } = axisView(x.shape, axis);
      cumsumAxis(x.data, out.data, outer, n, inner, reverse);
      return out;
    },
    // Output j sums inputs up to j, so input i collects the cotangents of outputs i.. n−1: the reversed scan.
    vjp: (g, { params: { axis, reverse } }) => [
      apply(statisticsRules.cumsum, [g], { axis, reverse: !reverse }),
    ],
  },
};

/**
 * Forward mode: prod's tangent is Σ_i t_i·Π_{j≠i} x_j along the axis (the same exact product of the
 * others as the vjp, so zeros are handled alike); cumsum is linear.
 */
export const statisticsJvpRules: JvpTable<"prod" | "cumsum"> = {
  prod: ([t], { inputs: [x], output, params: { axis } }) =>
    t === null ? null : sum(mul(t, productOfOthers(x, output, axis)), axis, true),
  cumsum: ([t], { params }) => (t === null ? null : apply(statisticsRules.cumsum, [t], params)),
};

/**
 * ∂y/∂x_i = Π_{j≠i} x_j along the axis, exactly, also where x has zeros (as torch's prod backward).
 * Without zeros it is y / x_i. With zeros, P is the product of the nonzero entries and Z that of the
 * zero ones (0, but differentiable): a nonzero x_i gets Z·P / x_i; a zero x_i gets P times the product
 * of the other zeros, which is 1 for a lone zero and 0 otherwise, written as [c = 1] + [c = 2]·(S − x_i)
 * (c zeros in the line, S their sum: 0 in value) so that its derivative towards the other zero is right
 * too. Masks and counts are constants, so the rule differentiates again, exactly to second order.
 */
function productOfOthers(x: Tensor, y: Tensor, axis: number): Tensor {
  // A batched x is not read (its values are per example): the general form is right for every x.
  if (!isBatched(x) && !x.data.includes(0)) return div(y, x);
  const isZero = equal(x, 0);
  const count = isZero.sum(axis, true);
  const nonzero = where(isZero, 1, x);
  const p = apply(statisticsRules.prod, [nonzero], { axis });
  const z = apply(statisticsRules.prod, [where(isZero, x, 1)], { axis });
  const zerosSum = sum(where(isZero, x, 0), axis, true);
  const otherZeros = add(equal(count, 1), mul(equal(count, 2), sub(zerosSum, x)));
  return where(isZero, mul(p, otherZeros), div(mul(z, p), nonzero));
}

/** Product over `axis` (a number, a list, or all axes when omitted); an empty product is 1. */
export const prod = composite("prod", function prod(x: Tensor, axis?: Axes, keepdims = false): Tensor {
  checkTensor(x, "prod");
  const axes = normalizeAxes(axis, x.ndim, "prod");
  let out = x;
  for (const a of axes) out = apply(statisticsRules.prod, [out], { axis: a });
  return keepdims ? out : out.reshape(reducedShape(x.shape, axes, false));
});

/** Running sum along `axis` (the flattened tensor when omitted), as torch.cumsum / np.cumsum. */
export const cumsum = composite("cumsum", function cumsum(x: Tensor, axis?: number): Tensor {
  checkTensor(x, "cumsum");
  if (axis === undefined) {
    const flat = x.reshape([x.size]);
    return apply(statisticsRules.cumsum, [flat], { axis: 0, reverse: false });
  }
  const ax = normalizeAxis(axis, x.ndim, "cumsum");
  return apply(statisticsRules.cumsum, [x], { axis: ax, reverse: false });
});

export interface VarOptions {
  /** Subtracted from the count in the divisor: 1 (default) is the unbiased estimate, 0 the population variance. */
  correction?: number;
  keepdims?: boolean;
}

function varianceOptions(
  opts: VarOptions | undefined,
  op: string,
): { correction: number; keepdims: boolean } {
  if (opts === undefined) return { correction: 1, keepdims: false };
  if (opts === null || typeof opts !== "object") {
    throw new ValueError(`${op}: options must be an object like { correction: 0 }, got ${String(opts)}`);
  }
  const correction = opts.correction ?? 1;
  if (typeof correction !== "number" || !Number.isFinite(correction) || correction < 0) {
    throw new ValueError(`${op}: correction must be a finite number >= 0, got ${String(correction)}`);
  }
  const keepdims = opts.keepdims ?? false;
  if (typeof keepdims !== "boolean")
    throw new ValueError(`${op}: keepdims must be true or false, got ${String(keepdims)}`);
  return { correction, keepdims };
}

function varianceOf(x: Tensor, axis: Axes, opts: VarOptions | undefined, op: string): Tensor {
  checkTensor(x, op);
  requireFloat(x, op);
  const { correction, keepdims } = varianceOptions(opts, op);
  const axes = normalizeAxes(axis, x.ndim, op);
  let count = 1;
  for (const a of axes) count *= x.shape[a];
  if (count === 0)
    throw new ValueError(`${op}: cannot take the variance of zero elements (shape ${formatShape(x.shape)})`);
  const centred = x.sub(mean(x, axes, true));
  // As torch: the divisor is max(0, N − correction), so too few elements give Inf or NaN, not an error.
  return sum(square(centred), axes, keepdims).div(Math.max(0, count - correction));
}

/** Variance over `axis` (all axes when omitted): Σ(x − mean)² / (N − correction), correction 1 by default. */
export const variance = composite(
  "var",
  function variance(x: Tensor, axis?: Axes, opts?: VarOptions): Tensor {
    return varianceOf(x, axis, opts, "var");
  },
);

// Both scan every example's values when batched (vmap): the float64 redo is right for every example.
function hasOverflow(t: Tensor): boolean {
  const d = storageOf(t);
  for (let i = 0; i < d.length; i++) if (d[i] === Number.POSITIVE_INFINITY) return true;
  return false;
}

function allFinite(t: Tensor): boolean {
  const d = storageOf(t);
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return false;
  return true;
}

/** Standard deviation: the square root of var(x, axis, opts). */
export const std = composite("std", function std(x: Tensor, axis?: Axes, opts?: VarOptions): Tensor {
  const v = varianceOf(x, axis, opts, "std");
  // float32 squares overflow for |x − mean| > ~1.8e19 though the deviation itself fits: redo those in
  // float64 (torch's std of [1e30, −1e30] is 1.41e30, not Inf). Finite results skip the second pass.
  if (x.dtype === "float32" && hasOverflow(v) && allFinite(x)) {
    return sqrt(varianceOf(x.cast("float64"), axis, opts, "std")).cast("float32");
  }
  return sqrt(v);
});

/**
 * s^(1/p) with a zero gradient where s = 0, torch's choice at the kink of a norm (the root's own
 * derivative is infinite there). The inner `where` keeps the unused branch finite so that no 0·Inf
 * reaches the gradient.
 */
function rootSafe(s: Tensor, p: number): Tensor {
  const positive = greater(s, 0);
  const safe = where(positive, s, 1);
  return where(positive, p === 2 ? sqrt(safe) : pow(safe, 1 / p), 0);
}

/**
 * Vector p-norm over `axis` (all elements when omitted), as torch.linalg.vector_norm: p = 2 (default),
 * 1, Infinity (max |x|), -Infinity (min |x|), 0 (count of nonzeros, not differentiable), or any p > 0.
 * Gradients at 0 are 0 (torch's subgradient choice).
 */
export const norm = composite("norm", function norm(x: Tensor, p = 2, axis?: Axes, keepdims = false): Tensor {
  checkTensor(x, "norm");
  requireFloat(x, "norm");
  if (typeof p !== "number" || Number.isNaN(p) || (p < 0 && p !== Number.NEGATIVE_INFINITY)) {
    throw new ValueError(`norm: p must be a number > 0, 0, Infinity or -Infinity, got ${String(p)}`);
  }
  const axes = normalizeAxes(axis, x.ndim, "norm");
  if (p === Number.POSITIVE_INFINITY) return max(abs(x), axes, keepdims);
  if (p === Number.NEGATIVE_INFINITY) return min(abs(x), axes, keepdims);
  if (p === 0) return sum(notEqual(x.detach(), 0), axes, keepdims);
  if (p === 1) return sum(abs(x), axes, keepdims);
  if (p === 2) return rootSafe(sum(square(x), axes, keepdims), 2);
  // |x|^p with the same guard: its derivative p·|x|^(p−1) is infinite at 0 for p < 1.
  const nonzero = notEqual(x, 0);
  const powered = where(nonzero, pow(where(nonzero, abs(x), 1), p), 0);
  return rootSafe(sum(powered, axes, keepdims), p);
});

// ---- batching rules (vmap) -------------------------------------------------------------------------

/** Both work along one axis: the same axis of the batch value, shifted past the batch axis. */
export const statisticsBatchRules: BatchRuleTable<"prod" | "cumsum"> = {
  prod: ({ rule, values: [x], dims: [d], params: { axis } }) => {
    const dim = d as number;
    return { value: apply(rule, [x], { axis: physicalAxis(axis, dim) }), dim };
  },
  cumsum: ({ rule, values: [x], dims: [d], params: { axis, reverse } }) => {
    const dim = d as number;
    return { value: apply(rule, [x], { axis: physicalAxis(axis, dim), reverse }), dim };
  },
};
