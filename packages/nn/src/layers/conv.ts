import {
  conv1d,
  conv2d,
  convTranspose2d,
  type Rng,
  ShapeError,
  type Size2d,
  type Tensor,
  ValueError,
} from "@tapegrad/autograd";
import { rngFrom } from "../init.js";
import { Module, type Parameter } from "../module.js";
import { shapeStr } from "../util.js";
import { type LayerInitOptions, layerDtype, pair, positiveInt, uniformParameter } from "./common.js";

export type Padding2d = Size2d | "same" | "valid";

export interface ConvOptions<S, P> extends LayerInitOptions {
  stride?: S;
  /** Zeros on both sides: a number, a pair (2-D), 'same' (stride 1 only) or 'valid' (= 0). */
  padding?: P;
  dilation?: S;
  /** Channels are split into this many groups (inChannels and outChannels must divide by it). */
  groups?: number;
  /** Learnable bias [outChannels] (default true). */
  bias?: boolean;
}

export type Conv2dOptions = ConvOptions<Size2d, Padding2d>;
export type Conv1dOptions = ConvOptions<number, number | "same" | "valid">;

export interface ConvTranspose2dOptions extends LayerInitOptions {
  stride?: Size2d;
  /** Rows/columns removed from both sides of the output (dilation·(k − 1) − padding of zeros added). */
  padding?: Size2d;
  /** Extra rows/columns at the bottom/right of the output, to pick among the sizes a stride allows. */
  outputPadding?: Size2d;
  dilation?: Size2d;
  groups?: number;
  bias?: boolean;
}

