import type { Dataset } from "../lib/data.js";
import type { Impl } from "../lib/harness.js";
import type { Tf, TfBackend } from "../peers/tfjs.js";
import type { InitialWeights } from "./init.js";
import { type Scalar, type Tensor2D, tfjsEpochs } from "./tfjs-epoch.js";

/** The article's network in TF.js: sigmoid after every layer, ½Σ‖ŷ−y‖²/n. */
export function w1TfjsLoss(tf: Tf, w: Tensor2D[], b: Tensor2D[], x: Tensor2D, y: Tensor2D) {
  let a = x;
  for (let i = 0; i < w.length; i++) a = tf.sigmoid(tf.add(tf.matMul(a, w[i]), b[i]));
  return tf.div(tf.mul(0.5, tf.sum(tf.square(tf.sub(a, y)))), x.shape[0]) as Scalar;
}

/** W1 in TF.js: the article's network, SGD. */
export function w1Tfjs(
  backend: TfBackend,
  data: Dataset,
  init: InitialWeights,
  opts: { lr: number; batch: number; scale: number; warmBatches: number },
): Impl {
  return tfjsEpochs(backend, data, init, opts, {
    optimizer: (tf, lr) => tf.train.sgd(lr),
    loss: w1TfjsLoss,
  });
}
