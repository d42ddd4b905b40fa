import { argmax, argmin, max, min, sum, Tensor, tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** Plain-JS max/min/argmax/argmin/sum of a row-major int32 array along `axis`. */
function referenceAlong(
  op: "max" | "min" | "sum" | "argmax" | "argmin",
  data: Int32Array,
  shape: number[],
  axis: number,
): number[] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const size = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = data[o * size * inner + i];
      let bestIdx = 0;
      let total = 0;
      for (let r = 0; r < size; r++) {
        const v = data[(o * size + r) * inner + i];
        total += v;
        if ((op === "max" || op === "argmax") && v > best) [best, bestIdx] = [v, r];
        if ((op === "min" || op === "argmin") && v < best) [best, bestIdx] = [v, r];
      }
      // int32 sums wrap like torch's int32 arithmetic (two's complement).
      out.push(op === "sum" ? total | 0 : op === "argmax" || op === "argmin" ? bestIdx : best);
    }
  }
  return out;
}

describe("issue 9.1: int32 max/min over any axis", () => {
  it("max(0) of negatives and min(0) of positives (the reported cases)", () => {
    const neg = new Tensor(Int32Array.from([-3, -4, -5, -6]), [2, 2]);
    expect(neg.max(0).toArray()).toEqual([-3, -4]);
    const pos = new Tensor(Int32Array.from([3, 4, 5, 6]), [2, 2]);
    expect(pos.min(0).toArray()).toEqual([3, 4]);
    expect(pos.min(0).dtype).toBe("int32");
  });

  it("every reduce path (leading, middle, trailing, several and all axes) matches a plain reference", () => {
    const dims = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        dims,
        fc.integer({ min: 0, max: 3 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (shape, axisPick, positive, seed) => {
          const axis = axisPick % shape.length;
          const n = shape.reduce((a, b) => a * b, 1);
          let s = seed;
          const data = Int32Array.from({ length: n }, () => {
            s = (s * 1103515245 + 12345) % 2 ** 31;
            const v = (s % 2001) - 1000;
            return positive ? Math.abs(v) + 1 : -Math.abs(v) - 1;
          });
          const x = new Tensor(data, shape);
          for (const op of ["max", "min", "sum", "argmax", "argmin"] as const) {
            const fn = { max, min, sum, argmax, argmin }[op] as (t: Tensor, a: number) => Tensor;
            const got = Array.from(fn(x, axis).data);
            expect(got, `${op} over axis ${axis} of ${JSON.stringify(shape)}`).toEqual(
              referenceAlong(op, data, shape, axis),
            );
          }
          // Several axes at once (the general odometer path) and all axes.
          if (shape.length >= 3) {
            const both = max(x, [0, 2]).data;
            const viaTwo = max(max(x, 2), 0).data;
            expect(Array.from(both)).toEqual(Array.from(viaTwo));
            expect(Array.from(min(x, [0, 2]).data)).toEqual(Array.from(min(min(x, 2), 0).data));
          }
          expect(max(x).item()).toBe(Math.max(...data));
          expect(min(x).item()).toBe(Math.min(...data));
        },
      ),
      { seed: 9001, numRuns: 150 },
    );
  });

  it("int32 sums keep wrapping two's-complement semantics (unchanged)", () => {
    const x = tensor([2 ** 31 - 1, 1], { dtype: "int32" });
    expect(x.sum().item()).toBe(-(2 ** 31));
  });
});
