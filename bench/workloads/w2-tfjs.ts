import type { Dataset } from "../lib/data.js";
import { CLASSES, FEATURES } from "../lib/data.js";
import type { Impl } from "../lib/harness.js";
import { type TfBackend, useBackend } from "../peers/tfjs.js";
import { epochRunner } from "./epoch-runner.js";
import { batchStarts, type InitialWeights } from "./init.js";

/** W2 in TF.js: relu hidden layers, softmax cross-entropy on logits (mean over rows), Adam. */
export function w2Tfjs(
  backend: TfBackend,
  data: Dataset,
  init: InitialWeights,
  opts: { lr: number; batch: number; scale: number; warmBatches: number },
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
      const optimizer = tf.train.adam(opts.lr, 0.9, 0.999, 1e-8);
      let leaked = 0;
      const train = async (batches?: number) => {
        await useBackend(backend);
        const tensorsBefore = tf.memory().numTensors;
        for (const s of batchStarts(data.n, opts.batch, batches)) {
          const rows = Math.min(opts.batch, data.n - s);
          tf.tidy(() => {
            const x = tf.tensor2d(data.x.subarray(s * FEATURES, (s + rows) * FEATURES), [rows, FEATURES]);
            const y = tf.tensor2d(data.y.subarray(s * CLASSES, (s + rows) * CLASSES), [rows, CLASSES]);
            optimizer.minimize(
              () => {
                let h = x;
                for (let i = 0; i < w.length - 1; i++) h = tf.relu(tf.add(tf.matMul(h, w[i]), b[i]));
                const logits = tf.add(tf.matMul(h, w[w.length - 1]), b[b.length - 1]);
                return tf.losses.softmaxCrossEntropy(y, logits);
              },
              false,
              [...w, ...b],
            );
          });
        }
        w[0].dataSync();
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
