import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reduce } from "./reduce.js";

/** Sum over `axes` by the definition: every element added, in index order, into a float64 per output. */
function referenceSum(x: ArrayLike<number>, shape: number[], axes: number[]): Float64Array {
  const kept = shape.map((_, d) => !axes.includes(d));
  const outShape = shape.filter((_, d) => kept[d]);
  const out = new Float64Array(outShape.reduce((p, q) => p * q, 1));
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < x.length; i++) {
    let o = 0;
    for (let d = 0; d < shape.length; d++) if (kept[d]) o = o * shape[d] + idx[d];
    out[o] += x[i];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

describe("reduce kernel", () => {
  it("float32 sums over any axes equal the float64 sum rounded once, bit for bit", () => {
    // Every path (rows, columns eight at a time, runs, the general walk) accumulates in float64 and rounds
    // once. These values span 2^20, so their float64 sums are exact whatever the order of the adds: each
    // path must give the reference's bits, and any element added to the wrong output shows.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (shape, mask, seed) => {
          const axes = shape.map((_, d) => d).filter((d) => (mask >> d) & 1);
          const n = shape.reduce((p, q) => p * q, 1);
          const x = new Float32Array(n);
          let s = seed >>> 0;
          for (let i = 0; i < n; i++) {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            x[i] = (s / 2 ** 32 - 0.5) * 2 ** ((s >>> 3) % 20);
          }
          const expected = Float32Array.from(referenceSum(x, shape, axes));
          const out = new Float32Array(expected.length);
          reduce("sum", x, shape, axes, out);
          expect(Array.from(out)).toEqual(Array.from(expected));
        },
      ),
      { seed: 11, numRuns: 400 },
    );
  });

  it("column sums of bias-gradient shapes ([B·T, C] to [C], [B, T, C] over B) match the reference", () => {
    for (const [shape, axes] of [
      [[1536, 64], [0]],
      [
        [24, 64, 64],
        [0, 1],
      ],
      [[24, 4096], [0]],
      [[3, 40, 13], [1]],
    ] as [number[], number[]][]) {
      const n = shape.reduce((p, q) => p * q, 1);
      const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 100);
      const expected = Float32Array.from(referenceSum(x, shape, axes));
      const out = new Float32Array(expected.length);
      reduce("sum", x, shape, axes, out);
      expect(Array.from(out)).toEqual(Array.from(expected));
    }
  });
});
