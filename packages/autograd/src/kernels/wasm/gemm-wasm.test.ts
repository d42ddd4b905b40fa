import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gemmJs } from "../gemm-js.js";
import type { FloatArray } from "../types.js";
import { gemmWasm } from "./gemm-wasm.js";
import { wasmRuntime } from "./runtime.js";
import { setHelpersMustJoin, waitForHelpers } from "./workers.js";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

/** mulberry32: a seeded generator, so the shapes come from fast-check and the data from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

function filled(Arr: Ctor, length: number, next: () => number): FloatArray {
  const out = new Arr(length);
  for (let i = 0; i < length; i++) out[i] = next();
  return out;
}

interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aOff: number;
  bOff: number;
  cOff: number;
  seed: number;
}

/**
 * Runs one case on wasm and on the JS reference and checks every element of C against a bound
 * scaled by Σ|a·b| (the size of what was summed), plus untouched padding around C.
 */
function check(Arr: Ctor, t: Case, threads: number): number {
  const next = rng(t.seed);
  const a = filled(Arr, t.aOff + t.m * t.k + 3, next);
  const b = filled(Arr, t.bOff + t.k * t.n + 3, next);
  const expected = new Arr(t.cOff + t.m * t.n + 3);
  const actual = new Arr(t.cOff + t.m * t.n + 3).fill(Number.NaN);
  actual.fill(7, 0, t.cOff);
  actual.fill(7, t.cOff + t.m * t.n);
  gemmJs(a, t.aOff, b, t.bOff, expected, t.cOff, t.m, t.n, t.k, t.transA, t.transB);
  const used = gemmWasm(a, t.aOff, b, t.bOff, actual, t.cOff, t.m, t.n, t.k, t.transA, t.transB, threads);
  const absA = a.map(Math.abs);
  const absB = b.map(Math.abs);
  const magnitude = new Float64Array(t.cOff + t.m * t.n + 3);
  gemmJs(
    Float64Array.from(absA),
    t.aOff,
    Float64Array.from(absB),
    t.bOff,
    magnitude,
    t.cOff,
    t.m,
    t.n,
    t.k,
    t.transA,
    t.transB,
  );
  const relTol = Arr === Float64Array ? 1e-12 : (t.k + 2) * 1.2e-7;
  for (let i = 0; i < actual.length; i++) {
    if (i < t.cOff || i >= t.cOff + t.m * t.n) {
      if (actual[i] !== 7) throw new Error(`wrote outside C at ${i}`);
      continue;
    }
    const err = Math.abs(actual[i]! - expected[i]!);
    if (!(err <= relTol * magnitude[i]! + 1e-300)) {
      throw new Error(`C[${i - t.cOff}]: wasm ${actual[i]} vs js ${expected[i]} (|err| ${err})`);
    }
  }
  return used;
}

const smallCase = fc.record({
  m: fc.integer({ min: 1, max: 70 }),
  n: fc.integer({ min: 1, max: 70 }),
  k: fc.integer({ min: 1, max: 70 }),
  transA: fc.boolean(),
  transB: fc.boolean(),
  aOff: fc.integer({ min: 0, max: 5 }),
  bOff: fc.integer({ min: 0, max: 5 }),
  cOff: fc.integer({ min: 0, max: 5 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

describe.each([
  ["float32", Float32Array],
  ["float64", Float64Array],
] as const)("gemmWasm %s", (_name, Arr) => {
  it("runs (WASM SIMD is available on Node 20)", () => {
    expect(wasmRuntime()).not.toBeNull();
  });

  it("matches the JS reference on odd shapes, all transposes, nonzero offsets", () => {
    fc.assert(
      fc.property(smallCase, (t) => {
        expect(check(Arr, t, 1)).toBe(1);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it("covers every transpose combination on shapes that straddle tile and block edges", () => {
    const shapes = [
      [1, 1, 1],
      [4, 8, 1],
      [5, 9, 257],
      [97, 3, 300],
      [3, 1025, 2],
      [100, 130, 513],
    ] as const;
    let seed = 1;
    for (const [m, n, k] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          check(Arr, { m, n, k, transA, transB, aOff: 1, bOff: 2, cOff: 3, seed: seed++ }, 1);
        }
      }
    }
  });

  it("two threads (helper forced to take part) match the JS reference, splitting rows or columns", () => {
    const rt = wasmRuntime()!;
    expect(waitForHelpers(rt, 1, 60_000)).toBe(1);
    setHelpersMustJoin(true);
    try {
      fc.assert(
        fc.property(
          fc.record({
            m: fc.integer({ min: 1, max: 200 }),
            n: fc.integer({ min: 1, max: 200 }),
            k: fc.integer({ min: 1, max: 300 }),
            transA: fc.boolean(),
            transB: fc.boolean(),
            aOff: fc.integer({ min: 0, max: 3 }),
            bOff: fc.integer({ min: 0, max: 3 }),
            cOff: fc.integer({ min: 0, max: 3 }),
            seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          }),
          (t) => {
            const used = check(Arr, t, 2);
            // Two threads whenever the split dimension has at least two tiles.
            const { mr, nr } = rt.engines[_name].shape;
            expect(used).toBe(Math.max(Math.ceil(t.m / mr), Math.ceil(t.n / nr)) >= 2 ? 2 : 1);
          },
        ),
        { seed: 42, numRuns: 40 },
      );
    } finally {
      setHelpersMustJoin(false);
    }
  });

  it("gives zeros for k = 0 and leaves C alone for m = 0 or n = 0", () => {
    const c = new Arr(6).fill(5);
    expect(gemmWasm(new Arr(0), 0, new Arr(0), 0, c, 0, 2, 3, 0, false, false)).toBe(1);
    expect(Array.from(c)).toEqual([0, 0, 0, 0, 0, 0]);
    const d = new Arr(4).fill(5);
    gemmWasm(new Arr(8), 0, new Arr(8), 0, d, 0, 0, 4, 2, false, true);
    gemmWasm(new Arr(8), 0, new Arr(8), 0, d, 0, 4, 0, 2, true, false);
    expect(Array.from(d)).toEqual([5, 5, 5, 5]);
  });
});
