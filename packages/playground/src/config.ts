/** The training set-up the page lets the user choose, with the article's network as the default. */

export const ACTIVATIONS = ["sigmoid", "tanh", "relu", "softplus", "gelu"] as const;
export const LOSSES = ["quadratic", "l2", "mse", "crossEntropy", "softmaxCrossEntropy"] as const;
export const OPTIMIZERS = ["sgd", "momentum", "adam"] as const;
export const INITS = ["nielsen", "normal", "xavier", "he"] as const;

export type ActivationName = (typeof ACTIVATIONS)[number];
export type LossName = (typeof LOSSES)[number];
export type OptimizerName = (typeof OPTIMIZERS)[number];
export type InitName = (typeof INITS)[number];

export interface TrainConfig {
  sizes: number[];
  activation: ActivationName;
  loss: LossName;
  optimizer: OptimizerName;
  lr: number;
  batchSize: number;
  init: InitName;
  seed: number;
}

/**
 * The article's 784-30-10 sigmoid network with the quadratic loss, SGD, lr 3 and batches of 10.
 * Weights start as N(0, 1/n_in) (Nielsen's improved start): with the article's N(0, 1) the sigmoids
 * saturate and one epoch of 8,000 digits ends anywhere between ~55% and ~82% depending on the seed;
 * "normal" (the article's) is one choice away.
 */
export const DEFAULT_CONFIG: TrainConfig = {
  sizes: [784, 30, 10],
  activation: "sigmoid",
  loss: "quadratic",
  optimizer: "sgd",
  lr: 3,
  batchSize: 10,
  init: "nielsen",
  seed: 1,
};

/** A learning rate that works for the optimiser (SGD's 3 would blow Adam up). */
export function suggestedLr(optimizer: OptimizerName): number {
  return optimizer === "sgd" ? 3 : optimizer === "momentum" ? 0.5 : 0.005;
}

export const INPUTS = 784;
export const CLASSES = 10;
const MAX_WIDTH = 512;
const MAX_LAYERS = 5;

/** Parses "784, 30, 10": first 784 (pixels), last 10 (classes), 1-5 layers of 1-512 units in between. */
export function parseSizes(text: string): number[] {
  const parts = text
    .split(/[\s,x×-]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const sizes = parts.map(Number);
  if (sizes.length < 2 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`layer sizes "${text}": expected whole numbers separated by commas, e.g. 784, 30, 10`);
  }
  if (sizes[0] !== INPUTS)
    throw new Error(`layer sizes: the first must be ${INPUTS} (28×28 pixels), got ${sizes[0]}`);
  if (sizes[sizes.length - 1] !== CLASSES)
    throw new Error(
      `layer sizes: the last must be ${CLASSES} (one per digit), got ${sizes[sizes.length - 1]}`,
    );
  if (sizes.length - 1 > MAX_LAYERS)
    throw new Error(`layer sizes: at most ${MAX_LAYERS} layers, got ${sizes.length - 1}`);
  const wide = sizes.slice(1, -1).find((n) => n > MAX_WIDTH);
  if (wide !== undefined)
    throw new Error(`layer sizes: hidden layers hold at most ${MAX_WIDTH} units, got ${wide}`);
  return sizes;
}

function oneOf<T extends string>(what: string, list: readonly T[], v: unknown): T {
  if (typeof v !== "string" || !(list as readonly string[]).includes(v))
    throw new Error(`${what}: expected one of ${list.join(", ")}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** Checks a config that crossed a thread boundary (or came from a form); throws naming the bad field. */
export function checkConfig(c: unknown): TrainConfig {
  if (typeof c !== "object" || c === null) throw new Error("config: expected an object");
  const o = c as Record<string, unknown>;
  if (!Array.isArray(o.sizes)) throw new Error("config.sizes: expected an array of layer sizes");
  const sizes = parseSizes(o.sizes.join(","));
  const lr = o.lr;
  if (typeof lr !== "number" || !(lr > 0 && lr <= 100))
    throw new Error(`config.lr: expected a number in (0, 100], got ${String(lr)}`);
  const batchSize = o.batchSize;
  if (typeof batchSize !== "number" || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000)
    throw new Error(`config.batchSize: expected a whole number 1..1000, got ${String(batchSize)}`);
  const seed = o.seed;
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`config.seed: expected a whole number 0..4294967295, got ${String(seed)}`);
  return {
    sizes,
    activation: oneOf("config.activation", ACTIVATIONS, o.activation),
    loss: oneOf("config.loss", LOSSES, o.loss),
    optimizer: oneOf("config.optimizer", OPTIMIZERS, o.optimizer),
    lr,
    batchSize,
    init: oneOf("config.init", INITS, o.init),
    seed,
  };
}
