import { Rng, tensor } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type TrainConfig } from "../../packages/playground/src/config.js";
import type { DigitsFile } from "../../packages/playground/src/digits-file.js";
import { relativeDifference } from "../../packages/playground/src/stats.js";
import { Trainer } from "../../packages/playground/src/trainer.js";

/** Random "digits": enough to exercise the trainer without the real data set. */
function fakeDigits(train: number, test: number, seed: number): DigitsFile {
  const rng = new Rng(seed);
  const random = () => rng.uniform();
  const set = (count: number) => ({
    count,
    labels: Uint8Array.from({ length: count }, () => Math.floor(random() * 10)),
    pixels: Uint8Array.from({ length: count * 784 }, () => (random() < 0.2 ? Math.floor(random() * 256) : 0)),
  });
  return { rows: 28, cols: 28, train: set(train), test: set(test) };
}

function matmulTA(
  a: Float32Array,
  aRows: number,
  aCols: number,
  b: Float32Array,
  bCols: number,
): Float64Array {
  // aᵀ · b for a: [aRows, aCols], b: [aRows, bCols]
  const out = new Float64Array(aCols * bCols);
  for (let r = 0; r < aRows; r++)
    for (let i = 0; i < aCols; i++)
      for (let j = 0; j < bCols; j++) out[i * bCols + j] += a[r * aCols + i] * b[r * bCols + j];
  return out;
}

const configs: TrainConfig[] = [
  DEFAULT_CONFIG,
  {
    ...DEFAULT_CONFIG,
    sizes: [784, 12, 8, 10],
    activation: "tanh",
    loss: "softmaxCrossEntropy",
    optimizer: "adam",
    lr: 0.01,
  },
];

describe("Trainer (the worker's state, run in Node)", () => {
  for (const config of configs) {
    it(`per-node cotangents from the tape obey the article's delta formulas (${config.sizes.join("-")} ${config.activation})`, () => {
      const t = new Trainer(fakeDigits(30, 10, 5), config);
      const batch = t.peekBatch();
      const snap = t.snapshot(batch);
      const L = config.sizes.length - 1;
      const n = batch.x.shape[0];
      expect(Object.keys(snap.nodes).sort()).toEqual(t.graph.nodes.map((g) => g.id).sort());
      expect(snap.nodes[`f_${2 * L + 1}`].cotangent).toEqual(Float32Array.of(1));
      // ∂L/∂f_{2L} is the loss derivative at the prediction
      const yHat = tensor(snap.nodes[`f_${2 * L}`].value, { shape: snap.nodes[`f_${2 * L}`].shape });
      const dLoss = t.net.loss.deriv(yHat, batch.y).data;
      expect(relativeDifference(snap.nodes[`f_${2 * L}`].cotangent!, dLoss)).toBeLessThan(1e-5);
      for (let l = 1; l <= L; l++) {
        const delta = snap.nodes[`f_${2 * l - 1}`].cotangent!;
        const width = config.sizes[l];
        // ∂L/∂b_l = Σ_rows δ_l
        const colSums = new Float64Array(width);
        for (let r = 0; r < n; r++) for (let j = 0; j < width; j++) colSums[j] += delta[r * width + j];
        expect(relativeDifference(snap.nodes[`b_${l}`].cotangent!, colSums)).toBeLessThan(1e-5);
        // ∂L/∂W_l = f_{2l−2}ᵀ · δ_l
        const prev = snap.nodes[l === 1 ? "X" : `f_${2 * l - 2}`].value;
        const wGrad = matmulTA(prev, n, config.sizes[l - 1], delta, width);
        expect(relativeDifference(snap.nodes[`W_${l}`].cotangent!, wGrad)).toBeLessThan(1e-4);
      }
      expect(snap.comparison.map((c) => c.name)).toEqual(
        Array.from({ length: L }, (_, l) => [`W_${l + 1}`, `b_${l + 1}`]).flat(),
      );
      for (const c of snap.comparison) expect(c.relDiff).toBeLessThan(1e-4);
      expect(snap.nodes.Y.cotangent).toBeNull();
    });
  }

  it("steps through shuffled batches, counting epochs, and evaluates on the test digits", () => {
    const data = fakeDigits(25, 12, 6);
    const t = new Trainer(data, DEFAULT_CONFIG);
    expect(t.batchesPerEpoch).toBe(3);
    const seen: number[] = [];
    let ended = 0;
    for (let k = 0; k < 6; k++) {
      seen.push(t.peekBatch().x.shape[0]);
      if (t.step().epochEnded) ended++;
    }
    expect(seen).toEqual([10, 10, 5, 10, 10, 5]);
    expect([t.epoch, t.steps, ended]).toEqual([2, 6, 2]);
    const e = t.evaluate();
    expect(e.testAccuracy * 12).toBeCloseTo(Math.round(e.testAccuracy * 12), 9);
    expect(e.epochs).toBe(2);
    expect(Number.isFinite(e.testLoss)).toBe(true);
    const d = t.testDigit(12 + 3); // wraps to digit 3
    expect(d.index).toBe(3);
    expect(d.label).toBe(data.test.labels[3]);
    expect(Array.from(d.pixels)).toEqual(
      Array.from(data.test.pixels.subarray(3 * 784, 4 * 784), (v) => Math.fround(v / 255)),
    );
  });

  it("predicts with probabilities that sum to 1 and a saliency map that is the input gradient of the winning output", () => {
    const t = new Trainer(fakeDigits(20, 5, 7), DEFAULT_CONFIG);
    const rng = new Rng(8);
    const random = () => rng.uniform();
    const x = Float32Array.from({ length: 784 }, () => random());
    const p = t.predict(3, x);
    expect(p.id).toBe(3);
    expect(p.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(p.predicted).toBe(p.output.indexOf(Math.max(...p.output)));
    // directional derivative along a random direction, by central differences
    const v = Float32Array.from({ length: 784 }, () => random() - 0.5);
    const h = 1e-2;
    const at = (s: number) =>
      t.predict(
        0,
        x.map((xi, i) => xi + s * h * v[i]),
      ).output[p.predicted];
    const numeric = (at(1) - at(-1)) / (2 * h);
    const analytic = p.saliency.reduce((a, g, i) => a + g * v[i], 0);
    expect(Math.abs(numeric - analytic)).toBeLessThan(1e-2 * Math.max(1e-3, Math.abs(analytic)) + 1e-4);
  });
});
