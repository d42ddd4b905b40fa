import { ShapeError, type Tensor } from "@tapegrad/autograd";
import { shapeStr } from "./util.js";

function argmaxRow(d: ArrayLike<number>, offset: number, width: number): number {
  let best = 0;
  let max = d[offset];
  for (let c = 1; c < width; c++) {
    if (d[offset + c] > max) {
      max = d[offset + c];
      best = c;
    }
  }
  return best;
}

/**
 * How many rows the prediction gets right. Targets: int32 class ids [n] (argmax agreement), one-hot rows
 * [n, C] (argmax agreement), or a single column [n, 1] of 0/1 labels (ŷ > 0.5 agreement).
 */
export function countCorrect(yHat: Tensor, y: Tensor): number {
  const rows = yHat.ndim <= 1 ? 1 : yHat.shape[0];
  const width = yHat.ndim === 0 ? 1 : yHat.shape[yHat.ndim - 1];
  const p = yHat.data;
  const t = y.data;
  let correct = 0;
  if (y.dtype === "int32") {
    if (y.size !== rows) {
      throw new ShapeError(`accuracy: ${y.size} class ids for ${rows} predictions ${shapeStr(yHat.shape)}`);
    }
    for (let r = 0; r < rows; r++) if (argmaxRow(p, r * width, width) === t[r]) correct++;
    return correct;
  }
  if (y.size !== yHat.size) {
    throw new ShapeError(
      `accuracy: prediction ${shapeStr(yHat.shape)} and target ${shapeStr(y.shape)} differ`,
    );
  }
  if (width === 1) {
    for (let r = 0; r < rows; r++) if (p[r] > 0.5 === t[r] > 0.5) correct++;
    return correct;
  }
  for (let r = 0; r < rows; r++) {
    if (argmaxRow(p, r * width, width) === argmaxRow(t, r * width, width)) correct++;
  }
  return correct;
}

/** Fraction of rows predicted right (see countCorrect). */
export function accuracy(yHat: Tensor, y: Tensor): number {
  const rows = yHat.ndim <= 1 ? 1 : yHat.shape[0];
  return rows === 0 ? Number.NaN : countCorrect(yHat, y) / rows;
}
