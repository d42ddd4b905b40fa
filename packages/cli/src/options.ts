import { UsageError } from "./util/errors.js";

/** Flag parsers for commander: each turns the text into a value or throws a UsageError naming the flag. */

export function parseSizes(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  const sizes = parts.map(Number);
  if (parts.length < 2 || parts.some((p) => p === "") || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new UsageError(
      `--sizes ${text}: expected at least two positive integers separated by commas, such as 784,30,10`,
    );
  }
  return sizes;
}

export function parsePositiveInt(flag: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (text.trim() === "" || !Number.isInteger(n) || n < 1) {
      throw new UsageError(`${flag} ${text}: expected a positive integer`);
    }
    return n;
  };
}

export function parseNonNegativeInt(flag: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (text.trim() === "" || !Number.isInteger(n) || n < 0) {
      throw new UsageError(`${flag} ${text}: expected an integer >= 0`);
    }
    return n;
  };
}

export function parseSeed(text: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) {
    throw new UsageError(`--seed ${text}: expected an integer from 0 to 4294967295`);
  }
  return n;
}

export function parsePositiveNumber(flag: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n) || n <= 0) {
      throw new UsageError(`${flag} ${text}: expected a number > 0`);
    }
    return n;
  };
}

export function parseNonNegativeNumber(flag: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (text.trim() === "" || !Number.isFinite(n) || n < 0) {
      throw new UsageError(`${flag} ${text}: expected a number >= 0`);
    }
    return n;
  };
}

/** A choice among fixed names, matched without regard to case, dashes or underscores. */
export function parseChoice<T extends string>(flag: string, choices: readonly T[]): (text: string) => T {
  const key = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  return (text) => {
    const found = choices.find((c) => key(c) === key(text));
    if (!found) throw new UsageError(`${flag} ${text}: expected one of ${choices.join(", ")}`);
    return found;
  };
}

export const ACTIVATIONS = ["sigmoid", "tanh", "relu", "leakyRelu", "identity", "softplus", "gelu"] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];
export const LOSSES = ["quadratic", "l2", "mse", "crossEntropy", "softmaxCrossEntropy"] as const;
export type LossName = (typeof LOSSES)[number];
export const INITS = ["normal", "nielsen", "xavier", "he"] as const;
export type InitName = (typeof INITS)[number];
export const OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export const DTYPES = ["float32", "float64"] as const;
export type FloatDTypeName = (typeof DTYPES)[number];
export const BACKPROPS = ["tape", "manual"] as const;
export type BackpropName = (typeof BACKPROPS)[number];
export const TASKS = ["auto", "classification", "regression"] as const;
export type TaskName = (typeof TASKS)[number];

/** A learning-rate schedule: `none`, `step:EVERY:GAMMA`, `exp:GAMMA`, `cosine`, `warmup:STEPS` (counted in epochs). */
export type ScheduleSpec =
  | { kind: "none" }
  | { kind: "step"; every: number; gamma: number }
  | { kind: "exp"; gamma: number }
  | { kind: "cosine" }
  | { kind: "warmup"; epochs: number };

export function parseSchedule(text: string): ScheduleSpec {
  const [name, ...args] = text.split(":");
  const nums = args.map(Number);
  const bad = (expected: string) => new UsageError(`--schedule ${text}: expected ${expected}`);
  if (nums.some((n) => !Number.isFinite(n) || n <= 0)) throw bad("positive numbers after the colons");
  switch (name.toLowerCase()) {
    case "none":
      if (args.length) throw bad("'none' without arguments");
      return { kind: "none" };
    case "step": {
      if (args.length > 2) throw bad("step:EVERY:GAMMA, such as step:10:0.5");
      const every = nums[0] ?? 10;
      if (!Number.isInteger(every)) throw bad("a whole number of epochs in step:EVERY:GAMMA");
      return { kind: "step", every, gamma: nums[1] ?? 0.5 };
    }
    case "exp":
      if (args.length > 1) throw bad("exp:GAMMA, such as exp:0.95");
      return { kind: "exp", gamma: nums[0] ?? 0.95 };
    case "cosine":
      if (args.length) throw bad("'cosine' without arguments");
      return { kind: "cosine" };
    case "warmup": {
      if (args.length > 1) throw bad("warmup:EPOCHS, such as warmup:2");
      const epochs = nums[0] ?? 1;
      if (!Number.isInteger(epochs)) throw bad("a whole number of epochs in warmup:EPOCHS");
      return { kind: "warmup", epochs };
    }
    default:
      throw bad("none, step:EVERY:GAMMA, exp:GAMMA, cosine or warmup:EPOCHS");
  }
}

export function formatSchedule(s: ScheduleSpec): string {
  switch (s.kind) {
    case "none":
    case "cosine":
      return s.kind;
    case "step":
      return `step:${s.every}:${s.gamma}`;
    case "exp":
      return `exp:${s.gamma}`;
    case "warmup":
      return `warmup:${s.epochs}`;
  }
}

/** Per-epoch learning-rate factor for a schedule, given the epoch (0-based) and the number of epochs. */
export function scheduleFactor(s: ScheduleSpec, epoch: number, epochs: number): number {
  switch (s.kind) {
    case "none":
      return 1;
    case "step":
      return s.gamma ** Math.floor(epoch / s.every);
    case "exp":
      return s.gamma ** epoch;
    case "cosine":
      return 0.5 * (1 + Math.cos((Math.PI * epoch) / Math.max(1, epochs)));
    case "warmup":
      return Math.min(1, (epoch + 1) / s.epochs);
  }
}

/** The architectures `tapegrad train --model` builds: the article's fully connected network, or the CNN. */
export const MODELS = ["mlp", "cnn"] as const;
export type ModelName = (typeof MODELS)[number];

/**
 * What `--model cnn` trains when a flag is not given (the article's defaults, sigmoid + quadratic loss +
 * SGD at lr 3, suit its own network only): the settings of examples/cnn-mnist.ts.
 */
export const CNN_DEFAULTS = {
  loss: "softmaxCrossEntropy",
  optimizer: "adam",
  lr: 0.002,
  batchSize: 64,
  epochs: 15,
  schedule: { kind: "cosine" } as ScheduleSpec,
} as const;
