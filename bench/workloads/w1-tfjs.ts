import type { Dataset } from "../lib/data.js";
import { CLASSES, FEATURES } from "../lib/data.js";
import type { Impl } from "../lib/harness.js";
import { type Tf, type TfBackend, useBackend } from "../peers/tfjs.js";
import { epochRunner } from "./epoch-runner.js";
import { batchStarts, type InitialWeights } from "./init.js";

type Tensor2D = ReturnType<Tf["tensor2d"]>;
type Scalar = ReturnType<Tf["scalar"]>;

/** The article's network in TF.js: sigmoid after every layer, ½Σ‖ŷ−y‖²/n. */
export function w1TfjsLoss(tf: Tf, w: Tensor2D[], b: Tensor2D[], x: Tensor2D, y: Tensor2D) {
  let a = x;
  for (let i = 0; i < w.length; i++) a = tf.sigmoid(tf.add(tf.matMul(a, w[i]), b[i]));
  return tf.div(tf.mul(0.5, tf.sum(tf.square(tf.sub(a, y)))), x.shape[0]) as Scalar;
}

export function w1Tfjs(
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
      const optimizer = tf.train.sgd(opts.lr);
      let leaked = 0;
      const train = async (batches?: number) => {
        await useBackend(backend);
        const tensorsBefore = tf.memory().numTensors;
        for (const s of batchStarts(data.n, opts.batch, batches)) {
          const rows = Math.min(opts.batch, data.n - s);
          tf.tidy(() => {
            const x = tf.tensor2d(data.x.subarray(s * FEATURES, (s + rows) * FEATURES), [rows, FEATURES]);
            const y = tf.tensor2d(data.y.subarray(s * CLASSES, (s + rows) * CLASSES), [rows, CLASSES]);
            optimizer.minimize(() => w1TfjsLoss(tf, w, b, x, y), false, [...w, ...b]);
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
