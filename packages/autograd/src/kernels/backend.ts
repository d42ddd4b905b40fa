import { ValueError } from "../errors.js";
import { resetConvStats } from "./conv-stats.js";
import { availableCores, envVar } from "./wasm/platform.js";
import { type RelaxedSimdSource, relaxedSimdSource } from "./wasm/relaxed-simd.js";

export type { RelaxedSimdSource };

import { wasmRuntime, wasmSimdSupported } from "./wasm/runtime.js";
import { MAX_HELPERS, startHelpers, threadsSupported, waitForHelpers } from "./wasm/workers.js";

/**
 * Which kernels run: 'auto' picks WASM SIMD where it is available and the product is large enough to
 * pay for copying in and out (thresholds in gemm.ts), 'js' always runs the plain JS kernels, 'wasm'
 * always runs WASM (an error where it is unavailable). TAPEGRAD_BACKEND=js|wasm|auto overrides the
 * default, read once, where `process` exists.
 */
export type KernelBackend = "auto" | "js" | "wasm";

const BACKENDS: readonly KernelBackend[] = ["auto", "js", "wasm"];

let backend: KernelBackend | undefined;
let threads: number | undefined;

function parseBackend(value: string, source: string): KernelBackend {
  if ((BACKENDS as readonly string[]).includes(value)) return value as KernelBackend;
  throw new ValueError(
    `${source}: unknown kernel backend '${value}' (expected one of ${BACKENDS.join(", ")})`,
  );
}

function requireWasm(source: string): void {
  if (!wasmAvailable()) {
    throw new ValueError(
      `${source}: the 'wasm' kernel backend needs WebAssembly with SIMD128, which this runtime does not support`,
    );
  }
}

/** True where WebAssembly SIMD128 validates and runs (a tiny SIMD module is compiled once to check). */
export function wasmAvailable(): boolean {
  return wasmSimdSupported() && wasmRuntime() !== null;
}

/** What the WASM kernels use on this host (see kernels/wasm/relaxed-simd.ts). */
export interface WasmFeatures {
  /** WebAssembly SIMD128: without it every op runs its JS loop. */
  simd: boolean;
  /** Fused multiply-adds (relaxed SIMD) in the matmul and convolution products. */
  fusedMultiplyAdd: boolean;
  /**
   * Where relaxed SIMD came from: 'runtime' (on by default: Node 22+, Chrome 114+), 'flag' (Node 20:
   * turned on through V8's --experimental-wasm-relaxed-simd), 'off' (TAPEGRAD_RELAXED_SIMD=0), 'unsupported'.
   */
  relaxedSimd: RelaxedSimdSource;
}

export function wasmFeatures(): WasmFeatures {
  const simd = wasmAvailable();
  const relaxedSimd = simd ? relaxedSimdSource() : "unsupported";
  return { simd, fusedMultiplyAdd: relaxedSimd === "runtime" || relaxedSimd === "flag", relaxedSimd };
}

export function setKernelBackend(b: KernelBackend): void {
  const parsed = parseBackend(String(b), "setKernelBackend");
  if (parsed === "wasm") requireWasm("setKernelBackend");
  backend = parsed;
}

export function getKernelBackend(): KernelBackend {
  if (backend === undefined) {
    const env = envVar("TAPEGRAD_BACKEND");
    backend =
      env === undefined || env === "" ? "auto" : parseBackend(env.trim().toLowerCase(), "TAPEGRAD_BACKEND");
    if (backend === "wasm") requireWasm("TAPEGRAD_BACKEND");
  }
  return backend;
}

/**
 * Threads a large product may use, counting the calling thread. 1 disables helper threads.
 * Default: min(2, available cores). Helpers exist only on Node (worker_threads) with a shared memory.
 */
export function setKernelThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_HELPERS + 1) {
    throw new ValueError(`setKernelThreads: expected an integer from 1 to ${MAX_HELPERS + 1}, got ${n}`);
  }
  threads = n;
}

export function getKernelThreads(): number {
  if (threads === undefined) threads = Math.min(2, availableCores());
  return threads;
}

/**
 * Starts the helper threads now instead of at the first large product, and, with timeoutMs > 0, blocks
 * until they are ready (or the time is up). Returns the number of threads ready to share a product,
 * counting the caller (1 when helpers are unsupported or disabled).
 */
export function startKernelThreads(timeoutMs = 0): number {
  const want = getKernelThreads() - 1;
  const rt = wasmRuntime();
  if (want === 0 || rt === null || !threadsSupported(rt)) return 1;
  if (timeoutMs <= 0) {
    startHelpers(rt, want);
    return 1;
  }
  return 1 + waitForHelpers(rt, want, timeoutMs);
}

/** Counts of gemm calls by the backend (and, for wasm, the number of threads) that actually ran them. */
export interface KernelStats {
  /** gemm calls run by the plain JS kernel. */
  js: number;
  /** gemm calls run on WASM SIMD, whatever the thread count. */
  wasm: number;
  /** wasm gemm calls by number of threads that took part: wasmThreads[2] = calls split over 2 threads. */
  wasmThreads: Record<number, number>;
}

const stats: KernelStats = { js: 0, wasm: 0, wasmThreads: {} };

export function kernelStats(): KernelStats {
  return { js: stats.js, wasm: stats.wasm, wasmThreads: { ...stats.wasmThreads } };
}

export function resetKernelStats(): void {
  stats.js = 0;
  stats.wasm = 0;
  stats.wasmThreads = {};
  updates.js = 0;
  updates.wasm = 0;
  elementwise.js = 0;
  elementwise.wasm = 0;
  resetConvStats();
}

/** Records one gemm call: threadsUsed 0 = JS, otherwise WASM on that many threads. */
export function recordGemm(threadsUsed: number): void {
  if (threadsUsed === 0) {
    stats.js++;
    return;
  }
  stats.wasm++;
  stats.wasmThreads[threadsUsed] = (stats.wasmThreads[threadsUsed] ?? 0) + 1;
}

/** Calls of one family of kernels by the backend that ran them. */
export interface BackendCounts {
  js: number;
  wasm: number;
}

/** Optimiser-update kernel calls (sgdUpdate, adamUpdate). */
export type UpdateStats = BackendCounts;
/** Elementwise kernel calls (unary, activationGrad, binary) and 2-D transposes (permute). */
export type ElementwiseStats = BackendCounts;

// Kept apart from KernelStats, whose shape callers compare whole; reset by resetKernelStats too.
const updates: BackendCounts = { js: 0, wasm: 0 };
const elementwise: BackendCounts = { js: 0, wasm: 0 };

export function updateKernelStats(): UpdateStats {
  return { ...updates };
}

export function elementwiseKernelStats(): ElementwiseStats {
  return { ...elementwise };
}

/** Records one optimiser-update call and the backend that ran it. */
export function recordUpdate(backend: "js" | "wasm"): void {
  updates[backend]++;
}

/** Records one elementwise or transpose call and the backend that ran it. */
export function recordElementwise(backend: "js" | "wasm"): void {
  elementwise[backend]++;
}
