import { ShapeError, type Tensor, ValueError } from "@tapegrad/autograd";
import { BufferTensor, Module, type Parameter } from "../module.js";
import { allocFloat, type FloatDType, shapeStr } from "../util.js";
import {
  constantParameter,
  type LayerInitOptions,
  layerDtype,
  positiveInt,
  positiveNumber,
} from "./common.js";

/** x normalised over `axes` with the batch's mean and biased variance (both with the axes kept, for reuse). */
interface Normalized {
  xhat: Tensor;
  mean: Tensor;
  variance: Tensor;
}

/**
 * Normalises x over `axes` (kept) with the biased variance, as every normalisation layer does. The ONNX
 * exporter recognises this form ((x − mean) / √(var + ε)) and writes one BatchNormalization or
 * LayerNormalization node for it.
 */
function normalize(x: Tensor, axes: number[], eps: number): Normalized {
  const mean = x.mean(axes, true);
  const centered = x.sub(mean);
  const variance = centered.square().mean(axes, true);
  return { xhat: centered.div(variance.add(eps).sqrt()), mean, variance };
}

/** weight and bias of shape [C] broadcast along axis 1 of an input of rank nd. */
function channelShape(c: number, nd: number): number[] {
  const s = new Array<number>(nd).fill(1);
  s[1] = c;
  return s;
}

export interface BatchNormOptions extends Pick<LayerInitOptions, "dtype"> {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running averages (default 0.1); null for a cumulative average. */
  momentum?: number | null;
  /** Learnable per-channel scale `weight` (ones) and shift `bias` (zeros) (default true). */
  affine?: boolean;
  /** Keep running_mean / running_var buffers and use them in eval() (default true). */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over axis 1 (channels) of [N, C, ...]. In training mode (or without running
 * statistics) it normalises by the batch's mean and biased variance, and updates the buffers
 * running_mean (with the mean) and running_var (with the unbiased variance, as PyTorch) and
 * num_batches_tracked; in eval() it uses the running statistics.
 */
abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  running_mean: BufferTensor | null;
  running_var: BufferTensor | null;
  num_batches_tracked: BufferTensor | null;

  protected abstract readonly ranks: readonly number[];

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    const who = this.constructor.name;
    this.numFeatures = positiveInt(numFeatures, "numFeatures", who);
    this.eps = positiveNumber(opts.eps ?? 1e-5, "eps", who);
    const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (momentum !== null && !(typeof momentum === "number" && momentum >= 0 && momentum <= 1))
      throw new ValueError(`${who}: momentum must be in [0, 1] or null, got ${String(momentum)}`);
    this.momentum = momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    const dtype = layerDtype(opts.dtype, who);
    this.weight = this.affine ? constantParameter([numFeatures], 1, dtype) : null;
    this.bias = this.affine ? constantParameter([numFeatures], 0, dtype) : null;
    if (this.trackRunningStats) {
      this.running_mean = new BufferTensor(allocFloat(dtype, numFeatures), [numFeatures]);
      this.running_var = new BufferTensor(allocFloat(dtype, numFeatures).fill(1), [numFeatures]);
      this.num_batches_tracked = new BufferTensor(new Int32Array(1), []);
    } else {
      this.running_mean = null;
      this.running_var = null;
      this.num_batches_tracked = null;
    }
  }

  forward(x: Tensor): Tensor {
    const who = this.constructor.name;
    if (!this.ranks.includes(x.ndim) || x.shape[1] !== this.numFeatures) {
      throw new ShapeError(
        `${who}: expected input of rank ${this.ranks.join(" or ")} with ${this.numFeatures} channels on axis 1 ([N, C${this.ranks.length > 1 || this.ranks[0] > 2 ? ", ..." : ""}]), got ${shapeStr(x.shape)}`,
      );
    }
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const count = x.size / this.numFeatures;
    const useBatch = this.training || this.running_mean === null;
    let xhat: Tensor;
    if (useBatch) {
      if (this.training && count <= 1)
        throw new ValueError(
          `${who}: expected more than 1 value per channel when training, got input ${shapeStr(x.shape)}`,
        );
      const batch = normalize(x, axes, this.eps);
      xhat = batch.xhat;
      if (this.training && this.running_mean !== null) this.updateRunningStats(batch, count);
    } else {
      const shape = channelShape(this.numFeatures, x.ndim);
      const mean = this.running_mean!.reshape(shape);
      const std = this.running_var!.reshape(shape).add(this.eps).sqrt();
      xhat = x.sub(mean).div(std);
    }
    if (this.weight === null || this.bias === null) return xhat;
    const shape = channelShape(this.numFeatures, x.ndim);
    return xhat.mul(this.weight.reshape(shape)).add(this.bias.reshape(shape));
  }

  /** The running averages from the batch statistics the forward computed (the unbiased variance, as PyTorch). */
  private updateRunningStats({ mean, variance }: Normalized, count: number): void {
    const nbt = this.num_batches_tracked!;
    nbt.data[0] += 1;
    const factor = this.momentum ?? 1 / nbt.data[0];
    const correction = count / (count - 1);
    const rm = this.running_mean!.data;
    const rv = this.running_var!.data;
    for (let c = 0; c < this.numFeatures; c++) {
      rm[c] = (1 - factor) * rm[c] + factor * mean.data[c];
      rv[c] = (1 - factor) * rv[c] + factor * variance.data[c] * correction;
    }
  }

  override architecture(): Record<string, unknown> {
    return {
      type: this.constructor.name,
      numFeatures: this.numFeatures,
      eps: this.eps,
      momentum: this.momentum,
      affine: this.affine,
      trackRunningStats: this.trackRunningStats,
    };
  }
}

