import {
  adaptiveAvgPool2d,
  avgPool2d,
  maxPool2d,
  type Size2d,
  type Tensor,
  ValueError,
} from "@tapegrad/autograd";
import { Module } from "../module.js";
import { bool, pair } from "./common.js";

/** Padding is at most half the kernel (torch's rule: a window never lies entirely in the padding). */
function checkPadding(padding: [number, number], kernel: [number, number], who: string): void {
  if (padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2) {
    throw new ValueError(
      `${who}: padding ${JSON.stringify(padding)} must be at most half the kernel ${JSON.stringify(kernel)}`,
    );
  }
}

export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2d;
  /** Implicit −∞ on both sides, at most half the kernel. */
  padding?: Size2d;
  dilation?: Size2d;
  /** Round the output size up instead of down. */
  ceilMode?: boolean;
}

/** torch.nn.MaxPool2d: the maximum of each window, x [N, C, H, W] (or [C, H, W]) → [N, C, OH, OW]. */
export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: Size2d, opts: MaxPool2dOptions = {}) {
    super();
    const who = "MaxPool2d";
    this.kernelSize = pair(kernelSize, "kernelSize", who, 1);
    this.stride = pair(opts.stride ?? this.kernelSize, "stride", who, 1);
    this.padding = pair(opts.padding ?? 0, "padding", who, 0);
    this.dilation = pair(opts.dilation ?? 1, "dilation", who, 1);
    this.ceilMode = bool(opts.ceilMode ?? false, "ceilMode", who);
    checkPadding(this.padding, this.kernelSize, who);
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
    });
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "MaxPool2d",
      kernelSize: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      dilation: [...this.dilation],
      ceilMode: this.ceilMode,
    };
  }
}

export interface AvgPool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2d;
  /** Zeros on both sides, at most half the kernel. */
  padding?: Size2d;
  ceilMode?: boolean;
  /** Count the zero padding in each window's divisor (default true, as torch). */
  countIncludePad?: boolean;
}

/** torch.nn.AvgPool2d: the mean of each window, x [N, C, H, W] (or [C, H, W]) → [N, C, OH, OW]. */
export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(kernelSize: Size2d, opts: AvgPool2dOptions = {}) {
    super();
    const who = "AvgPool2d";
    this.kernelSize = pair(kernelSize, "kernelSize", who, 1);
    this.stride = pair(opts.stride ?? this.kernelSize, "stride", who, 1);
    this.padding = pair(opts.padding ?? 0, "padding", who, 0);
    this.ceilMode = bool(opts.ceilMode ?? false, "ceilMode", who);
    this.countIncludePad = bool(opts.countIncludePad ?? true, "countIncludePad", who);
    checkPadding(this.padding, this.kernelSize, who);
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, {
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
    });
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "AvgPool2d",
      kernelSize: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
    };
  }
}

/** torch.nn.AdaptiveAvgPool2d: x [N, C, H, W] (or [C, H, W]) → [N, C, oh, ow] for any H, W. */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];

  constructor(outputSize: Size2d) {
    super();
    this.outputSize = pair(outputSize, "outputSize", "AdaptiveAvgPool2d", 1);
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  override architecture(): Record<string, unknown> {
    return { type: "AdaptiveAvgPool2d", outputSize: [...this.outputSize] };
  }
}
