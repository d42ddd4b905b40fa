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

/**
 * erf(x) to double precision (max relative error ~1e-15): a Taylor series for |x| < 2.5 and a
 * continued fraction for erfc beyond, the classic split used by numerical libraries.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return sum * 1.1283791670955126;
  }
  if (ax > 6) return x > 0 ? 1 : -1;
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated bottom-up.
  let frac = 0;
  for (let k = 60; k >= 1; k--) frac = k / 2 / (ax + frac);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + frac);
  return x > 0 ? 1 - erfc : erfc - 1;
}
