import { customOp, DTypeError, ShapeError, Tensor, ValueError, where } from "@tapegrad/autograd";
import { allocFloat, floatDtypeOf, nameMap, rowsOf, sameShape, shapeStr } from "./util.js";

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

/** Where a value sits in a tensor, as "[i, j]" (or "[i]"), for error messages. */
function positionOf(shape: readonly number[], flat: number): string {
  const index: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    index.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return `[${index.join(", ")}]`;
}

/** Every element of t in [0, 1] (NaN is not), else a ValueError naming the loss, the value and its position. */
function checkProbabilities(name: string, t: Tensor, role: string, hint: string): void {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!(d[i] >= 0 && d[i] <= 1)) {
      throw new ValueError(
        `${name}: ${role} ${d[i]} at ${positionOf(t.shape, i)} is not a probability in [0, 1]${hint}`,
      );
    }
  }
}

function checkBinaryCrossEntropy(yHat: Tensor, y: Tensor): void {
  checkFloatTargets("crossEntropy", yHat, y);
  checkProbabilities(
    "crossEntropy",
    yHat,
    "prediction",
    " (crossEntropy needs sigmoid outputs; for logits or tanh outputs use softmaxCrossEntropy or another loss)",
  );
  checkProbabilities("crossEntropy", y, "target", "");
}

/** ln p, clamped below at −100 as PyTorch's BCELoss does, so that ŷ = 0 or 1 costs 100 and not ∞ or NaN. */
const clampedLog = (p: number): number => Math.max(Math.log(p), -100);

/**
 * The denominator floor of PyTorch's BCELoss gradient: 1e-12 rounded to float32, which torch uses for
 * float64 too (so saturated float64 gradients are 1.0000000039958e12, as in torch).
 */
const BCE_EPS = Math.fround(1e-12);

/**
 * Elementwise −[y·max(ln ŷ, −100) + (1 − y)·max(ln(1 − ŷ), −100)] as one primitive, with PyTorch's
 * gradient (ŷ − y) / max(ŷ(1 − ŷ), ε) for ŷ. Composing log and a clamp on the tape cannot give it: the
 * clamp's zero cotangent meets log's 1/0 at ŷ = 0 or 1 (NaN), and a clamped log has no gradient at all
 * where a saturated prediction is wrong, which is where training most needs one. Past the clamp this is a
 * surrogate (the clamped loss itself is flat there); elsewhere it is the exact derivative. For y the
 * gradient is the exact one of the clamped loss, max(ln(1 − ŷ), −100) − max(ln ŷ, −100) (torch leaves it
 * unclamped, ±∞). The vjp is written with tensor ops, so the loss can be differentiated twice.
 */
const binaryCrossEntropyElements = customOp({
  name: "crossEntropy",
  forward: (yHat, y) => {
    const out = allocFloat(floatDtypeOf(yHat, "crossEntropy"), yHat.size);
    const p = yHat.data;
    const t = y.data;
    for (let i = 0; i < out.length; i++)
      out[i] = -(t[i] * clampedLog(p[i]) + (1 - t[i]) * clampedLog(1 - p[i]));
    return new Tensor(out, yHat.shape);
  },
  vjp: (g, [yHat, y]) => {
    const dYHat = g.mul(yHat.sub(y)).div(yHat.mul(yHat.neg().add(1)).maximum(BCE_EPS));
    const tapeLog = (p: Tensor): Tensor => p.maximum(0).log().maximum(-100);
    const dY = g.mul(tapeLog(yHat.neg().add(1)).sub(tapeLog(yHat)));
    return [dYHat, dY];
  },
});

/**
 * Binary cross-entropy on probabilities: −Σ[y ln ŷ + (1 − y) ln(1 − ŷ)] / n (Nielsen's network2.py), each log
 * clamped at −100 as in PyTorch's BCELoss. ŷ and y must lie in [0, 1].
 */
export const crossEntropy: Loss = {
  name: "crossEntropy",
  reduction: "mean",
  fn(yHat, y) {
    checkBinaryCrossEntropy(yHat, y);
    return binaryCrossEntropyElements(yHat, y)
      .sum()
      .mul(1 / rowsOf(yHat));
  },
  deriv(yHat, y) {
    checkBinaryCrossEntropy(yHat, y);
    const n = rowsOf(yHat);
    const out = allocFloat(floatDtypeOf(yHat, "crossEntropy"), yHat.size);
    const p = yHat.data;
    const t = y.data;
    // ∂/∂ŷ of −[y ln ŷ + (1−y) ln(1−ŷ)] = (ŷ − y) / (ŷ (1 − ŷ)), its denominator floored as in the tape's vjp
    for (let i = 0; i < out.length; i++) out[i] = (p[i] - t[i]) / (Math.max(p[i] * (1 - p[i]), BCE_EPS) * n);
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

/** The flat positions r·C + id of each row's target class, for gathering from flattened [rows, C] values. */
function targetPositions(logits: Tensor, ids: Tensor): Int32Array {
  const classes = logits.shape[logits.ndim - 1];
  const rows = rowsOf(logits);
  const at = new Int32Array(rows);
  for (let r = 0; r < rows; r++) at[r] = r * classes + ids.data[r];
  return at;
}

/**
 * Mean over rows of −log softmax(logits)[target]; targets one-hot (or probability) rows or int32 class ids.
 * The target's log-probability is picked, never multiplied by a 0: a masked logit (−∞, whose
 * log-probability is −∞) outside the target costs nothing, where −∞·0 would make the loss NaN.
 */
export const softmaxCrossEntropy: Loss = {
  name: "softmaxCrossEntropy",
  reduction: "mean",
  fn(logits, y) {
    const target = classTargets("softmaxCrossEntropy", logits, y); // validates shapes and ids first
    const logp = logits.logSoftmax(-1);
    const scale = -1 / rowsOf(logits);
    if (y.dtype === "int32") {
      return logp
        .reshape([logits.size])
        .gather(new Tensor(targetPositions(logits, y), [rowsOf(logits)]))
        .sum()
        .mul(scale);
    }
    // zero-target terms are 0 whatever logp is; where() also gives them a zero cotangent (no −∞·0 there)
    return where(target.equal(0), 0, logp.mul(target)).sum().mul(scale);
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

/** Every built-in loss by name; no prototype, so "constructor" is not one. */
export const losses: Readonly<Record<string, Loss>> = Object.assign(nameMap<Loss>(), {
  l2,
  quadratic,
  mse,
  crossEntropy,
  softmaxCrossEntropy,
});