/** BatchNorm over [N, C] or [N, C, L] (torch.nn.BatchNorm1d). */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3] as const;
}

/** BatchNorm over [N, C, H, W] (torch.nn.BatchNorm2d). */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4] as const;
}

export interface LayerNormOptions extends Pick<LayerInitOptions, "dtype"> {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learnable `weight` (ones) and `bias` (zeros) of shape normalizedShape (default true). */
  elementwiseAffine?: boolean;
}

/** Normalises over the trailing dims `normalizedShape` of each sample (torch.nn.LayerNorm). */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0) throw new ValueError("LayerNorm: normalizedShape must not be empty");
    for (const d of shape) positiveInt(d, "normalizedShape", "LayerNorm");
    this.normalizedShape = shape;
    this.eps = positiveNumber(opts.eps ?? 1e-5, "eps", "LayerNorm");
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    const dtype = layerDtype(opts.dtype, "LayerNorm");
    this.weight = this.elementwiseAffine ? constantParameter(shape, 1, dtype) : null;
    this.bias = this.elementwiseAffine ? constantParameter(shape, 0, dtype) : null;
  }

  forward(x: Tensor): Tensor {
    const k = this.normalizedShape.length;
    const tail = x.shape.slice(x.ndim - k);
    if (x.ndim < k || tail.some((d, i) => d !== this.normalizedShape[i])) {
      throw new ShapeError(
        `LayerNorm: input of shape ${shapeStr(x.shape)} does not end with normalizedShape ${shapeStr(this.normalizedShape)}`,
      );
    }
    const axes = Array.from({ length: k }, (_, i) => x.ndim - k + i);
    const xhat = normalize(x, axes, this.eps).xhat;
    if (this.weight === null || this.bias === null) return xhat;
    return xhat.mul(this.weight).add(this.bias);
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "LayerNorm",
      normalizedShape: [...this.normalizedShape],
      eps: this.eps,
      elementwiseAffine: this.elementwiseAffine,
    };
  }
}

export interface GroupNormOptions extends Pick<LayerInitOptions, "dtype"> {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learnable per-channel `weight` (ones) and `bias` (zeros) (default true). */
  affine?: boolean;
}

/** Normalises each of numGroups groups of channels of [N, C, ...] per sample (torch.nn.GroupNorm). */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, opts: GroupNormOptions = {}) {
    super();
    this.numGroups = positiveInt(numGroups, "numGroups", "GroupNorm");
    this.numChannels = positiveInt(numChannels, "numChannels", "GroupNorm");
    if (numChannels % numGroups !== 0)
      throw new ValueError(
        `GroupNorm: numChannels ${numChannels} is not divisible by numGroups ${numGroups}`,
      );
    this.eps = positiveNumber(opts.eps ?? 1e-5, "eps", "GroupNorm");
    this.affine = opts.affine ?? true;
    const dtype: FloatDType = layerDtype(opts.dtype, "GroupNorm");
    this.weight = this.affine ? constantParameter([numChannels], 1, dtype) : null;
    this.bias = this.affine ? constantParameter([numChannels], 0, dtype) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new ShapeError(
        `GroupNorm: expected input [N, ${this.numChannels}, ...], got ${shapeStr(x.shape)}`,
      );
    }
    const grouped = x.reshape([x.shape[0], this.numGroups, -1]);
    const xhat = normalize(grouped, [2], this.eps).xhat.reshape(x.shape);
    if (this.weight === null || this.bias === null) return xhat;
    const shape = channelShape(this.numChannels, x.ndim);
    return xhat.mul(this.weight.reshape(shape)).add(this.bias.reshape(shape));
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "GroupNorm",
      numGroups: this.numGroups,
      numChannels: this.numChannels,
      eps: this.eps,
      affine: this.affine,
    };
  }
}