function single(value: unknown, what: string, who: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min)
    throw new ValueError(`${who}: ${what} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return value;
}

function checkGroups(inC: number, outC: number, groups: unknown, who: string): number {
  const g = positiveInt(groups, "groups", who);
  if (inC % g !== 0 || outC % g !== 0) {
    throw new ValueError(
      `${who}: inChannels ${inC} and outChannels ${outC} must both be divisible by groups ${g}`,
    );
  }
  return g;
}

/**
 * PyTorch's default for convolutions: kaiming-uniform with a = √5 for the weight, which is
 * U(±1/√fan_in), and the same bound for the bias; fan_in is weight.shape[1] × the kernel's size
 * (so C/groups·KH·KW for a convolution, O/groups·KH·KW for a transposed one, as torch computes it).
 */
function convParameters(
  shape: number[],
  outChannels: number,
  bias: boolean,
  rng: Rng,
  dtype: "float32" | "float64",
): [Parameter, Parameter | null] {
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const bound = 1 / Math.sqrt(fanIn);
  const weight = uniformParameter(shape, bound, rng, dtype);
  return [weight, bias ? uniformParameter([outChannels], bound, rng, dtype) : null];
}

function checkInput(x: Tensor, rank: number, channels: number, who: string, layout: string): void {
  if ((x.ndim !== rank && x.ndim !== rank - 1) || x.shape[x.ndim - rank + 1] !== channels) {
    throw new ShapeError(
      `${who}: expected input ${layout} (or unbatched, without N) with ${channels} channels, got ${shapeStr(x.shape)}`,
    );
  }
}

/** Runs f on a batched input, adding and removing the batch axis for an unbatched one (as torch). */
function batched(x: Tensor, rank: number, f: (x: Tensor) => Tensor): Tensor {
  return x.ndim === rank ? f(x) : f(x.unsqueeze(0)).squeeze(0);
}

/** torch.nn.Conv2d: x [N, C, H, W] → [N, O, OH, OW]; weight [O, C/groups, KH, KW], bias [O]. */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | "same" | "valid";
  readonly dilation: [number, number];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Size2d, opts: Conv2dOptions = {}) {
    super();
    const who = "Conv2d";
    this.inChannels = positiveInt(inChannels, "inChannels", who);
    this.outChannels = positiveInt(outChannels, "outChannels", who);
    this.kernelSize = pair(kernelSize, "kernelSize", who, 1);
    this.stride = pair(opts.stride ?? 1, "stride", who, 1);
    this.dilation = pair(opts.dilation ?? 1, "dilation", who, 1);
    const padding = opts.padding ?? 0;
    if (padding === "same" && (this.stride[0] !== 1 || this.stride[1] !== 1))
      throw new ValueError(
        `${who}: padding 'same' needs stride 1, got stride ${JSON.stringify(this.stride)}`,
      );
    this.padding = padding === "same" || padding === "valid" ? padding : pair(padding, "padding", who, 0);
    this.groups = checkGroups(inChannels, outChannels, opts.groups ?? 1, who);
    const dtype = layerDtype(opts.dtype, who);
    [this.weight, this.bias] = convParameters(
      [outChannels, inChannels / this.groups, ...this.kernelSize],
      outChannels,
      opts.bias ?? true,
      rngFrom(opts),
      dtype,
    );
  }

  forward(x: Tensor): Tensor {
    checkInput(x, 4, this.inChannels, "Conv2d", "[N, C, H, W]");
    return batched(x, 4, (x4) =>
      conv2d(x4, this.weight, this.bias, {
        stride: this.stride,
        padding: this.padding,
        dilation: this.dilation,
        groups: this.groups,
      }),
    );
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "Conv2d",
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: [...this.kernelSize],
      stride: [...this.stride],
      padding: typeof this.padding === "string" ? this.padding : [...this.padding],
      dilation: [...this.dilation],
      groups: this.groups,
      bias: this.bias !== null,
    };
  }
}

/** torch.nn.Conv1d: x [N, C, L] → [N, O, OL]; weight [O, C/groups, K], bias [O]. */
export class Conv1d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number | "same" | "valid";
  readonly dilation: number;
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inChannels: number, outChannels: number, kernelSize: number, opts: Conv1dOptions = {}) {
    super();
    const who = "Conv1d";
    this.inChannels = positiveInt(inChannels, "inChannels", who);
    this.outChannels = positiveInt(outChannels, "outChannels", who);
    this.kernelSize = single(kernelSize, "kernelSize", who, 1);
    this.stride = single(opts.stride ?? 1, "stride", who, 1);
    this.dilation = single(opts.dilation ?? 1, "dilation", who, 1);
    const padding = opts.padding ?? 0;
    if (padding === "same" && this.stride !== 1)
      throw new ValueError(`${who}: padding 'same' needs stride 1, got stride ${this.stride}`);
    this.padding = padding === "same" || padding === "valid" ? padding : single(padding, "padding", who, 0);
    this.groups = checkGroups(inChannels, outChannels, opts.groups ?? 1, who);
    const dtype = layerDtype(opts.dtype, who);
    [this.weight, this.bias] = convParameters(
      [outChannels, inChannels / this.groups, this.kernelSize],
      outChannels,
      opts.bias ?? true,
      rngFrom(opts),
      dtype,
    );
  }

  forward(x: Tensor): Tensor {
    checkInput(x, 3, this.inChannels, "Conv1d", "[N, C, L]");
    return batched(x, 3, (x3) =>
      conv1d(x3, this.weight, this.bias, {
        stride: this.stride,
        padding: this.padding,
        dilation: this.dilation,
        groups: this.groups,
      }),
    );
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "Conv1d",
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
      bias: this.bias !== null,
    };
  }
}

/**
 * torch.nn.ConvTranspose2d: x [N, C, H, W] → [N, O, OH, OW] with
 * OH = (H − 1)·stride − 2·padding + dilation·(KH − 1) + outputPadding + 1;
 * weight [C, O/groups, KH, KW] (torch's layout: the first axis is the input's), bias [O].
 */
export class ConvTranspose2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size2d,
    opts: ConvTranspose2dOptions = {},
  ) {
    super();
    const who = "ConvTranspose2d";
    this.inChannels = positiveInt(inChannels, "inChannels", who);
    this.outChannels = positiveInt(outChannels, "outChannels", who);
    this.kernelSize = pair(kernelSize, "kernelSize", who, 1);
    this.stride = pair(opts.stride ?? 1, "stride", who, 1);
    this.padding = pair(opts.padding ?? 0, "padding", who, 0);
    this.outputPadding = pair(opts.outputPadding ?? 0, "outputPadding", who, 0);
    this.dilation = pair(opts.dilation ?? 1, "dilation", who, 1);
    for (const i of [0, 1]) {
      if (this.outputPadding[i] >= this.stride[i] && this.outputPadding[i] >= this.dilation[i]) {
        throw new ValueError(
          `${who}: outputPadding ${JSON.stringify(this.outputPadding)} must be smaller than the stride ${JSON.stringify(this.stride)} or the dilation ${JSON.stringify(this.dilation)}`,
        );
      }
    }
    this.groups = checkGroups(inChannels, outChannels, opts.groups ?? 1, who);
    const dtype = layerDtype(opts.dtype, who);
    [this.weight, this.bias] = convParameters(
      [inChannels, outChannels / this.groups, ...this.kernelSize],
      outChannels,
      opts.bias ?? true,
      rngFrom(opts),
      dtype,
    );
  }

  forward(x: Tensor): Tensor {
    checkInput(x, 4, this.inChannels, "ConvTranspose2d", "[N, C, H, W]");
    return batched(x, 4, (x4) =>
      convTranspose2d(x4, this.weight, this.bias, {
        stride: this.stride,
        padding: this.padding,
        outputPadding: this.outputPadding,
        dilation: this.dilation,
        groups: this.groups,
      }),
    );
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "ConvTranspose2d",
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      outputPadding: [...this.outputPadding],
      dilation: [...this.dilation],
      groups: this.groups,
      bias: this.bias !== null,
    };
  }
}
