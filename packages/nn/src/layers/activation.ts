import type { Tensor } from "@tapegrad/autograd";
import { scope } from "@tapegrad/autograd";
import * as act from "../activations.js";
import { Module } from "../module.js";

/** A parameter-free layer applying an Activation; its scope carries the activation's name. */
export class ActivationLayer extends Module {
  readonly activation: act.Activation;

  constructor(activation: act.Activation) {
    super();
    this.activation = activation;
  }

  forward(x: Tensor): Tensor {
    return scope(this.activation.name, () => this.activation.fn(x));
  }

  override architecture(): Record<string, unknown> {
    return { type: this.constructor.name, activation: this.activation.name };
  }
}

export class Sigmoid extends ActivationLayer {
  constructor() {
    super(act.sigmoid);
  }
}
export class Tanh extends ActivationLayer {
  constructor() {
    super(act.tanh);
  }
}
export class ReLU extends ActivationLayer {
  constructor() {
    super(act.relu);
  }
}
export class LeakyReLU extends ActivationLayer {
  readonly alpha: number;
  constructor(alpha = 0.01) {
    super(act.leakyRelu(alpha));
    this.alpha = alpha;
  }
  override architecture(): Record<string, unknown> {
    return { type: "LeakyReLU", alpha: this.alpha };
  }
}
export class Softplus extends ActivationLayer {
  constructor() {
    super(act.softplus);
  }
}
export class GELU extends ActivationLayer {
  constructor() {
    super(act.gelu);
  }
}
export class Identity extends ActivationLayer {
  constructor() {
    super(act.identity);
  }
}
