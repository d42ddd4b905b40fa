import { ShapeError, type Tensor, ValueError } from "@tapegrad/autograd";
import { Module } from "../module.js";
import { shapeStr } from "../util.js";

/** Merges dims startDim..endDim (inclusive, negatives count from the end) into one, like torch.nn.Flatten. */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    for (const [what, v] of [
      ["startDim", startDim],
      ["endDim", endDim],
    ] as const)
      if (!Number.isInteger(v)) throw new ValueError(`Flatten: ${what} must be an integer, got ${v}`);
    this.startDim = startDim;
    this.endDim = endDim;
  }

  forward(x: Tensor): Tensor {
    const nd = Math.max(x.ndim, 1);
    const s = this.startDim < 0 ? this.startDim + nd : this.startDim;
    const e = this.endDim < 0 ? this.endDim + nd : this.endDim;
    if (s < 0 || s >= nd || e < 0 || e >= nd || s > e) {
      throw new ShapeError(
        `Flatten: dims ${this.startDim}..${this.endDim} do not fit an input of shape ${shapeStr(x.shape)}`,
      );
    }
    if (x.ndim === 0) return x.reshape([1]);
    const merged = x.shape.slice(s, e + 1).reduce((a, b) => a * b, 1);
    return x.reshape([...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
  }

  override architecture(): Record<string, unknown> {
    return { type: "Flatten", startDim: this.startDim, endDim: this.endDim };
  }
}

/** Splits dim `dim` into `sizes` (their product must be its length), like torch.nn.Unflatten. */
export class Unflatten extends Module {
  readonly dim: number;
  readonly sizes: readonly number[];

  constructor(dim: number, sizes: readonly number[]) {
    super();
    if (!Number.isInteger(dim)) throw new ValueError(`Unflatten: dim must be an integer, got ${dim}`);
    if (!Array.isArray(sizes) || sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < 1))
      throw new ValueError(
        `Unflatten: sizes must be a non-empty list of positive integers, got ${JSON.stringify(sizes)}`,
      );
    this.dim = dim;
    this.sizes = [...sizes];
  }

  forward(x: Tensor): Tensor {
    const d = this.dim < 0 ? this.dim + x.ndim : this.dim;
    const product = this.sizes.reduce((a, b) => a * b, 1);
    if (d < 0 || d >= x.ndim || x.shape[d] !== product) {
      throw new ShapeError(
        `Unflatten: dim ${this.dim} of an input of shape ${shapeStr(x.shape)} cannot be split into ${shapeStr(this.sizes)}`,
      );
    }
    return x.reshape([...x.shape.slice(0, d), ...this.sizes, ...x.shape.slice(d + 1)]);
  }

  override architecture(): Record<string, unknown> {
    return { type: "Unflatten", dim: this.dim, sizes: [...this.sizes] };
  }
}
