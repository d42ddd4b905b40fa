import { Rng, ShapeError, Tensor, ValueError } from "@tapegrad/autograd";
import { allocFloat, type FloatDType, takeRows } from "../util.js";

/** One-hot rows [n, classes] from integer labels (an int32/float tensor of n labels, or an array). */
export function oneHot(
  labels: Tensor | ArrayLike<number>,
  classes: number,
  opts: { dtype?: FloatDType } = {},
): Tensor {
  if (!Number.isInteger(classes) || classes < 1) {
    throw new ValueError(`oneHot: classes must be a positive integer, got ${classes}`);
  }
  const values = labels instanceof Tensor ? labels.data : labels;
  if (labels instanceof Tensor && labels.ndim > 1 && labels.size !== labels.shape[0]) {
    throw new ShapeError(`oneHot: labels must be a vector, got shape [${labels.shape.join(", ")}]`);
  }
  const n = values.length;
  const out = allocFloat(opts.dtype ?? "float32", n * classes);
  for (let i = 0; i < n; i++) {
    const c = values[i];
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new ValueError(`oneHot: label ${c} at index ${i} is not an integer in [0, ${classes})`);
    }
    out[i * classes + c] = 1;
  }
  return new Tensor(out, [n, classes]);
}

/** A seeded permutation of 0..n−1 (Fisher–Yates). */
export function permutation(n: number, seed = 0): Int32Array {
  const rng = new Rng(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

/**
 * Splits rows into a training and a test set: a seeded shuffle (unless shuffle is false), then the last
 * round(n · testFraction) rows of it go to test.
 */
export function trainTestSplit(
  data: { x: Tensor; y: Tensor },
  opts: { testFraction?: number; seed?: number; shuffle?: boolean } = {},
): { train: { x: Tensor; y: Tensor }; test: { x: Tensor; y: Tensor } } {
  const n = data.x.shape[0];
  if (data.y.shape[0] !== n) {
    throw new ShapeError(`trainTestSplit: x has ${n} rows, y has ${data.y.shape[0]}`);
  }
  const fraction = opts.testFraction ?? 0.2;
  if (!(fraction >= 0 && fraction <= 1))
    throw new ValueError(`trainTestSplit: testFraction must be in [0, 1], got ${fraction}`);
  const order =
    opts.shuffle === false ? Int32Array.from({ length: n }, (_, i) => i) : permutation(n, opts.seed ?? 0);
  const nTest = Math.round(n * fraction);
  const cut = n - nTest;
  return {
    train: { x: takeRows(data.x, order, 0, cut), y: takeRows(data.y, order, 0, cut) },
    test: { x: takeRows(data.x, order, cut, n), y: takeRows(data.y, order, cut, n) },
  };
}
