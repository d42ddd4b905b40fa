import type { Dataset } from "../lib/data.js";
import type { Impl } from "../lib/harness.js";
import type { TfBackend } from "../peers/tfjs.js";
import type { InitialWeights } from "./init.js";
import { type Scalar, tfjsEpochs } from "./tfjs-epoch.js";

/** W2 in TF.js: relu hidden layers, softmax cross-entropy on logits (mean over rows), Adam. */
export function w2Tfjs(
  backend: TfBackend,
  data: Dataset,
  init: InitialWeights,
  opts: { lr: number; batch: number; scale: number; warmBatches: number },
): Impl {
  return tfjsEpochs(backend, data, init, opts, {
    optimizer: (tf, lr) => tf.train.adam(lr, 0.9, 0.999, 1e-8),
    loss: (tf, w, b, x, y) => {
      let h = x;
      for (let i = 0; i < w.length - 1; i++) h = tf.relu(tf.add(tf.matMul(h, w[i]), b[i]));
      const logits = tf.add(tf.matMul(h, w[w.length - 1]), b[b.length - 1]);
      return tf.losses.softmaxCrossEntropy(y, logits) as Scalar;
    },
  });
}
