import { sgdUpdate, type Tensor, ValueError } from "@tapegrad/autograd";
import type { FloatArray } from "../util.js";
import {
  type BaseOptions,
  checkRange,
  type LearningRate,
  Optimizer,
  type ParamGroupSpec,
} from "./optimizer.js";

export interface SGDOptions extends BaseOptions {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

interface SGDState {
  buffer: FloatArray | null;
}

/**
 * Stochastic gradient descent, PyTorch's formulas: g ← ∇ + λθ; with momentum μ, b ← μb + (1 − dampening)g
 * (b = g on the first step) and g ← b, or g ← g + μb with Nesterov; θ ← θ − lr·g.
 */
export class SGD extends Optimizer<SGDOptions, SGDState> {
  constructor(
    params: Tensor[] | ParamGroupSpec<SGDOptions>[],
    opts: { lr: LearningRate } & Partial<Omit<SGDOptions, "lr">>,
  ) {
    if (opts?.lr === undefined) throw new ValueError("SGD: lr is required");
    super("SGD", params, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...opts });
  }

  protected override validate(o: SGDOptions): void {
    super.validate(o);
    checkRange("SGD", "momentum", o.momentum, 0, Infinity);
    checkRange("SGD", "dampening", o.dampening, 0, 1);
    checkRange("SGD", "weightDecay", o.weightDecay, 0, Infinity);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new ValueError(
        `SGD: nesterov needs momentum > 0 and dampening 0, got momentum ${o.momentum}, dampening ${o.dampening}`,
      );
    }
  }

  protected initState(): SGDState {
    return { buffer: null };
  }

  protected update(p: FloatArray, grad: FloatArray, lr: number, o: SGDOptions, s: SGDState): void {
    const { momentum, dampening, nesterov, weightDecay } = o;
    if (momentum === 0) {
      sgdUpdate(p, grad, { lr, weightDecay });
      return;
    }
    const firstStep = s.buffer === null;
    if (s.buffer === null) {
      s.buffer = p instanceof Float64Array ? new Float64Array(p.length) : new Float32Array(p.length);
    }
    sgdUpdate(p, grad, { lr, weightDecay, momentum, dampening, nesterov, buffer: s.buffer, firstStep });
  }
}
