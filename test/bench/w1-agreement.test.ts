import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { w1Agreement } from "../../bench/lib/checks.js";
import { syntheticDataset } from "../../bench/lib/data.js";
import { loadTfjs, type TfBackend } from "../../bench/peers/tfjs.js";

// The benchmark compares times only if both sides compute the same thing: the same W1 loss and
// gradients from the same weights and batch. float32 on both sides, so agreement is to float32 rounding.
const LOSS_TOLERANCE = 1e-4;
const GRAD_TOLERANCE = 1e-3;

describe("bench W1: tapegrad and TensorFlow.js agree on the article's network", () => {
  for (const backend of ["cpu", "wasm"] as TfBackend[]) {
    it(`loss and gradients match TF.js ${backend} on random batches`, async (ctx) => {
      const tfjs = await loadTfjs();
      const state = tfjs.backends[backend];
      if (state !== true) ctx.skip(`TF.js ${backend} backend did not load: ${state}`);
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 10 }),
          fc.integer({ min: 1, max: 1_000_000 }),
          async (rows, seed) => {
            const agreement = await w1Agreement(backend, syntheticDataset(rows, seed), rows);
            expect(Number.isFinite(agreement.tapegradLoss)).toBe(true);
            expect(agreement.lossRelError).toBeLessThan(LOSS_TOLERANCE);
            expect(agreement.gradRelError).toBeLessThan(GRAD_TOLERANCE);
          },
        ),
        { seed: 42, numRuns: 6 },
      );
    });
  }
});
