import type { Tensor } from "@tapegrad/autograd";
import type { FloatArray } from "../util.js";
import { type BaseOptions, checkRange, like, Optimizer, type ParamGroupSpec } from "./optimizer.js";

export interface AdagradOptions extends BaseOptions {
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
}

interface AdagradState {
  step: number;
  sum: FloatArray;
}

/**
 * Adagrad with PyTorch's formulas: at step t, lr_t = lr/(1 + (t − 1)·lrDecay); s ← s + g²;
 * θ ← θ − lr_t·g/(√s + ε).
 */
export class Adagrad extends Optimizer<AdagradOptions, AdagradState> {
  constructor(params: Tensor[] | ParamGroupSpec<AdagradOptions>[], opts: Partial<AdagradOptions> = {}) {
    super("Adagrad", params, {
      lr: 1e-2,
      lrDecay: 0,
      weightDecay: 0,
      initialAccumulatorValue: 0,
      eps: 1e-10,
      ...opts,
    });
  }

  protected override validate(o: AdagradOptions): void {
    super.validate(o);
    checkRange("Adagrad", "lrDecay", o.lrDecay, 0, Infinity);
    checkRange("Adagrad", "weightDecay", o.weightDecay, 0, Infinity);
    checkRange("Adagrad", "initialAccumulatorValue", o.initialAccumulatorValue, 0, Infinity);
    checkRange("Adagrad", "eps", o.eps, 0, Infinity);
  }

  protected initState(p: Tensor): AdagradState {
    // initialAccumulatorValue is read from the first group that holds p
    const group = this.groups.find((g) => g.params.includes(p));
    return { step: 0, sum: like(p, group?.options.initialAccumulatorValue ?? 0) };
  }

  protected update(p: FloatArray, grad: FloatArray, lr: number, o: AdagradOptions, s: AdagradState): void {
    const t = ++s.step;
    const clr = lr / (1 + (t - 1) * o.lrDecay);
    const { eps, weightDecay: wd } = o;
    const sum = s.sum;
    for (let i = 0; i < p.length; i++) {
      const g = grad[i] + wd * p[i];
      const acc = sum[i] + g * g;
      sum[i] = acc;
      p[i] -= (clr * g) / (Math.sqrt(acc) + eps);
    }
  }
}
