import { getDefaultDtype, type Rng, type Tensor, ValueError } from "@tapegrad/autograd";
import { Module, Parameter } from "../module.js";
import { allocFloat, type FloatDType, sizeOf } from "../util.js";

/** Options every layer with parameters takes: their dtype and the seeded stream they start from. */
export interface LayerInitOptions {
  dtype?: FloatDType;
  seed?: number;
  rng?: Rng;
}

export function layerDtype(dtype: FloatDType | undefined, who: string): FloatDType {
  const d = dtype ?? getDefaultDtype();
  if (d !== "float32" && d !== "float64")
    throw new ValueError(`${who}: dtype must be float32 or float64, got ${d}`);
  return d;
}

/** U(−bound, bound): PyTorch's default for Linear-like weights and biases is bound = 1/√fan_in. */
export function uniformParameter(
  shape: readonly number[],
  bound: number,
  rng: Rng,
  dtype: FloatDType,
): Parameter {
  const data = allocFloat(dtype, sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = bound * (2 * rng.uniform() - 1);
  return new Parameter(data, shape);
}

export function constantParameter(shape: readonly number[], value: number, dtype: FloatDType): Parameter {
  const data = allocFloat(dtype, sizeOf(shape));
  if (value !== 0) data.fill(value);
  return new Parameter(data, shape);
}

/** Xavier/Glorot uniform for a weight stored [out, in]: bound √(6 / (fan_in + fan_out)). */
export function xavierParameter(out: number, inp: number, rng: Rng, dtype: FloatDType): Parameter {
  return uniformParameter([out, inp], Math.sqrt(6 / (inp + out)), rng, dtype);
}

/** x·Wᵀ + b with W in PyTorch's [out, in] layout (no transposed copy: matmul's transposeB flag). */
export function linearT(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const y = x.matmul(weight, { transposeB: true });
  return bias === null ? y : y.add(bias);
}

export function positiveInt(value: unknown, what: string, who: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
    throw new ValueError(`${who}: ${what} must be a positive integer, got ${String(value)}`);
  return value;
}

export function positiveNumber(value: unknown, what: string, who: string): number {
  if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value))
    throw new ValueError(`${who}: ${what} must be a finite number > 0, got ${String(value)}`);
  return value;
}

export function probability(value: unknown, what: string, who: string): number {
  if (typeof value !== "number" || !(value >= 0 && value < 1))
    throw new ValueError(`${who}: ${what} must be in [0, 1), got ${String(value)}`);
  return value;
}

/** A size as [rows, columns] of integers >= min, or a ValueError naming the layer and the option. */
export function pair(value: unknown, what: string, who: string, min: number): [number, number] {
  const p = typeof value === "number" ? [value, value] : value;
  if (
    !Array.isArray(p) ||
    p.length !== 2 ||
    !p.every((v) => typeof v === "number" && Number.isInteger(v) && v >= min)
  ) {
    throw new ValueError(
      `${who}: ${what} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(value)}`,
    );
  }
  return [p[0], p[1]];
}

export function bool(value: unknown, what: string, who: string): boolean {
  if (typeof value !== "boolean")
    throw new ValueError(`${who}: ${what} must be true or false, got ${String(value)}`);
  return value;
}

/**
 * y = x·Wᵀ + b with PyTorch's layout (weight [out, in], bias [out]) and default init
 * (U(±1/√in) for both): the projections inside the attention and transformer layers, so their
 * state-dict keys and shapes are torch's ("out_proj.weight", "linear1.bias"). The public `Linear`
 * keeps the article's W[in, out].
 */
export class TorchLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, bias: boolean, rng: Rng, dtype: FloatDType) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = uniformParameter([outFeatures, inFeatures], bound, rng, dtype);
    this.bias = bias ? uniformParameter([outFeatures], bound, rng, dtype) : null;
  }

  forward(x: Tensor): Tensor {
    return linearT(x, this.weight, this.bias);
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "TorchLinear",
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
      bias: this.bias !== null,
    };
  }
}
