import { DTypeError, ShapeError, Tensor, ValueError } from "@tapegrad/autograd";
import { allocFloat, floatDtypeOf, rowsOf, sameShape, shapeStr } from "./util.js";

/**
 * A loss L(ŷ, y): `fn` is a tape op returning a size-1 tensor, `deriv` the closed form ∂L/∂ŷ (ŷ's shape).
 * `reduction` says how L combines rows, so that evaluate can add up a data set chunk by chunk:
 * 'sum' losses add over rows, 'mean' losses average over rows.
 */
export interface Loss {
  name: string;
  reduction?: "sum" | "mean";
  fn(yHat: Tensor, y: Tensor): Tensor;
  deriv(yHat: Tensor, y: Tensor): Tensor;
}

function checkFloatTargets(name: string, yHat: Tensor, y: Tensor): void {
  floatDtypeOf(yHat, name);
  if (y.dtype === "int32") {
    throw new DTypeError(
      `${name}: targets must be float32 or float64, got int32 ${shapeStr(y.shape)} (use oneHot for class ids)`,
    );
  }
  if (!sameShape(yHat.shape, y.shape)) {
    throw new ShapeError(
      `${name}: prediction and target shapes differ: ${shapeStr(yHat.shape)} vs ${shapeStr(y.shape)} (no broadcasting in losses)`,
    );
  }
}

/** c · (ŷ − y) elementwise, in ŷ's dtype. */
function scaledDiff(yHat: Tensor, y: Tensor, c: number): Tensor {
  const out = allocFloat(floatDtypeOf(yHat, "loss"), yHat.size);
  const p = yHat.data;
  const t = y.data;
  for (let i = 0; i < out.length; i++) out[i] = c * (p[i] - t[i]);
  return new Tensor(out, yHat.shape);
}

/** The article's loss: Σ over every element of (ŷ − y)². */
export const l2: Loss = {
  name: "l2",
  reduction: "sum",
  fn(yHat, y) {
    checkFloatTargets("l2", yHat, y);
    return yHat.sub(y).square().sum();
  },
  deriv(yHat, y) {
    checkFloatTargets("l2", yHat, y);
    return scaledDiff(yHat, y, 2);
  },
};

/** Nielsen's quadratic cost: ½ Σ‖ŷ − y‖² / n with n the number of rows (1 for a single vector). */
export const quadratic: Loss = {
  name: "quadratic",
  reduction: "mean",
  fn(yHat, y) {
    checkFloatTargets("quadratic", yHat, y);
    return yHat
      .sub(y)
      .square()
      .sum()
      .mul(0.5 / rowsOf(yHat));
  },
  deriv(yHat, y) {
    checkFloatTargets("quadratic", yHat, y);
    return scaledDiff(yHat, y, 1 / rowsOf(yHat));
  },
};

/** A mean over no elements is undefined: refused by fn and deriv alike, naming the loss. */
function checkNotEmpty(name: string, yHat: Tensor): void {
  if (yHat.size === 0) {
    throw new ShapeError(`${name}: cannot average over an empty prediction of shape ${shapeStr(yHat.shape)}`);
  }
}

/** Mean over every element of (ŷ − y)². */
export const mse: Loss = {
  name: "mse",
  reduction: "mean",
  fn(yHat, y) {
    checkFloatTargets("mse", yHat, y);
    checkNotEmpty("mse", yHat);
    return yHat.sub(y).square().mean();
  },
  deriv(yHat, y) {
    checkFloatTargets("mse", yHat, y);
    checkNotEmpty("mse", yHat);
    return scaledDiff(yHat, y, 2 / yHat.size);
  },
};

/** Binary cross-entropy on probabilities: −Σ[y ln ŷ + (1 − y) ln(1 − ŷ)] / n (Nielsen's network2.py). */
export const crossEntropy: Loss = {
  name: "crossEntropy",
  reduction: "mean",
  fn(yHat, y) {
    checkFloatTargets("crossEntropy", yHat, y);
    const hit = y.mul(yHat.log());
    const miss = y.neg().add(1).mul(yHat.neg().add(1).log());
    return hit
      .add(miss)
      .sum()
      .mul(-1 / rowsOf(yHat));
  },
  deriv(yHat, y) {
    checkFloatTargets("crossEntropy", yHat, y);
    const n = rowsOf(yHat);
    const out = allocFloat(floatDtypeOf(yHat, "crossEntropy"), yHat.size);
    const p = yHat.data;
    const t = y.data;
    // ∂/∂ŷ of −[y ln ŷ + (1−y) ln(1−ŷ)] = (ŷ − y) / (ŷ (1 − ŷ))
    for (let i = 0; i < out.length; i++) out[i] = (p[i] - t[i]) / (p[i] * (1 - p[i]) * n);
    return new Tensor(out, yHat.shape);
  },
};

