import type { Dataset } from "../lib/data.js";
import { CLASSES, FEATURES } from "../lib/data.js";
import type { Impl } from "../lib/harness.js";
import { type Autograd, loadAutograd, loadNn, type Nn } from "../lib/tapegrad.js";
import { epochRunner } from "./epoch-runner.js";
import { batchStarts, type InitialWeights } from "./init.js";

/** W2's network at its initial weights: Sequential of Linear + ReLU, and its Linear layers in order. */
export function w2Model(nnLib: Nn, init: InitialWeights) {
  const { Linear, ReLU, Sequential } = nnLib;
  const sizes = init.sizes;
  const layers = [];
  const linears: InstanceType<typeof Linear>[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const linear = new Linear(sizes[i], sizes[i + 1], { dtype: "float32" });
    linear.weight.data.set(init.w[i]);
    linear.bias?.data.set(init.b[i]);
    linears.push(linear);
    layers.push(linear);
    if (i + 2 < sizes.length) layers.push(new ReLU());
  }
  return { model: new Sequential(...layers), linears };
}

/** W2 as a library user writes it: Sequential of Linear + ReLU, softmaxCrossEntropy, Adam. */
export function buildW2(
  ag: Autograd,
  nnLib: Nn,
  data: Dataset,
  init: InitialWeights,
  opts: { lr: number; batch: number },
) {
  const { tensor } = ag;
  const { Adam, softmaxCrossEntropy } = nnLib;
  const { model } = w2Model(nnLib, init);
  const optimizer = new Adam(model.parameters(), { lr: opts.lr });
  return (batches?: number) => {
    for (const s of batchStarts(data.n, opts.batch, batches)) {
      const rows = Math.min(opts.batch, data.n - s);
      const x = tensor(data.x.subarray(s * FEATURES, (s + rows) * FEATURES), { shape: [rows, FEATURES] });
      const y = tensor(data.y.subarray(s * CLASSES, (s + rows) * CLASSES), { shape: [rows, CLASSES] });
      optimizer.zeroGrad();
      softmaxCrossEntropy.fn(model.forward(x), y).backward();
      optimizer.step();
    }
  };
}

export function w2Tapegrad(
  data: Dataset,
  init: InitialWeights,
  opts: { lr: number; batch: number; scale: number; warmBatches: number },
): Impl {
  return {
    id: "tapegrad",
    label: "Sequential + Adam, tape",
    tapegrad: true,
    async setup() {
      const train = buildW2(await loadAutograd(), await loadNn(), data, init, opts);
      return epochRunner(train, { warmBatches: opts.warmBatches, scale: opts.scale });
    },
  };
}
