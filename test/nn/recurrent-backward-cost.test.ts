import { Rng, randn, record } from "@tapegrad/autograd";
import { GRU, LSTM, RNN } from "@tapegrad/nn";
import { describe, expect, it } from "vitest";

/**
 * Elements written by the `pad` nodes of one backward pass: the transposes of the slices that take a
 * sequence apart into time steps. They measure how much cotangent is moved back into full-size tensors.
 */
function paddedInBackward(make: () => GRU | LSTM | RNN, T: number): number {
  const layer = make();
  const x = randn([2, T, 3], { rng: new Rng(T) });
  const [out] = layer.forward(x);
  const loss = out.sum();
  const { tape } = record(() => loss.backward());
  let total = 0;
  for (const n of tape.nodes) if (n.op === "pad") total += n.shape.reduce((a, b) => a * b, 1);
  return total;
}

// Slicing a [B, T, F] input projection T times made backward pad T full-size cotangents (quadratic in T:
// ×3.7 per doubling of T here); halving the sequence keeps it O(T·log T), ×2.25 per doubling.
describe("recurrent backward grows as T·log T in sequence length, not T²", () => {
  const layers = {
    GRU: () => new GRU(3, 8, { seed: 1 }),
    LSTM: () => new LSTM(3, 8, { seed: 1 }),
    RNN: () => new RNN(3, 8, { seed: 1, numLayers: 2, bidirectional: true }),
  };
  for (const [name, make] of Object.entries(layers)) {
    it(name, () => {
      const at32 = paddedInBackward(make, 32);
      const at64 = paddedInBackward(make, 64);
      expect(at64 / at32).toBeLessThan(2.6);
    });
  }
});
