import { Adagrad, Adam, AdamW, type Module, RMSProp, SGD } from "@tapegrad/nn";
import { type OptimizerName, type ScheduleSpec, scheduleFactor } from "./options.js";

export interface OptimizerFlags {
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  /** undefined: the optimiser's own default (0; AdamW 0.01). */
  weightDecay?: number;
  schedule: ScheduleSpec;
  epochs: number;
}

/** The learning rate as a function of the optimiser's step count, from a per-epoch schedule. */
export function learningRate(
  flags: OptimizerFlags,
  stepsPerEpoch: number,
): number | ((step: number) => number) {
  if (flags.schedule.kind === "none") return flags.lr;
  const spec = flags.schedule;
  return (step: number) => flags.lr * scheduleFactor(spec, Math.floor(step / stepsPerEpoch), flags.epochs);
}

export function buildOptimizer(model: Module, flags: OptimizerFlags, stepsPerEpoch: number) {
  const params = model.parameters();
  const lr = learningRate(flags, stepsPerEpoch);
  const weightDecay = flags.weightDecay ?? (flags.optimizer === "adamw" ? 0.01 : 0);
  switch (flags.optimizer) {
    case "sgd":
      return new SGD(params, { lr, weightDecay });
    case "momentum":
      return new SGD(params, { lr, momentum: flags.momentum, weightDecay });
    case "nesterov":
      return new SGD(params, { lr, momentum: flags.momentum, nesterov: true, weightDecay });
    case "adam":
      return new Adam(params, { lr, weightDecay });
    case "adamw":
      return new AdamW(params, { lr, weightDecay });
    case "rmsprop":
      return new RMSProp(params, { lr, weightDecay });
    case "adagrad":
      return new Adagrad(params, { lr, weightDecay });
  }
}
