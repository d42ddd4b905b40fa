import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ValueError } from "../errors.js";
import {
  getKernelBackend,
  getKernelThreads,
  kernelStats,
  resetKernelStats,
  setKernelBackend,
  setKernelThreads,
  startKernelThreads,
  wasmAvailable,
} from "./backend.js";
import { gemm } from "./gemm.js";
import { gemmJs } from "./gemm-js.js";
import type { FloatArray } from "./types.js";
import { setHelpersMustJoin } from "./wasm/workers.js";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

function randomArray(Arr: Ctor, length: number, seed: number): FloatArray {
  const out = new Arr(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

/** Max over C of |gemm − gemmJs| / Σ|a·b|: the error relative to the size of what was summed. */
function relativeError(
  Arr: Ctor,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  seed: number,
  off: number,
): number {
  const a = randomArray(Arr, off + m * k, seed);
  const b = randomArray(Arr, off + k * n, seed + 1);
  const got = new Arr(off + m * n);
  const want = new Arr(off + m * n);
  const scale = new Float64Array(off + m * n);
  gemm(a, off, b, off, got, off, m, n, k, transA, transB);
  gemmJs(a, off, b, off, want, off, m, n, k, transA, transB);
  gemmJs(
    Float64Array.from(a, Math.abs),
    off,
    Float64Array.from(b, Math.abs),
    off,
    scale,
    off,
    m,
    n,
    k,
    transA,
    transB,
  );
  let worst = 0;
  for (let i = off; i < off + m * n; i++) {
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (scale[i]! || 1));
  }
  return worst;
}

const tolerance = (Arr: Ctor, k: number) => (Arr === Float64Array ? 1e-12 : (k + 2) * 1.2e-7);

describe("kernel backend selection", () => {
  afterEach(() => {
    setKernelBackend("auto");
    setKernelThreads(2);
  });

  it("has WASM SIMD here and defaults to auto", () => {
    expect(wasmAvailable()).toBe(true);
    expect(getKernelBackend()).toBe("auto");
  });

  it("rejects unknown backends and thread counts with ValueError", () => {
    expect(() => setKernelBackend("gpu" as never)).toThrow(ValueError);
    expect(() => setKernelThreads(0)).toThrow(ValueError);
    expect(() => setKernelThreads(1.5)).toThrow(/setKernelThreads/);
  });

  it("counts each call on the backend that actually ran it", () => {
    const a = randomArray(Float32Array, 64 * 64, 1);
    const c = new Float32Array(64 * 64);
    resetKernelStats();
    setKernelBackend("js");
    gemm(a, 0, a, 0, c, 0, 64, 64, 64, false, false);
    setKernelBackend("wasm");
    gemm(a, 0, a, 0, c, 0, 64, 64, 64, false, true);
    gemm(a, 0, a, 0, c, 0, 2, 2, 2, false, false); // forced: even a tiny product runs on wasm
    setKernelBackend("auto");
    gemm(a, 0, a, 0, c, 0, 2, 2, 2, false, false); // auto: tiny products stay in JS
    gemm(a, 0, a, 0, c, 0, 64, 64, 64, true, false);
    expect(kernelStats()).toEqual({ js: 2, wasm: 3, wasmThreads: { 1: 3 } });
    resetKernelStats();
    expect(kernelStats()).toEqual({ js: 0, wasm: 0, wasmThreads: {} });
  });

  it("reads TAPEGRAD_BACKEND once, on first use", async () => {
    const saved = process.env.TAPEGRAD_BACKEND;
    try {
      vi.resetModules();
      process.env.TAPEGRAD_BACKEND = "js";
      const fresh = await import("./backend.js");
      expect(fresh.getKernelBackend()).toBe("js");
      process.env.TAPEGRAD_BACKEND = "wasm";
      expect(fresh.getKernelBackend()).toBe("js");
      vi.resetModules();
      process.env.TAPEGRAD_BACKEND = "cuda";
      const bad = await import("./backend.js");
      expect(() => bad.getKernelBackend()).toThrow(/TAPEGRAD_BACKEND/);
    } finally {
      if (saved === undefined) delete process.env.TAPEGRAD_BACKEND;
      else process.env.TAPEGRAD_BACKEND = saved;
      vi.resetModules();
    }
  });
});

describe.each([
  ["float32", Float32Array],
  ["float64", Float64Array],
] as const)("gemm on wasm, %s", (_name, Arr) => {
  beforeAll(() => setKernelBackend("wasm"));
  afterEach(() => setKernelBackend("wasm"));

  it("matches gemmJs on random odd shapes and every transpose, and really ran on wasm", () => {
    resetKernelStats();
    let calls = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 70 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (m, n, k, transA, transB, off, seed) => {
          calls++;
          expect(relativeError(Arr, m, n, k, transA, transB, seed, off)).toBeLessThanOrEqual(
            tolerance(Arr, k),
          );
        },
      ),
      { seed: 7, numRuns: 120 },
    );
    expect(kernelStats().wasm).toBe(calls);
    expect(kernelStats().js).toBe(0);
  });

  it("zero-size products: k = 0 gives zeros, m = 0 and n = 0 write nothing", () => {
    const c = new Arr(12).fill(3);
    gemm(new Arr(0), 0, new Arr(0), 0, c, 0, 3, 4, 0, false, false);
    expect(Array.from(c)).toEqual(new Array(12).fill(0));
    const d = new Arr(2).fill(3);
    gemm(new Arr(4), 0, new Arr(4), 0, d, 0, 0, 2, 2, true, true);
    gemm(new Arr(4), 0, new Arr(4), 0, d, 0, 2, 0, 2, false, false);
    expect(Array.from(d)).toEqual([3, 3]);
  });

  it("splits large products over two threads and matches gemmJs", () => {
    setKernelThreads(2);
    expect(getKernelThreads()).toBe(2);
    expect(startKernelThreads(60_000)).toBe(2);
    setHelpersMustJoin(true); // the helper always computes part of C, however busy the machine is
    resetKernelStats();
    let seed = 11;
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const err = relativeError(Arr, 300, 257, 513, transA, transB, seed++, 3);
        expect(err).toBeLessThanOrEqual(tolerance(Arr, 513));
      }
    }
    // A short, wide product splits by columns instead of rows.
    expect(relativeError(Arr, 37, 1400, 400, true, false, seed, 1)).toBeLessThanOrEqual(tolerance(Arr, 400));
    setHelpersMustJoin(false);
    expect(kernelStats()).toEqual({ js: 0, wasm: 5, wasmThreads: { 2: 5 } });
  });

  it("is correct when a helper may be cancelled (the default), on one or two threads", () => {
    setKernelThreads(2);
    expect(startKernelThreads(60_000)).toBe(2);
    resetKernelStats();
    for (let i = 0; i < 6; i++) {
      const err = relativeError(Arr, 200 + i, 130 + 7 * i, 300, i % 2 === 0, i % 3 === 0, 100 + i, i);
      expect(err).toBeLessThanOrEqual(tolerance(Arr, 300));
    }
    const stats = kernelStats();
    expect(stats.wasm).toBe(6);
    expect((stats.wasmThreads[1] ?? 0) + (stats.wasmThreads[2] ?? 0)).toBe(6);
  });

  it("runs large products on one thread when threads are set to 1", () => {
    setKernelThreads(1);
    resetKernelStats();
    expect(relativeError(Arr, 300, 257, 513, false, true, 5, 0)).toBeLessThanOrEqual(tolerance(Arr, 513));
    expect(kernelStats()).toEqual({ js: 0, wasm: 1, wasmThreads: { 1: 1 } });
    setKernelThreads(2);
  });
});
