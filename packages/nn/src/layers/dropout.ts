import type { Rng, Tensor } from "@tapegrad/autograd";
import { Tensor as TensorClass, ValueError } from "@tapegrad/autograd";
import { rngFrom } from "../init.js";
import { Module } from "../module.js";
import { allocFloat, floatDtypeOf } from "../util.js";

/**
 * Inverted dropout: in training mode each element is zeroed with probability p and the survivors are
 * scaled by 1/(1 − p), so eval mode is the identity. The mask stream is seeded (opts.seed or opts.rng).
 */
export class Dropout extends Module {
  readonly p: number;
  private readonly rng: Rng;

  constructor(p = 0.5, opts: { seed?: number; rng?: Rng } = {}) {
    super();
    if (!(p >= 0 && p < 1)) throw new ValueError(`Dropout: p must be in [0, 1), got ${p}`);
    this.p = p;
    this.rng = rngFrom(opts);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const mask = allocFloat(floatDtypeOf(x, "Dropout"), x.size);
    const keep = 1 / (1 - this.p);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.uniform() < this.p ? 0 : keep;
    return x.mul(new TensorClass(mask, x.shape));
  }

  override architecture(): Record<string, unknown> {
    return { type: "Dropout", p: this.p };
  }
}
