import type { Tensor } from "@tapegrad/autograd";
import { Module, type ModuleMember } from "../module.js";

/**
 * A module Sequential can hold: forward takes one tensor (further arguments optional, such as
 * TransformerEncoderLayer's masks) and returns one.
 */
export type SequentialLayer = Module<[Tensor, ...never[]], Tensor>;

/** Applies its modules in order; parameters are named by position ("0.weight", "2.bias"). */
export class Sequential extends Module {
  readonly layers: SequentialLayer[];

  constructor(...layers: SequentialLayer[]) {
    super();
    this.layers = layers;
  }

  /** Appends a module and returns this, for chaining. */
  add(layer: SequentialLayer): this {
    this.layers.push(layer);
    return this;
  }

  protected override namedMembers(): Array<[string, ModuleMember]> {
    return this.layers.map((m, i) => [String(i), m]);
  }

  forward(x: Tensor): Tensor {
    let out = x;
    for (const layer of this.layers) out = layer.forward(out);
    return out;
  }

  override architecture(): Record<string, unknown> {
    return { type: "Sequential", layers: this.layers.map((m) => m.architecture()) };
  }
}
