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
  /** The last layer's activation; undefined: the default for the loss (see defaultOutputActivation). */
  outputActivation?: ActivationName;
  loss: LossName;
  init: InitName;
  dtype: "float32" | "float64";
  seed: number;
}

/**
 * The output layer's activation when --output-activation is not given: softmaxCrossEntropy takes logits, so
 * `identity`; every other loss keeps the hidden activation on the output, as the article's network does.
 */
export function defaultOutputActivation<A extends string>(loss: string, activation: A): A | "identity" {
  return loss === "softmaxCrossEntropy" ? "identity" : activation;
}

/** The article's network from CLI flags. */
export function buildNetwork(spec: NetworkSpec): NN {
  const output = spec.outputActivation ?? defaultOutputActivation(spec.loss, spec.activation);
  return new NN(spec.sizes, activationByName(spec.activation), lossByName(spec.loss), {
    dtype: spec.dtype,
    seed: spec.seed,
    init: spec.init,
    outputActivation: activationByName(output),
  });
}

/** "relu" when every layer shares it, "relu (output identity)" otherwise. */
export function describeActivations(spec: {
  activation: string;
  outputActivation?: string;
  loss: string;
}): string {
  const output = spec.outputActivation ?? defaultOutputActivation(spec.loss, spec.activation);
  return output === spec.activation ? spec.activation : `${spec.activation} (output ${output})`;
}
