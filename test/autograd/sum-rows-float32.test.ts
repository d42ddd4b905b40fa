import { sum, tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/**
 * float32 sums along the last axis run in four interleaved accumulators (kernels/reduce.ts,
 * sumRowsFloat32) once a row has 8 or more elements. Integer values keep every partial sum exact in
 * float32 and float64, so the result must equal the integer sum whatever the order: a dropped or
 * repeated element (the tail after the last group of four, a row boundary) shows.
 */
describe("float32 row sums (four accumulators)", () => {
  it("equal the exact sum of every row, at every row length and tail", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (outer, n, seed) => {
          const values = new Float32Array(outer * n);
          let s = seed;
          for (let i = 0; i < values.length; i++) {
            s = (Math.imul(s, 1103515245) + 12345) | 0;
            values[i] = ((s >>> 8) % 2001) - 1000;
          }
          const got = sum(tensor(values, { shape: [outer, n], dtype: "float32" }), 1).toArray() as number[];
          const want = Array.from({ length: outer }, (_, o) =>
            values.subarray(o * n, (o + 1) * n).reduce((a, b) => a + b, 0),
          );
          expect(got).toEqual(want);
        },
      ),
      { seed: 515, numRuns: 120 },
    );
  });

  it("keep the float64 accumulation: 2^24 plus ones sums exactly", () => {
    // A float32 running sum would stay at 2^24 (each +1 rounds away); float64 partials do not.
    const values = new Float32Array(17).fill(1);
    values[0] = 2 ** 24;
    const got = sum(tensor(values, { shape: [1, 17], dtype: "float32" }), 1).toArray() as number[];
    expect(got).toEqual([2 ** 24 + 16]);
  });
});
