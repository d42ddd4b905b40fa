import { defaultRng, getDefaultDtype, Rng, Tensor, ValueError } from "@tapegrad/autograd";
import { allocFloat, type FloatDType, sizeOf } from "./util.js";

/**
 * Seeded weight initialisers. Each takes a shape and returns a new float tensor. For a weight W: [in, out]
 * (tapegrad's row-vector layout), fan-in is shape[0] and fan-out shape[1]; for a 1-D shape both are its length.
 * Randomness comes from opts.rng, else a fresh Rng(opts.seed), else autograd's default stream (which
 * autograd's manualSeed reseeds).
 */
export interface InitOptions {
  dtype?: FloatDType;
  seed?: number;
  rng?: Rng;
  /** Standard deviation for `normal` (default 1). */
  std?: number;
  /** Gain for the Xavier initialisers (default 1). */
  gain?: number;
}
export type Initializer = (shape: readonly number[], opts?: InitOptions) => Tensor;

export function rngFrom(opts: { seed?: number; rng?: Rng } | undefined): Rng {
  if (opts?.rng) return opts.rng;
  if (opts?.seed !== undefined) return new Rng(opts.seed);
  return defaultRng();
}

function resolveDtype(dtype: FloatDType | undefined): FloatDType {
  const d = dtype ?? getDefaultDtype();
  if (d !== "float32" && d !== "float64")
    throw new ValueError(`init: dtype must be float32 or float64, got ${d}`);
  return d;
}

export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  const receptive = sizeOf(shape.slice(2));
  return { fanIn: shape[0] * receptive, fanOut: shape[1] * receptive };
}

function gaussian(
  shape: readonly number[],
  std: number,
  opts: InitOptions | undefined,
  name: string,
): Tensor {
  if (!(std >= 0) || !Number.isFinite(std))
    throw new ValueError(`${name}: std must be finite and >= 0, got ${std}`);
  const rng = rngFrom(opts);
  const data = allocFloat(resolveDtype(opts?.dtype), sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
  return new Tensor(data, shape);
}

function uniform(shape: readonly number[], bound: number, opts: InitOptions | undefined): Tensor {
  const rng = rngFrom(opts);
  const data = allocFloat(resolveDtype(opts?.dtype), sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = bound * (2 * rng.uniform() - 1);
  return new Tensor(data, shape);
}

/** N(0, std²), std = opts.std ?? 1: the article's np.random.randn. */
export const normal: Initializer = (shape, opts) => gaussian(shape, opts?.std ?? 1, opts, "normal");

/** Nielsen's improved initialiser: N(0, 1/fanIn), i.e. std 1/√fanIn. */
export const nielsen: Initializer = (shape, opts) =>
  gaussian(shape, 1 / Math.sqrt(fans(shape).fanIn), opts, "nielsen");

/** Glorot & Bengio: std = gain·√(2 / (fanIn + fanOut)). */
export const xavierNormal: Initializer = (shape, opts) => {
  const { fanIn, fanOut } = fans(shape);
  return gaussian(shape, (opts?.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), opts, "xavierNormal");
};

/** Glorot & Bengio: U(−a, a), a = gain·√(6 / (fanIn + fanOut)). */
export const xavierUniform: Initializer = (shape, opts) => {
  const { fanIn, fanOut } = fans(shape);
  return uniform(shape, (opts?.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut)), opts);
};

/** He/Kaiming for ReLU: std = √(2 / fanIn). */
export const heNormal: Initializer = (shape, opts) =>
  gaussian(shape, Math.sqrt(2 / fans(shape).fanIn), opts, "heNormal");

/** He/Kaiming for ReLU: U(−a, a), a = √(6 / fanIn). */
export const heUniform: Initializer = (shape, opts) => uniform(shape, Math.sqrt(6 / fans(shape).fanIn), opts);

export const zeros: Initializer = (shape, opts) =>
  new Tensor(allocFloat(resolveDtype(opts?.dtype), sizeOf(shape)), shape);

/** The initialisers by name, for options such as Linear's `init: 'heNormal'`. */
export const initializers = {
  normal,
  nielsen,
  xavierNormal,
  xavierUniform,
  heNormal,
  heUniform,
  zeros,
} as const;
export type InitName = keyof typeof initializers;

export function resolveInit(init: InitName | Initializer, where: string): Initializer {
  if (typeof init === "function") return init;
  const found = initializers[init];
  if (!found) {
    throw new ValueError(
      `${where}: unknown initialiser "${init}" (expected ${Object.keys(initializers).join(", ")})`,
    );
  }
  return found;
}