/**
 * Targets for softmaxCrossEntropy as a one-hot float tensor of the logits' shape. Accepts one-hot (or any
 * probability) rows of the logits' shape, or int32 class ids: [n] for logits [n, C], [] or [1] for logits [C].
 */
export function classTargets(name: string, logits: Tensor, y: Tensor): Tensor {
  const dtype = floatDtypeOf(logits, name);
  if (logits.ndim !== 1 && logits.ndim !== 2) {
    throw new ShapeError(
      `${name}: logits must be [classes] or [batch, classes], got ${shapeStr(logits.shape)}`,
    );
  }
  if (y.dtype !== "int32") {
    if (!sameShape(logits.shape, y.shape)) {
      throw new ShapeError(
        `${name}: logits and one-hot target shapes differ: ${shapeStr(logits.shape)} vs ${shapeStr(y.shape)} (or pass int32 class ids)`,
      );
    }
    return y;
  }
  const classes = logits.shape[logits.ndim - 1];
  const rows = logits.ndim === 1 ? 1 : logits.shape[0];
  const idsOk = logits.ndim === 1 ? y.size === 1 && y.ndim <= 1 : y.ndim === 1 && y.shape[0] === rows;
  if (!idsOk) {
    const want = logits.ndim === 1 ? "[] or [1]" : `[${rows}]`;
    throw new ShapeError(
      `${name}: class ids for logits ${shapeStr(logits.shape)} must have shape ${want}, got ${shapeStr(y.shape)}`,
    );
  }
  const oneHot = allocFloat(dtype, rows * classes);
  for (let r = 0; r < rows; r++) {
    const c = y.data[r];
    if (c < 0 || c >= classes) {
      throw new ValueError(`${name}: class id ${c} in row ${r} is outside [0, ${classes})`);
    }
    oneHot[r * classes + c] = 1;
  }
  return new Tensor(oneHot, logits.shape);
}

/** Mean over rows of −log softmax(logits)[target]; targets one-hot rows or int32 class ids. */
export const softmaxCrossEntropy: Loss = {
  name: "softmaxCrossEntropy",
  reduction: "mean",
  fn(logits, y) {
    const target = classTargets("softmaxCrossEntropy", logits, y);
    return logits
      .logSoftmax(-1)
      .mul(target)
      .sum()
      .mul(-1 / rowsOf(logits));
  },
  deriv(logits, y) {
    const target = classTargets("softmaxCrossEntropy", logits, y);
    const classes = logits.shape[logits.ndim - 1];
    const rows = rowsOf(logits);
    const out = allocFloat(floatDtypeOf(logits, "softmaxCrossEntropy"), logits.size);
    const z = logits.data;
    const t = target.data;
    // (softmax(z) · Σ_c t_c − t) / n: equals (softmax − onehot)/n for one-hot rows, exact for any target row
    for (let r = 0; r < rows; r++) {
      const o = r * classes;
      let max = -Infinity;
      for (let c = 0; c < classes; c++) if (z[o + c] > max) max = z[o + c];
      let total = 0;
      let mass = 0;
      for (let c = 0; c < classes; c++) {
        const e = Math.exp(z[o + c] - max);
        out[o + c] = e;
        total += e;
        mass += t[o + c];
      }
      for (let c = 0; c < classes; c++) out[o + c] = ((out[o + c] / total) * mass - t[o + c]) / rows;
    }
    return new Tensor(out, logits.shape);
  },
};

/** Every built-in loss by name. */
export const losses: Readonly<Record<string, Loss>> = {
  l2,
  quadratic,
  mse,
  crossEntropy,
  softmaxCrossEntropy,
};
