import { getKernelBackend, getKernelThreads, recordGemm, wasmAvailable } from "./backend.js";
import { gemmJs } from "./gemm-js.js";
import type { FloatArray } from "./types.js";
import { gemmWasm } from "./wasm/gemm-wasm.js";

/**
 * Thresholds in multiply-adds (m·n·k), measured with bench/kernels/gemm.ts on this project's 2-core
 * machine (see the constants' comments). Below WASM_MIN_MACS the copy in and out of the wasm memory
 * costs more than JS loses; from THREADS_MIN_MACS a helper thread's wake-up (tens of µs) pays off.
 */
const WASM_MIN_MACS = 2_000;
const THREADS_MIN_MACS = 1_000_000;

/**
 * The GEMM entry point the ops call: C[m,n] = op(A)·op(B). See gemmJs for the storage convention.
 * Selects the backend (see backend.ts), records which one ran, and falls back to JS only where WASM
 * is unavailable or the product does not fit the wasm memory.
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
  const backend = getKernelBackend();
  if (backend !== "js") {
    const macs = m * n * k;
    if ((backend === "wasm" || macs >= WASM_MIN_MACS) && wasmAvailable()) {
      const threads = macs >= THREADS_MIN_MACS ? getKernelThreads() : 1;
      const used = gemmWasm(a, aOff, b, bOff, c, cOff, m, n, k, transA, transB, threads);
      if (used > 0) {
        recordGemm(used);
        return;
      }
    }
  }
  gemmJs(a, aOff, b, bOff, c, cOff, m, n, k, transA, transB);
  recordGemm(0);
}
