import * as autograd from "@tapegrad/autograd";
import * as nn from "@tapegrad/nn";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { initialWeights } from "../../bench/workloads/init.js";
import { W1_GRADIENTS, type W1Gradients, w1Steps } from "../../bench/workloads/w1-tapegrad.js";

// The W1 rows compare the times of the ways of getting the gradients only if each trains the same
// network the same way: from the same weights and batches, every way reaches the same weights.
const WAYS = Object.keys(W1_GRADIENTS) as W1Gradients[];
const SIZES = [12, 5, 3]; // W1's shape of network, small: the property is about the loops, not the sizes

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return worst;
}

describe("bench W1: every way of getting the gradients trains the same weights", () => {
  it("the six ways agree after a few SGD steps on random batches", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 4 }), (seed, steps) => {
        const init = initialWeights(SIZES, "normal", seed);
        const rng = new autograd.Rng(seed);
        const batches = Array.from({ length: steps }, () => ({
          x: autograd.rand([4, SIZES[0]], { rng, dtype: "float32" }),
          y: autograd.rand([4, SIZES[2]], { rng, dtype: "float32" }),
        }));
        const reached = WAYS.map((way) => {
          const run = w1Steps(way, autograd, nn, init, 3);
          for (const { x, y } of batches) run.step(x, y);
          return run.weights();
        });
        const [first, ...rest] = reached;
        // The weights moved (the steps did something), and every way moved them alike.
        expect(maxRelDiff(first[0], init.w[0])).toBeGreaterThan(1e-6);
        rest.forEach((ws, k) => {
          ws.forEach((w, i) => {
            expect(maxRelDiff(w, first[i]), `${WAYS[k + 1]} vs ${WAYS[0]}, tensor ${i}`).toBeLessThan(1e-4);
          });
        });
      }),
      { seed: 12, numRuns: 8 },
    );
  });
});
