import { gemmJs } from "./gemm-js.js";
import type { FloatArray } from "./types.js";

/**
 * The GEMM entry point the ops call: C[m,n] = op(A)·op(B). See gemmJs for the storage convention.
 * This is where a faster backend (WASM SIMD, threads) is selected; the JS kernel is the fallback
 * and the reference the tests compare against.
 */
export function gemm(
  a: FloatArray,
  aOff: number,
  b: FloatArray,
  bOff: number,
  c: FloatArray,
  cOff: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): void {
  gemmJs(a, aOff, b, bOff, c, cOff, m, n, k, transA, transB);
}
