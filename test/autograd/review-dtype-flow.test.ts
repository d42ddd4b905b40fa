import { grads, type Tensor, tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { size } from "../support/reference.js";
import { opTable } from "./op-table.js";

/** Values in (0.55, 1.45): inside every op's domain in the table (positive, away from 0 and ±0.5, 0.7 kinks). */
function inputs(shapes: number[][], dtype: "float32" | "float64", seed: number): Tensor[] {
  return shapes.map((s, i) =>
    tensor(
      Array.from({ length: size(s) }, (_, j) => 1 + 0.45 * Math.sin(seed + 3.1 * i + 1.7 * j)),
      { shape: s, dtype },
    ),
  );
}

describe.each(opTable.map((info) => [info.name, info] as const))("review: dtypes through %s", (_n, info) => {
  it("float32 and float64 inputs give outputs and gradients of their own dtype and shape", () => {
    fc.assert(
      fc.property(info.cases, fc.constantFrom("float32", "float64"), fc.nat(100), (c, dtype, seed) => {
        const xs = inputs(c.shapes, dtype, seed);
        const y = info.fn(c.args, ...xs);
        expect(y.dtype).toBe(dtype);
        const gs = grads((...ts: Tensor[]) => info.fn(c.args, ...ts).sum())(...xs);
        gs.forEach((g, i) => {
          if (g === null) return;
          expect(g.dtype).toBe(dtype);
          expect([...g.shape]).toEqual(c.shapes[i]);
        });
      }),
      { seed: 21, numRuns: 12 },
    );
  });

  it("mixed float32/float64 inputs promote to float64 while each gradient keeps its input's dtype", () => {
    fc.assert(
      fc.property(info.cases, fc.nat(100), (c, seed) => {
        if (c.shapes.length < 2) return;
        const xs = inputs(c.shapes, "float64", seed).map((x, i) => (i % 2 === 0 ? x.cast("float32") : x));
        const y = info.fn(c.args, ...xs);
        expect(y.dtype).toBe("float64");
        const gs = grads((...ts: Tensor[]) => info.fn(c.args, ...ts).sum())(...xs);
        gs.forEach((g, i) => {
          if (g !== null) expect(g.dtype).toBe(xs[i].dtype);
        });
      }),
      { seed: 22, numRuns: 12 },
    );
  });
});
