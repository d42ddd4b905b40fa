import { ValueError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { erf, greater, less, mul, where } from "./elementwise.js";
import { checkTensor, requireFloat } from "./util.js";

/** x for x > 0, alpha·x otherwise. */
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  checkTensor(x, "leakyRelu");
  requireFloat(x, "leakyRelu");
  if (!Number.isFinite(alpha)) throw new ValueError(`leakyRelu: alpha must be a finite number, got ${alpha}`);
  return where(greater(x, 0), x, mul(x, alpha));
}

/** Exact GELU: x·Φ(x) = ½·x·(1 + erf(x/√2)). */
export function gelu(x: Tensor): Tensor {
  checkTensor(x, "gelu");
  requireFloat(x, "gelu");
  return mul(x, erf(mul(x, Math.SQRT1_2)).add(1)).mul(0.5);
}

/** Limits values to [min, max]; the gradient is 1 inside the interval (bounds included) and 0 outside. */
export function clamp(x: Tensor, min: number, max: number): Tensor {
  checkTensor(x, "clamp");
  if (Number.isNaN(min) || Number.isNaN(max) || min > max) {
    throw new ValueError(`clamp: expected min <= max, got min ${min} and max ${max}`);
  }
  return where(less(x, min), min, where(greater(x, max), max, x));
}
