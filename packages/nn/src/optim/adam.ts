import { adamUpdate, type Tensor } from "@tapegrad/autograd";
import type { FloatArray } from "../util.js";
import { type BaseOptions, checkRange, like, Optimizer, type ParamGroupSpec } from "./optimizer.js";

export interface AdamOptions extends BaseOptions {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

interface AdamState {
  step: number;
  m: FloatArray;
  v: FloatArray;
  vMax: FloatArray | null;
}

/**
 * Adam (Kingma & Ba) with PyTorch's formulas: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
 * θ ← θ − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε). Adam adds weightDecay·θ to g (L2); AdamW instead
 * shrinks θ by (1 − lr·weightDecay) before the update (decoupled decay).
 */
export class Adam extends Optimizer<AdamOptions, AdamState> {
  constructor(
    params: Tensor[] | ParamGroupSpec<AdamOptions>[],
    opts: Partial<AdamOptions> = {},
    /** @internal AdamW passes its own name: decoupled weight decay */
    name: "Adam" | "AdamW" = "Adam",
  ) {
    super(name, params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      ...opts,
    });
  }

  protected override validate(o: AdamOptions): void {
    super.validate(o);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) {
      checkRange(this.name, "betas", Number.NaN, 0, 1, true);
    }
    checkRange(this.name, "betas[0]", o.betas[0], 0, 1, true);
    checkRange(this.name, "betas[1]", o.betas[1], 0, 1, true);
    checkRange(this.name, "eps", o.eps, 0, Infinity);
    checkRange(this.name, "weightDecay", o.weightDecay, 0, Infinity);
  }

  protected initState(p: Tensor): AdamState {
    return { step: 0, m: like(p), v: like(p), vMax: null };
  }

  protected update(p: FloatArray, grad: FloatArray, lr: number, o: AdamOptions, s: AdamState): void {
    if (o.amsgrad && s.vMax === null) {
      s.vMax = p instanceof Float64Array ? new Float64Array(p.length) : new Float32Array(p.length);
    }
    adamUpdate(p, grad, {
      lr,
      beta1: o.betas[0],
      beta2: o.betas[1],
      eps: o.eps,
      weightDecay: o.weightDecay,
      decoupled: this.name === "AdamW",
      step: ++s.step,
      m: s.m,
      v: s.v,
      vMax: o.amsgrad ? s.vMax : null,
    });
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter); weightDecay defaults to 0.01 as in PyTorch. */
export class AdamW extends Adam {
  constructor(params: Tensor[] | ParamGroupSpec<AdamOptions>[], opts: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...opts }, "AdamW");
  }
}
