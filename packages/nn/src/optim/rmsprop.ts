import type { Tensor } from "@tapegrad/autograd";
import type { FloatArray } from "../util.js";
import { type BaseOptions, checkRange, like, Optimizer, type ParamGroupSpec } from "./optimizer.js";

export interface RMSPropOptions extends BaseOptions {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

interface RMSPropState {
  square: FloatArray;
  mean: FloatArray | null;
  buffer: FloatArray | null;
}

/**
 * RMSProp with PyTorch's formulas: v ← αv + (1 − α)g², denominator √v + ε (centered: √(v − ḡ²) + ε with
 * ḡ ← αḡ + (1 − α)g); θ ← θ − lr·g/denominator, or with momentum b ← μb + g/denominator, θ ← θ − lr·b.
 */
export class RMSProp extends Optimizer<RMSPropOptions, RMSPropState> {
  constructor(params: Tensor[] | ParamGroupSpec<RMSPropOptions>[], opts: Partial<RMSPropOptions> = {}) {
    super("RMSProp", params, {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      ...opts,
    });
  }

  protected override validate(o: RMSPropOptions): void {
    super.validate(o);
    checkRange("RMSProp", "alpha", o.alpha, 0, 1);
    checkRange("RMSProp", "eps", o.eps, 0, Infinity);
    checkRange("RMSProp", "weightDecay", o.weightDecay, 0, Infinity);
    checkRange("RMSProp", "momentum", o.momentum, 0, Infinity);
  }

  protected initState(p: Tensor): RMSPropState {
    return { square: like(p), mean: null, buffer: null };
  }

  protected update(p: FloatArray, grad: FloatArray, lr: number, o: RMSPropOptions, s: RMSPropState): void {
    const { alpha, eps, weightDecay: wd, momentum: mu } = o;
    const n = p.length;
    const sq = s.square;
    if (o.centered && s.mean === null)
      s.mean = p instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
    if (mu > 0 && s.buffer === null)
      s.buffer = p instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
    const mean = o.centered ? s.mean : null;
    const buf = mu > 0 ? s.buffer : null;
    for (let i = 0; i < n; i++) {
      const g = grad[i] + wd * p[i];
      const v = alpha * sq[i] + (1 - alpha) * g * g;
      sq[i] = v;
      let denom: number;
      if (mean !== null) {
        const gm = alpha * mean[i] + (1 - alpha) * g;
        mean[i] = gm;
        denom = Math.sqrt(v - gm * gm) + eps;
      } else denom = Math.sqrt(v) + eps;
      if (buf !== null) {
        const b = mu * buf[i] + g / denom;
        buf[i] = b;
        p[i] -= lr * b;
      } else p[i] -= (lr * g) / denom;
    }
  }
}
