import type { Optimizer } from "@tensorflow/tfjs-core";
import type { Dataset } from "../lib/data.js";
import { CLASSES, FEATURES } from "../lib/data.js";
import type { Impl } from "../lib/harness.js";
import { type Tf, type TfBackend, useBackend } from "../peers/tfjs.js";
import { epochRunner } from "./epoch-runner.js";
import { batchStarts, type InitialWeights } from "./init.js";

export type Tensor2D = ReturnType<Tf["tensor2d"]>;
export type Scalar = ReturnType<Tf["scalar"]>;

/** What differs between the TF.js trainers of W1 and W2: the optimiser and the loss of one batch. */
export interface TfjsModel {
  optimizer(tf: Tf, lr: number): Optimizer;
  loss(tf: Tf, w: Tensor2D[], b: Tensor2D[], x: Tensor2D, y: Tensor2D): Scalar;
}

/**
 * A dense network trained in TF.js from the shared initial weights, one epoch per measurement. Every
 * step runs inside tf.tidy, as a careful TF.js user writes it; the detail reports how many tensors an
 * epoch left alive (0: nothing leaked to slow it down).
 */
export function tfjsEpochs(
  backend: TfBackend,
  data: Dataset,
  init: InitialWeights,
  opts: { lr: number; batch: number; scale: number; warmBatches: number },
  model: TfjsModel,
): Impl {
  return {
    id: `tfjs-${backend}`,
    label: `TF.js ${backend}`,
    tapegrad: false,
    async setup() {
      const tf = await useBackend(backend);
      const sizes = init.sizes;
      const w = init.w.map((v, i) => tf.variable(tf.tensor2d(v, [sizes[i], sizes[i + 1]])));
      const b = init.b.map((v, i) => tf.variable(tf.tensor2d(v, [1, sizes[i + 1]])));
      const optimizer = model.optimizer(tf, opts.lr);
      let leaked = 0;
      const train = async (batches?: number) => {
        await useBackend(backend);
        const tensorsBefore = tf.memory().numTensors;
        for (const s of batchStarts(data.n, opts.batch, batches)) {
          const rows = Math.min(opts.batch, data.n - s);
          tf.tidy(() => {
            const x = tf.tensor2d(data.x.subarray(s * FEATURES, (s + rows) * FEATURES), [rows, FEATURES]);
            const y = tf.tensor2d(data.y.subarray(s * CLASSES, (s + rows) * CLASSES), [rows, CLASSES]);
            optimizer.minimize(() => model.loss(tf, w, b, x, y), false, [...w, ...b]);
          });
        }
        w[0].dataSync(); // a synchronisation point, should a backend ever run asynchronously
        leaked = tf.memory().numTensors - tensorsBefore;
      };
      return epochRunner(train, {
        warmBatches: opts.warmBatches,
        scale: opts.scale,
        detail: () => `${leaked} TF.js tensors left alive by the last epoch`,
        dispose: () => {
          for (const v of [...w, ...b]) v.dispose();
          optimizer.dispose();
        },
      });
    },
  };
}
