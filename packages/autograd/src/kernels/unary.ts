import { recordElementwise } from "./backend.js";
import type { NumericArray } from "./types.js";
import { unaryWasm } from "./wasm/elementwise.js";

/** Elementwise unary functions. One loop per function keeps each call site monomorphic and fast. */
export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "abs"
  | "sign"
  | "square"
  | "tanh"
  | "sigmoid"
  | "relu"
  | "softplus"
  | "erf"
  | "step";

export function unary(op: UnaryOp, x: NumericArray, out: NumericArray): void {
  // WASM SIMD where it covers the op and pays (wasm/elementwise.ts); these loops otherwise.
  if (unaryWasm(op, x, out)) return;
  recordElementwise("js");
  const n = out.length;
  switch (op) {
    case "neg":
      for (let i = 0; i < n; i++) out[i] = -x[i];
      return;
    case "exp":
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]);
      return;
    case "log":
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]);
      return;
    case "sqrt":
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]);
      return;
    case "abs":
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]);
      return;
    case "sign":
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = v > 0 ? 1 : v < 0 ? -1 : v; // keeps NaN and ±0
      }
      return;
    case "square":
      for (let i = 0; i < n; i++) out[i] = x[i] * x[i];
      return;
    case "tanh":
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
      return;
    case "sigmoid":
      for (let i = 0; i < n; i++) {
        const v = x[i];
        // Two branches so exp never overflows.
        if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
        else {
          const e = Math.exp(v);
          out[i] = e / (1 + e);
        }
      }
      return;
    case "relu":
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = v <= 0 ? 0 : v; // NaN stays NaN; -0 becomes +0
      }
      return;
    case "softplus":
      for (let i = 0; i < n; i++) {
        const v = x[i];
        // log(1 + e^v) = max(v, 0) + log1p(e^-|v|): no overflow, accurate for large |v|.
        out[i] = (v > 0 ? v : 0) + Math.log1p(Math.exp(-Math.abs(v)));
      }
      return;
    case "erf":
      for (let i = 0; i < n; i++) out[i] = erf(x[i]);
      return;
    case "step":
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? 1 : 0;
      return;
  }
}

const TWO_OVER_SQRT_PI = 1.1283791670955126;
/** 2/√π − 1, rounded to double (mpmath). */
const TWO_OVER_SQRT_PI_MINUS_1 = 0.1283791670955126;

/**
 * Centers c of the Taylor expansions used on [0.5, 2), one per quarter: [c, erf(c) as hi + lo] with
 * hi + lo the double-double rounding of the exact value (computed with mpmath at 50 digits).
 */
const ERF_CENTERS: readonly (readonly [number, number, number])[] = [
  [0.625, 0.623240882188418, -2.7016816836135297e-17],
  [0.875, 0.7840750610598597, -3.204544978890348e-17],
  [1.125, 0.8883882317017078, -1.158643993739769e-17],
  [1.375, 0.9481700727820903, 1.071691533519912e-17],
  [1.625, 0.9784437332399837, -1.7028513178925588e-17],
  [1.875, 0.9919900576701199, 3.0126779045582727e-17],
];
const ERF_TERMS = 22;

/**
 * Taylor coefficients of erf at each center: a_n = erf⁽ⁿ⁾(c)/n! = (2/√π)·e^(−c²)·(−1)^(n−1)·H_(n−1)(c)/n!,
 * with the Hermite recurrence H_(k+1) = 2c·H_k − 2k·H_(k−1). Their rounding errors barely matter: the
 * polynomial is a correction of at most 0.15·erf(c) (|x − c| ≤ 1/8), added to the exact erf(c).
 */
const ERF_COEFS: readonly Float64Array[] = ERF_CENTERS.map(([c]) => {
  const hermite = [1, 2 * c];
  for (let k = 1; k < ERF_TERMS; k++) hermite.push(2 * c * hermite[k] - 2 * k * hermite[k - 1]);
  const scale = TWO_OVER_SQRT_PI * Math.exp(-c * c);
  const a = new Float64Array(ERF_TERMS + 1);
  let factorial = 1;
  for (let n = 1; n <= ERF_TERMS; n++) {
    factorial *= n;
    a[n] = (scale * (n % 2 === 1 ? 1 : -1) * hermite[n - 1]) / factorial;
  }
  return a;
});

const SPLITTER = 134217729; // 2^27 + 1 (Veltkamp split)

/**
 * erf(x) in float64 with an error of at most 1 ulp (0.75 ulp measured over 5,600 points against
 * mpmath, test/fixtures/erf; float32 results, rounded from it, were correctly rounded at every point):
 * - |x| < 0.5: x + x·s(x²), s = 2/√π − 1 + (2/√π)·Σ (−x²)ⁿ/(n!(2n+1)): x is exact and the small
 *   correction s (≤ 0.13) carries the series' rounding errors, scaled down.
 * - 0.5 ≤ |x| < 2: a 22-term Taylor expansion about the nearest quarter center (|x − c| ≤ 1/8),
 *   added to erf(c) stored as a double-double. (The alternating series used before lost up to 62 ulp
 *   near |x| = 2.49 to cancellation: its terms reach 500 times the result there.)
 * - 2 ≤ |x| < 6: 1 − erfc(x), erfc by its continued fraction with e^(−x²) from an exact x² (hi + lo):
 *   erfc < 0.005 there, so its relative error hardly reaches the result.
 * - |x| ≥ 6: ±1 (erfc(6) ≈ 2e−17 is below half an ulp of 1).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  let r: number;
  if (ax < 0.5) {
    const z = x * x;
    let term = 1;
    let sum = 0;
    for (let n = 1; n < 30; n++) {
      term *= -z / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-18) break;
    }
    return x + x * (TWO_OVER_SQRT_PI_MINUS_1 + TWO_OVER_SQRT_PI * sum);
  }
  if (ax < 2) {
    const k = Math.min(ERF_CENTERS.length - 1, Math.floor((ax - 0.5) * 4));
    const [c, hi, lo] = ERF_CENTERS[k];
    const a = ERF_COEFS[k];
    const h = ax - c; // exact: c is a multiple of 1/8 near ax
    let p = a[ERF_TERMS];
    for (let n = ERF_TERMS - 1; n >= 1; n--) p = p * h + a[n];
    r = hi + (lo + p * h);
  } else if (ax < 6) {
    // erfc(x) = e^(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated bottom-up.
    let frac = 0;
    for (let k = 60; k >= 1; k--) frac = k / 2 / (ax + frac);
    const split = SPLITTER * ax;
    const xh = split - (split - ax);
    const xl = ax - xh;
    const sq = ax * ax;
    const sqLo = xh * xh - sq + 2 * xh * xl + xl * xl; // x² = sq + sqLo exactly
    const erfc = (Math.exp(-sq) * (1 - sqLo)) / Math.sqrt(Math.PI) / (ax + frac);
    r = 1 - erfc;
  } else r = 1;
  return x < 0 ? -r : r;
}
