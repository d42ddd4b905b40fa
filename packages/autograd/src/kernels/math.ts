import type { NumericArray } from "./types.js";

/** Elementwise functions added for custom architectures (trigonometry, accurate log/exp near 0). */
export type MathOp = "sin" | "cos" | "log1p" | "expm1";

export function unaryMath(op: MathOp, x: NumericArray, out: NumericArray): void {
  const n = out.length;
  switch (op) {
    case "sin":
      for (let i = 0; i < n; i++) out[i] = Math.sin(x[i]);
      return;
    case "cos":
      for (let i = 0; i < n; i++) out[i] = Math.cos(x[i]);
      return;
    case "log1p":
      for (let i = 0; i < n; i++) out[i] = Math.log1p(x[i]);
      return;
    case "expm1":
      for (let i = 0; i < n; i++) out[i] = Math.expm1(x[i]);
      return;
  }
}

/**
 * Running sums along the middle axis of x viewed as [outer, n, inner] (from the end when `reverse`).
 * Whole rows of length `inner` are added at a time, so reads and writes stay contiguous. float32 sums
 * run in a float64 row and round once per output, as torch's CPU cumsum accumulates in double.
 */
export function cumsumAxis(
  x: NumericArray,
  out: NumericArray,
  outer: number,
  n: number,
  inner: number,
  reverse: boolean,
): void {
  const acc = out instanceof Float32Array ? new Float64Array(inner) : null;
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    if (acc !== null) acc.fill(0);
    for (let s = 0; s < n; s++) {
      const row = base + (reverse ? n - 1 - s : s) * inner;
      if (acc !== null) {
        for (let i = 0; i < inner; i++) {
          acc[i] += x[row + i];
          out[row + i] = acc[i];
        }
      } else if (s === 0) {
        for (let i = 0; i < inner; i++) out[row + i] = x[row + i];
      } else {
        const prev = row + (reverse ? inner : -inner);
        for (let i = 0; i < inner; i++) out[row + i] = out[prev + i] + x[row + i];
      }
    }
  }
}

/** Product over the middle axis of x viewed as [outer, n, inner]; out is [outer, inner]. Empty products are 1. */
export function prodAxis(x: NumericArray, out: NumericArray, outer: number, n: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    const ob = o * inner;
    for (let i = 0; i < inner; i++) out[ob + i] = 1;
    for (let j = 0; j < n; j++) {
      const xb = (o * n + j) * inner;
      for (let i = 0; i < inner; i++) out[ob + i] *= x[xb + i];
    }
  }
}
