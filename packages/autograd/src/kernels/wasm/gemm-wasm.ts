import type { FloatArray } from "../types.js";
import { ensureCapacity, HEAP_BASE, wasmRuntime } from "./runtime.js";
import { type KernelFns, productJob, readyHelpers, runJob, startHelpers } from "./workers.js";

const align = (bytes: number): number => (bytes + 63) & ~63;

/** Writes one element per 4 KiB page of c[off, off + n) (all of it is overwritten later). */
function touchPages(c: FloatArray, off: number, n: number): void {
  const step = 4096 / c.BYTES_PER_ELEMENT;
  const end = off + n;
  for (let i = off; i < end; i += step) c[i] = 0;
}

/**
 * Whether a product asking for `threads` threads would find a helper ready now (starting them if
 * needed). While they are still starting, a product runs on one thread and must be recorded as such:
 * timed as a request for helpers, the start-up would make helpers look slow to the thread policy for
 * many products afterwards.
 */
export function helpersReadyFor(threads: number): boolean {
  const rt = wasmRuntime();
  if (rt === null || threads <= 1) return false;
  startHelpers(rt, threads - 1);
  return readyHelpers(rt, threads - 1) > 0;
}

/**
 * GEMM on the WASM SIMD backend, same contract as gemmJs: C[m,n] = op(A)·op(B), overwriting C.
 * Copies A and B into a wasm memory (typed-array set: memcpy speed; the unshared arena unless the
 * product is split over threads), packs them into tile strips there, computes C, and copies it back. With threads > 1 and helper threads ready, the
 * product is split into chunks of row (or column) tiles that the threads draw from shared counters
 * (see ShareJob in workers.ts).
 *
 * Returns the number of threads that took part, or 0 when the product does not fit the wasm memory
 * (the caller then uses JS).
 */
export function gemmWasm(
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
  threads = 1,
): number {
  const rt = wasmRuntime();
  if (rt === null) return 0;
  if (m === 0 || n === 0) return 1;
  if (k === 0) {
    c.fill(0, cOff, cOff + m * n);
    return 1;
  }
  const isF32 = c instanceof Float32Array;
  // Helper threads only see the shared arena; a call on this thread alone uses the unshared one.
  let used = 1;
  if (threads > 1) {
    startHelpers(rt, threads - 1);
    used = 1 + readyHelpers(rt, threads - 1);
  }
  const { mr, nr } = (isF32 ? rt.engines.float32 : rt.engines.float64).shape;
  const es = isF32 ? 4 : 8;
  const mTiles = Math.ceil(m / mr);
  const nTiles = Math.ceil(n / nr);

  // Layout, 64-byte aligned: raw A, raw B, packed A, packed B, C (rows padded to whole tiles). A
  // region is always followed by another, which the packing's over-read past raw A or B needs.
  const aPtr = HEAP_BASE;
  const bPtr = align(aPtr + m * k * es);
  const apPtr = align(bPtr + k * n * es);
  const bpPtr = align(apPtr + mTiles * mr * k * es);
  const cPtr = align(bpPtr + nTiles * nr * k * es);
  const ldc = n * es;
  const end = cPtr + mTiles * mr * ldc;
  // Every thread needs at least one tile of the split dimension.
  used = Math.min(used, Math.max(mTiles, nTiles));
  const arena = used > 1 ? rt : rt.local;
  if (end > 2 ** 32 - 65536 || !ensureCapacity(arena, end)) return 0;
  const fns = (isF32 ? arena.engines.float32 : arena.engines.float64).fns;

  const view = isF32 ? arena.f32 : arena.f64;
  const aLen = m * k;
  const bLen = k * n;
  view.set(aOff === 0 && a.length === aLen ? a : a.subarray(aOff, aOff + aLen), aPtr / es);
  view.set(bOff === 0 && b.length === bLen ? b : b.subarray(bOff, bOff + bLen), bPtr / es);

  // Byte strides of op(A)(i, p) and op(B)(p, j) in the raw copies.
  const rsA = transA ? es : k * es;
  const csA = transA ? m * es : es;
  const rsB = transB ? es : n * es;
  const csB = transB ? k * es : es;

  if (used === 1) {
    fns.packA(aPtr, rsA, csA, m, k, apPtr, 0, mTiles);
    fns.packB(bPtr, csB, rsB, n, k, bpPtr, 0, nTiles);
    fns.compute(apPtr, bpPtr, cPtr, ldc, k, 0, mTiles, 0, nTiles, n);
  } else {
    // Split the longer tile dimension of C into chunks; the other operand is shared (see ShareJob).
    const job = productJob(
      isF32,
      mTiles,
      nTiles,
      [aPtr, rsA, csA, m, k, apPtr, 0, 0],
      [bPtr, csB, rsB, n, k, bpPtr, 0, 0],
      [apPtr, bpPtr, cPtr, ldc, k, 0, mTiles, 0, nTiles, n],
      used,
    );
    // While the helpers start on C, map the output's pages: a fresh array's pages are mapped on first
    // write, which costs ~1-2 µs a page on the machine we measure on (0.3-0.5 ms for 1 MiB); done here
    // it overlaps their work instead of lengthening the copy-out.
    used = runJob(rt, fns as unknown as KernelFns, job, () => touchPages(c, cOff, m * n));
  }

  const cStart = cPtr / es;
  c.set(view.subarray(cStart, cStart + m * n), cOff);
  return used;
}
