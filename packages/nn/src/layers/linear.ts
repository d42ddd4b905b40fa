import type { Tensor } from "@tapegrad/autograd";
import { scope, ValueError } from "@tapegrad/autograd";
import { type Initializer, type InitName, resolveInit, rngFrom } from "../init.js";
import { Module, Parameter } from "../module.js";
import type { FloatArray, FloatDType } from "../util.js";

export interface LinearOptions {
  /** Add a bias b: [1, out] (default true). */
  bias?: boolean;
  /** Weight initialiser (default 'xavierUniform'); the bias starts at zero. */
  init?: InitName | Initializer;
  dtype?: FloatDType;
  seed?: number;
  /** Label of the scope that wraps x·W + b in recorded graphs (default "x·W + b"). */
  label?: string;
}

/** y = x·W + b with W: [in, out] and b: [1, out] (row vectors, as the article; PyTorch stores W as [out, in]). */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;
  label: string;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    for (const [what, n] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(n) || n < 1)
        throw new ValueError(`Linear: ${what} must be a positive integer, got ${n}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const rng = rngFrom(opts);
    const init = resolveInit(opts.init ?? "xavierUniform", "Linear");
    const w = init([inFeatures, outFeatures], { rng, dtype: opts.dtype });
    this.weight = new Parameter(w.data as FloatArray, w.shape, "W");
    this.bias =
      opts.bias === false
        ? null
        : new Parameter(
            (w.dtype === "float64"
              ? new Float64Array(outFeatures)
              : new Float32Array(outFeatures)) as FloatArray,
            [1, outFeatures],
            "b",
          );
    this.label = opts.label ?? "x·W + b";
  }

  forward(x: Tensor): Tensor {
    return scope(this.label, () => {
      const xw = x.matmul(this.weight);
      if (!this.bias) return xw;
      // A 1-D input gives a 1-D output (as without a bias): the [1, out] bias row would broadcast it to [1, out].
      return xw.add(xw.ndim === 1 ? this.bias.reshape([this.outFeatures]) : this.bias);
    });
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "Linear",
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
      bias: this.bias !== null,
    };
  }
}
