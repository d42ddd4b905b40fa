import { type Activation, activations, type Loss, losses, NN } from "@tapegrad/nn";
import type { ActivationName, InitName, LossName } from "./options.js";
import { UsageError } from "./util/errors.js";

export function activationByName(name: string): Activation {
  const a = activations[name];
  if (!a)
    throw new UsageError(
      `unknown activation '${name}' (expected one of ${Object.keys(activations).join(", ")})`,
    );
  return a;
}

export function lossByName(name: string): Loss {
  const l = losses[name];
  if (!l) throw new UsageError(`unknown loss '${name}' (expected one of ${Object.keys(losses).join(", ")})`);
  return l;
}

export interface NetworkSpec {
  sizes: number[];
  activation: ActivationName;
  loss: LossName;
  init: InitName;
  dtype: "float32" | "float64";
  seed: number;
}

/** The article's network from CLI flags. */
export function buildNetwork(spec: NetworkSpec): NN {
  return new NN(spec.sizes, activationByName(spec.activation), lossByName(spec.loss), {
    dtype: spec.dtype,
    seed: spec.seed,
    init: spec.init,
  });
}
