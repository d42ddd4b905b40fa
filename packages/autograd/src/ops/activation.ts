import { liftBatched, storageOf } from "../batched.js";
import { ValueError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { erf, greater, less, mul, where } from "./elementwise.js";
import { checkTensor, composite, empty, requireFloat } from "./util.js";

/** x for x > 0, alpha·x otherwise. */
export const leakyRelu = composite("leakyRelu", function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  checkTensor(x, "leakyRelu");
  requireFloat(x, "leakyRelu");
  if (!Number.isFinite(alpha)) throw new ValueError(`leakyRelu: alpha must be a finite number, got ${alpha}`);
  return where(greater(x, 0), x, mul(x, alpha));
});

/** Beyond these finite inputs GELU is x (Φ(x) rounds to 1, x·φ(x) < 1e-20) or 0 (Φ(x) underflows) in both float dtypes. */
const GELU_LINEAR_FROM = 10;
const GELU_ZERO_BELOW = -40;

/** ½·x·(1 + erf(x/√2)); halving x first keeps ½·max·2 from overflowing to Infinity. */
const geluCore = (x: Tensor): Tensor => mul(mul(x, 0.5), erf(mul(x, Math.SQRT1_2)).add(1));

/**
 * Exact GELU: x·Φ(x) = ½·x·(1 + erf(x/√2)). Finite inputs past ±GELU thresholds take the limits
 * (x, or 0) through `where`: in the formula, the cotangent reaching erf is g·½·x, which overflows near
 * the largest float and then meets erf's zero derivative as Inf·0 = NaN (torch's gelu(3e38) is 3e38
 * with gradient 1). ±Infinity keeps the formula's values, as in torch (gelu(-Inf) is NaN there).
 */
export const gelu = composite("gelu", function gelu(x: Tensor): Tensor {
  checkTensor(x, "gelu");
  requireFloat(x, "gelu");
  const d = storageOf(x); // every example's values when batched (vmap): one path for all
  let outside = false;
  for (let i = 0; i < d.length && !outside; i++) {
    const v = d[i];
    outside = (v > GELU_LINEAR_FROM || v < GELU_ZERO_BELOW) && Number.isFinite(v);
  }
  if (!outside) return geluCore(x);
  const linear = mask(x, (v) => v > GELU_LINEAR_FROM && v !== Number.POSITIVE_INFINITY);
  const zero = mask(x, (v) => v < GELU_ZERO_BELOW && v !== Number.NEGATIVE_INFINITY);
  const inside = where(linear, 0, where(zero, 0, x)); // the formula never sees the extremes
  return where(linear, x, where(zero, 0, geluCore(inside)));
});

/** A constant 0/1 tensor of x's dtype and shape: 1 where `test` holds. */
function mask(x: Tensor, test: (v: number) => boolean): Tensor {
  const lifted = liftBatched([x], ([v], [d]) => ({ value: mask(v, test), dim: d }));
  if (lifted !== null) return lifted;
  const m = empty(x.dtype, x.shape);
  for (let i = 0; i < x.size; i++) if (test(x.data[i])) m.data[i] = 1;
  return m;
}

/** Limits values to [min, max]; the gradient is 1 inside the interval (bounds included) and 0 outside. */
export const clamp = composite("clamp", function clamp(x: Tensor, min: number, max: number): Tensor {
  checkTensor(x, "clamp");
  if (Number.isNaN(min) || Number.isNaN(max) || min > max) {
    throw new ValueError(`clamp: expected min <= max, got min ${min} and max ${max}`);
  }
  return where(less(x, min), min, where(greater(x, max), max, x));
});
