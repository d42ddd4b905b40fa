import { getKernelBackend, getKernelThreads, recordGemm, wasmAvailable } from "./backend.js";
import { gemmJs } from "./gemm-js.js";
import type { FloatArray } from "./types.js";
import { gemmWasm } from "./wasm/gemm-wasm.js";
import { helpersMustJoin } from "./wasm/workers.js";

/**
 * Thresholds in multiply-adds (m·n·k), measured on this project's 2-core machine (Node 20, AMD EPYC)
 * with bench/kernels/gemm.ts and the same products one at a time. Below WASM_MIN_MACS the fixed cost
 * of a wasm call (copy in and out, about 1.5 µs) exceeds what JS loses: the two meet near 8x8x8 to
 * 10x10x10. From THREADS_MIN_MACS a helper thread pays for its wake-up and for the serial copies
 * (float32 runs twice as fast per thread, so it needs twice the work to gain from a second one).
 */
const WASM_MIN_MACS = 1_024;
const THREADS_MIN_MACS = { float32: 16_000_000, float64: 8_000_000 };
/** Longest run of eligible products kept on one thread after helpers failed to join in time. */
const MAX_BACKOFF = 64;

/*
 * When a helper is not scheduled in time (the other cores are busy), the caller does the whole
 * product and cancels the helper's job, having paid for the wake-up. Each such miss doubles the
 * number of following large products that skip helper threads; a product they join resets it.
 */
let backoff = 0;
let skipThreads = 0;

function threadsFor(macs: number, isF32: boolean): number {
  if (macs < (isF32 ? THREADS_MIN_MACS.float32 : THREADS_MIN_MACS.float64)) return 1;
  const threads = getKernelThreads();
  if (threads === 1) return 1;
  if (skipThreads > 0 && !helpersMustJoin()) {
    skipThreads--;
    return 1;
  }
  return threads;
}

function afterThreaded(requested: number, used: number): void {
  if (requested === 1) return;
  if (used >= requested) {
    backoff = 0;
  } else {
    backoff = Math.min(MAX_BACKOFF, backoff === 0 ? 1 : backoff * 2);
    skipThreads = backoff;
  }
}

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
      const threads = threadsFor(macs, c instanceof Float32Array);
      const used = gemmWasm(a, aOff, b, bOff, c, cOff, m, n, k, transA, transB, threads);
      if (used > 0) {
        afterThreaded(threads, used);
        recordGemm(used);
        return;
      }
    }
  }
  gemmJs(a, aOff, b, bOff, c, cOff, m, n, k, transA, transB);
  recordGemm(0);
}
