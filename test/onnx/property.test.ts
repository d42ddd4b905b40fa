import { type FloatDType, randn, type Tensor } from "@tapegrad/autograd";
import { GELU, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Softplus, Tanh } from "@tapegrad/nn";
import fc from "fast-check";
import { describe, it } from "vitest";
import { roundTrip } from "./harness.js";

const ACTIVATIONS = [
  () => new Sigmoid(),
  () => new Tanh(),
  () => new ReLU(),
  () => new LeakyReLU(0.05),
  () => new Softplus(),
  () => new GELU(),
];

describe("property: any MLP exports and agrees with onnxruntime at any batch size", () => {
  it("random depths, widths, activations, dtypes and batch sizes (the exported one is 3)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          widths: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 2, maxLength: 5 }),
          acts: fc.array(fc.integer({ min: 0, max: ACTIVATIONS.length - 1 }), { minLength: 4, maxLength: 4 }),
          dtype: fc.constantFrom<FloatDType>("float32", "float64"),
          batch: fc.integer({ min: 1, max: 9 }),
          seed: fc.integer({ min: 1, max: 1000 }),
        }),
        async ({ widths, acts, dtype, batch, seed }) => {
          const layers = widths
            .slice(1)
            .flatMap((w, l) => [
              new Linear(widths[l], w, { dtype, seed: seed + l }),
              ACTIVATIONS[acts[l % acts.length]](),
            ]);
          const model = new Sequential(...layers);
          const make = (b: number, s: number): Tensor[] => [
            randn([b, widths[0]], { seed: seed * 31 + s, dtype }),
          ];
          await roundTrip(model, make, dtype, {}, [batch]);
        },
      ),
      { numRuns: 12, seed: 20261202 },
    );
  });
});
