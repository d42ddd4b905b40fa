import { ValueError } from "./errors.js";
import { Rng } from "./random.js";
import { formatShape } from "./shape.js";
import { grads, noGrad } from "./tape.js";
import { Tensor } from "./tensor.js";

/** f must be a function and inputs an array of tensors: anything else is an error naming the check. */
function checkInputs(f: unknown, inputs: unknown, op: string): void {
  if (typeof f !== "function") throw new ValueError(`${op}: expected a function, got ${typeof f}`);
  if (!Array.isArray(inputs) || !inputs.every((t) => t instanceof Tensor)) {
    throw new ValueError(
      `${op}: inputs must be an array of tensors, got ${Array.isArray(inputs) ? "an array holding something else" : String(inputs)}`,
    );
  }
}

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
  /** Seed of the random cotangent used for non-scalar outputs (default 0). */
  seed?: number;
}

export interface GradcheckWorst {
  /** Which input, which flat element. */
  input: number;
  index: number;
  analytic: number;
  numeric: number;
}

/**
 * The result of comparing analytic (tape) gradients a with numeric (central-difference) ones n, element
 * by element over every float input:
 * - `ok`: every element satisfies |a − n| <= atol + rtol·|n| (the numpy.allclose / torch.gradcheck
 *   rule, n the reference); a NaN anywhere fails.
 * - `maxAbsError`: the largest |a − n|.
 * - `maxRelError`: the largest |a − n| / max(|a|, |n|, atol/rtol), over every element. The floor
 *   atol/rtol is where the ok rule turns from absolute to relative: it keeps gradients that are 0 up to
 *   finite-difference noise from reporting huge ratios, and makes maxRelError <= rtol imply ok.
 *   (With rtol = 0 there is no floor.) NaN when any element is NaN.
 * - `worst`: the element furthest past its tolerance (or the first NaN).
 */
export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  maxRelError: number;
  worst: GradcheckWorst | null;
}

type Fn = (...inputs: Tensor[]) => Tensor;

function toFloat64(x: Tensor, i: number): Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`gradcheck: input ${i} is not a Tensor`);
  if (x.dtype === "int32") return x;
  return new Tensor(Float64Array.from(x.data), x.shape);
}

/**
 * Projects f onto a fixed random cotangent so that any output shape reduces to a scalar:
 * checking ∇⟨v, f⟩ checks vᵀJ, the quantity backward computes.
 */
function scalarize(f: Fn, xs: Tensor[], seed: number): Fn {
  const y0 = noGrad(() => f(...xs));
  if (!(y0 instanceof Tensor)) throw new ValueError("gradcheck: f must return a Tensor");
  if (y0.size === 1) return (...args) => f(...args).sum();
  const rng = new Rng(seed);
  const v = new Tensor(
    Float64Array.from({ length: y0.size }, () => rng.uniformIn(-1, 1)),
    y0.shape,
  );
  return (...args) => {
    const y = f(...args);
    if (y.size !== v.size) {
      throw new ValueError(
        `gradcheck: f's output changed shape from ${formatShape(v.shape)} to ${formatShape(y.shape)}`,
      );
    }
    return y.cast("float64").mul(v).sum();
  };
}

function compare(
  analytic: (Tensor | null)[],
  numeric: Float64Array[],
  xs: Tensor[],
  opts: GradcheckOptions,
): GradcheckResult {
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  const floor = Math.max(rtol > 0 ? atol / rtol : 0, Number.MIN_VALUE);
  let ok = true;
  let maxAbsError = 0;
  let maxRelError = 0;
  let worst: GradcheckWorst | null = null;
  let worstExcess = Number.NEGATIVE_INFINITY;
  xs.forEach((x, i) => {
    if (x.dtype === "int32") return;
    const a = analytic[i];
    const n = numeric[i];
    for (let k = 0; k < n.length; k++) {
      const av = a === null ? 0 : a.data[k];
      const nv = n[k];
      const abs = Math.abs(av - nv);
      const rel = abs / Math.max(Math.abs(nv), Math.abs(av), floor);
      const bad = !(abs <= atol + rtol * Math.abs(nv)); // NaN counts as bad
      if (bad) ok = false;
      if (Number.isNaN(abs) || Number.isNaN(maxAbsError)) {
        maxAbsError = Number.NaN;
        maxRelError = Number.NaN;
      } else {
        if (abs > maxAbsError) maxAbsError = abs;
        if (rel > maxRelError) maxRelError = rel;
      }
      const excess = Number.isNaN(abs) ? Number.POSITIVE_INFINITY : abs - (atol + rtol * Math.abs(nv));
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = { input: i, index: k, analytic: av, numeric: nv };
      }
    }
  });
  return { ok, maxAbsError, maxRelError, worst };
}

function numericGradients(h: Fn, xs: Tensor[], eps: number): Float64Array[] {
  return xs.map((x, i) => {
    const out = new Float64Array(x.size);
    if (x.dtype === "int32") return out;
    for (let k = 0; k < x.size; k++) {
      const orig = x.data[k];
      const at = (value: number): number => {
        x.data[k] = value;
        const args = xs.slice();
        args[i] = x;
        return noGrad(() => h(...args)).item();
      };
      const plus = at(orig + eps);
      const minus = at(orig - eps);
      x.data[k] = orig;
      out[k] = (plus - minus) / (2 * eps);
    }
    return out;
  });
}

/**
 * Compares tape gradients of f with central finite differences, in float64 (float32 inputs are
 * promoted). Non-scalar outputs are projected on a seeded random cotangent. `ok` holds when every
 * element satisfies |analytic − numeric| <= atol + rtol·|numeric| (defaults 1e-5 and 1e-3); see
 * GradcheckResult for how maxAbsError and maxRelError are measured.
 */
export function gradcheck(f: Fn, inputs: readonly Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  checkInputs(f, inputs, "gradcheck");
  const xs = inputs.map(toFloat64);
  const h = scalarize(f, xs, opts.seed ?? 0);
  const analytic = grads(h)(...xs);
  const numeric = numericGradients(h, xs, opts.eps ?? 1e-6);
  return compare(analytic, numeric, xs, opts);
}

/**
 * Second-order check: the tape's gradient of ⟨u, ∇⟨v, f⟩⟩ (a Hessian-vector product, differentiating
 * the backward pass itself) against finite differences of the first-order gradient.
 */
export function gradgradcheck(
  f: Fn,
  inputs: readonly Tensor[],
  opts: GradcheckOptions = {},
): GradcheckResult {
  checkInputs(f, inputs, "gradgradcheck");
  const xs = inputs.map(toFloat64);
  const h = scalarize(f, xs, opts.seed ?? 0);
  const rng = new Rng((opts.seed ?? 0) + 1);
  const us = xs.map(
    (x) =>
      new Tensor(
        Float64Array.from({ length: x.size }, () => rng.uniformIn(-1, 1)),
        x.shape,
      ),
  );
  const firstOrder: Fn = (...args) => {
    const gs = grads(h)(...args);
    let total: Tensor | null = null;
    gs.forEach((g, i) => {
      if (g === null || args[i].dtype === "int32") return;
      const term = g.mul(us[i]).sum();
      total = total === null ? term : total.add(term);
    });
    return total ?? new Tensor(new Float64Array(1), []);
  };
  const analytic = grads(firstOrder)(...xs);
  const numeric = numericGradients(firstOrder, xs, opts.eps ?? 1e-5);
  return compare(analytic, numeric, xs, { atol: 1e-4, rtol: 1e-3, ...opts });
}
