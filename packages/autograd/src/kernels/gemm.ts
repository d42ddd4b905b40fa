import { getKernelBackend, getKernelThreads, recordGemm, wasmAvailable } from "./backend.js";
import { gemmJs } from "./gemm-js.js";
import type { FloatArray } from "./types.js";
import { gemmWasm, helpersReadyFor } from "./wasm/gemm-wasm.js";
import { nowMs } from "./wasm/platform.js";
import { chooseThreads, POLICY_MIN_MACS, recordRun } from "./wasm/thread-policy.js";

/**
 * Below WASM_MIN_MACS multiply-adds (m·n·k) the fixed cost of a wasm call (copies in and out, about
 * 1.5 µs) exceeds what JS loses: measured on this project's 2-core machine (Node 20, AMD EPYC), the
 * two meet between 8x8x8 and 10x10x10. Whether to use helper threads is decided by thread-policy.ts.
 */
const WASM_MIN_MACS = 1_024;

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
      const isF32 = c instanceof Float32Array;
      let threads = chooseThreads(macs, isF32, getKernelThreads());
      if (threads > 1 && !helpersReadyFor(threads)) threads = 1; // still starting: one thread, timed as one
      const start = threads > 1 || macs >= POLICY_MIN_MACS ? nowMs() : 0;
      const used = gemmWasm(a, aOff, b, bOff, c, cOff, m, n, k, transA, transB, threads);
      if (used > 0) {
        if (start !== 0) recordRun(macs, isF32, threads, nowMs() - start);
        recordGemm(used);
        return;
      }
    }
  }
  gemmJs(a, aOff, b, bOff, c, cOff, m, n, k, transA, transB);
  recordGemm(0);
}
