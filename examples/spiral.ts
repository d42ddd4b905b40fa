// Train a small classifier on three interleaved spirals with @tapegrad/nn: Sequential + Adam + fit.
// Run: pnpm tsx --conditions=@tapegrad/source examples/spiral.ts
import {
  Adam,
  fit,
  Linear,
  ReLU,
  Sequential,
  softmaxCrossEntropy,
  spiral,
  trainTestSplit,
} from "@tapegrad/nn";

const data = spiral(100, 3, 0); // x: [300, 2] points, y: int32 class ids
const { train, test } = trainTestSplit(data, { testFraction: 0.2, seed: 1 });

const model = new Sequential(
  new Linear(2, 64, { init: "heNormal", seed: 1 }),
  new ReLU(),
  new Linear(64, 64, { init: "heNormal", seed: 2 }),
  new ReLU(),
  new Linear(64, 3, { seed: 3 }),
);

// biome-ignore lint/suspicious/noFocusedTests: fit is the training loop of @tapegrad/nn, not a focused test
const history = await fit(model, train, {
  epochs: 60,
  batchSize: 32,
  loss: softmaxCrossEntropy,
  optimizer: new Adam(model.parameters(), { lr: 0.01 }),
  metrics: ["accuracy"],
  validation: test,
  seed: 0,
  onEpoch: (e) => {
    if (e.epoch % 10 === 0 || e.epoch === 1) {
      const pct = (v = 0) => `${(100 * v).toFixed(1)}%`;
      console.log(
        `epoch ${String(e.epoch).padStart(2)}/${e.epochs}  loss ${e.loss.toFixed(4)}  ` +
          `train ${pct(e.accuracy)}  test ${pct(e.valAccuracy)}  ${(e.seconds * 1000).toFixed(0)} ms`,
      );
    }
  },
});

const last = history.epochs[history.epochs.length - 1];
console.log(
  `loss ${history.loss[0].toFixed(3)} -> ${last.loss.toFixed(3)}, test accuracy ${(100 * (last.valAccuracy ?? 0)).toFixed(1)}%`,
);
