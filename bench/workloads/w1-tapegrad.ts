import type { Dataset } from "../lib/data.js";
import { CLASSES, FEATURES } from "../lib/data.js";
import type { Impl } from "../lib/harness.js";
import { loadAutograd, loadNn } from "../lib/tapegrad.js";
import { epochRunner } from "./epoch-runner.js";
import { batchStarts, type InitialWeights } from "./init.js";

export type W1Gradients = "tape" | "manual";

/**
 * The article's network with nn's NN class, float32. "tape": loss.backward() fills .grad on the
 * parameters; "manual": NN.backprop's hand-derived deltas are handed to the same SGD as .grad.
 */
export function w1Tapegrad(
  gradients: W1Gradients,
  data: Dataset,
  init: InitialWeights,
  opts: { lr: number; batch: number; scale: number; warmBatches: number },
): Impl {
  return {
    id: gradients === "tape" ? "tapegrad" : "tapegrad-manual",
    label: gradients === "tape" ? "tape: loss.backward() + SGD" : "manual deltas: NN.backprop + SGD",
    tapegrad: true,
    async setup() {
      const { tensor } = await loadAutograd();
      const { NN, Parameter, SGD, quadratic, sigmoid } = await loadNn();
      const sizes = init.sizes;
      const net = new NN(sizes, sigmoid, quadratic, { dtype: "float32" });
      net.w = init.w.map((v, i) => new Parameter(v.slice(), [sizes[i], sizes[i + 1]], `W_${i + 1}`));
      net.b = init.b.map((v, i) => new Parameter(v.slice(), [1, sizes[i + 1]], `b_${i + 1}`));
      const params = [...net.w, ...net.b];
      const optimizer = new SGD(params as InstanceType<typeof Parameter>[], { lr: opts.lr });
      const train = (batches?: number) => {
        for (const s of batchStarts(data.n, opts.batch, batches)) {
          const rows = Math.min(opts.batch, data.n - s);
          const x = tensor(data.x.subarray(s * FEATURES, (s + rows) * FEATURES), { shape: [rows, FEATURES] });
          const y = tensor(data.y.subarray(s * CLASSES, (s + rows) * CLASSES), { shape: [rows, CLASSES] });
          optimizer.zeroGrad();
          if (gradients === "tape") {
            quadratic.fn(net.forwardPass(x), y).backward();
          } else {
            const { wGrad, bGrad } = net.backprop(x, y);
            net.w.forEach((w, i) => {
              w.grad = wGrad[i];
            });
            net.b.forEach((b, i) => {
              b.grad = bGrad[i];
            });
          }
          optimizer.step();
        }
      };
      return epochRunner(train, { warmBatches: opts.warmBatches, scale: opts.scale });
    },
  };
}
