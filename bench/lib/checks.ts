import { type TfBackend, useBackend } from "../peers/tfjs.js";
import { initialWeights } from "../workloads/init.js";
import { W1 } from "../workloads/w1.js";
import { w1TfjsLoss } from "../workloads/w1-tfjs.js";
import { CLASSES, type Dataset, FEATURES } from "./data.js";
import { loadAutograd, loadNn } from "./tapegrad.js";

export interface Agreement {
  backend: TfBackend;
  rows: number;
  tapegradLoss: number;
  tfjsLoss: number;
  /** |loss difference| / |tfjs loss|. */
  lossRelError: number;
  /** Largest |gradient difference| over all of W and b, relative to the largest |tfjs gradient| of that tensor. */
  gradRelError: number;
}

export function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

/**
 * Do tapegrad and TF.js compute the same W1 loss and gradients from the same weights on one batch?
 * tapegrad: NN.evalLoss and NN.backpropTape; TF.js: tf.grads of the loss the W1 benchmark minimises.
 * If they disagree, the benchmark would be timing two different computations.
 */
export async function w1Agreement(
  backend: TfBackend,
  data: Dataset,
  rows: number = W1.batch,
): Promise<Agreement> {
  const { tensor } = await loadAutograd();
  const { NN, quadratic, sigmoid } = await loadNn();
  const init = initialWeights([...W1.sizes], "normal", 1);
  const sizes = init.sizes;
  const xData = data.x.subarray(0, rows * FEATURES);
  const yData = data.y.subarray(0, rows * CLASSES);

  const net = new NN(sizes, sigmoid, quadratic, { dtype: "float32" });
  net.w = init.w.map((v, i) => tensor(v.slice(), { shape: [sizes[i], sizes[i + 1]] }));
  net.b = init.b.map((v, i) => tensor(v.slice(), { shape: [1, sizes[i + 1]] }));
  const x = tensor(xData, { shape: [rows, FEATURES] });
  const y = tensor(yData, { shape: [rows, CLASSES] });
  const tapegradLoss = net.evalLoss(x, y);
  const { wGrad, bGrad } = net.backpropTape(x, y);

  const tf = await useBackend(backend);
  const { tfjsLoss, tfGrads } = tf.tidy(() => {
    const tx = tf.tensor2d(xData, [rows, FEATURES]);
    const ty = tf.tensor2d(yData, [rows, CLASSES]);
    const ws = init.w.map((v, i) => tf.tensor2d(v, [sizes[i], sizes[i + 1]]));
    const bs = init.b.map((v, i) => tf.tensor2d(v, [1, sizes[i + 1]]));
    const layers = ws.length;
    type Tensor2D = ReturnType<typeof tf.tensor2d>;
    // tf.grads hands back plain Tensors; every parameter here is 2-D.
    const loss = (...params: ReturnType<typeof tf.tensor>[]) =>
      w1TfjsLoss(tf, params.slice(0, layers) as Tensor2D[], params.slice(layers) as Tensor2D[], tx, ty);
    const grads = tf.grads(loss)([...ws, ...bs]);
    return {
      tfjsLoss: loss(...ws, ...bs).dataSync()[0],
      tfGrads: grads.map((g) => g.dataSync().slice()),
    };
  });
  const ours = [...wGrad, ...bGrad].map((g) => g.data);
  const gradRelError = Math.max(...ours.map((g, i) => maxRel(g, tfGrads[i])));
  return {
    backend,
    rows,
    tapegradLoss,
    tfjsLoss,
    lossRelError: Math.abs(tapegradLoss - tfjsLoss) / Math.abs(tfjsLoss),
    gradRelError,
  };
}
