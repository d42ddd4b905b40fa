import {
  allocate,
  checkDtype,
  type DType,
  fitsInt32,
  getDefaultDtype,
  int32ValueError,
  type TypedArray,
} from "./dtype.js";
import { AllocationError, DTypeError, ShapeError, ValueError } from "./errors.js";
import { defaultRng, Rng } from "./random.js";
import { checkShape, formatShape, sizeOf } from "./shape.js";
import { Tensor } from "./tensor.js";

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  name?: string;
}

export interface RandomOptions extends TensorOptions {
  /** Seed for a private generator: the same seed gives the same numbers everywhere. */
  seed?: number;
  /** A generator to draw from (advances it), for reproducible streams. */
  rng?: Rng;
}

export type NestedNumbers = number | readonly NestedNumbers[];

function finish(t: Tensor, opts: TensorOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad = true;
  if (opts?.name !== undefined) t.name = opts.name;
  return t;
}

function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function flatten(data: NestedNumbers, shape: readonly number[], out: TypedArray): void {
  let k = 0;
  const walk = (node: NestedNumbers, dim: number, path: number[]): void => {
    if (dim === shape.length) {
      if (typeof node !== "number") {
        throw new ValueError(
          `tensor: expected a number at [${path.join(", ")}], got ${Array.isArray(node) ? "an array" : typeof node}`,
        );
      }
      if (out instanceof Int32Array && !fitsInt32(node))
        throw int32ValueError("tensor", node, ` at [${path.join(", ")}]`);
      out[k++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[dim]) {
      const got = Array.isArray(node) ? `length ${node.length}` : typeof node;
      throw new ShapeError(
        `tensor: ragged nested array at [${path.join(", ")}]: expected length ${shape[dim]}, got ${got}`,
      );
    }
    for (let i = 0; i < node.length; i++) walk(node[i], dim + 1, [...path, i]);
  };
  walk(data, 0, []);
}

/**
 * Makes a tensor from a number, nested arrays or a typed array. A typed array fixes the dtype
 * (Float64Array -> float64) unless opts.dtype says otherwise, and is used without copying when
 * the dtype matches.
 */
export function tensor(
  data: NestedNumbers | Float32Array | Float64Array | Int32Array,
  opts: TensorOptions & { shape?: readonly number[] } = {},
): Tensor {
  if (opts.dtype !== undefined) checkDtype(opts.dtype, "tensor");
  if (ArrayBuffer.isView(data)) {
    if (!(data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array)) {
      throw new DTypeError(
        `tensor: typed arrays must be Float32Array, Float64Array or Int32Array, got ${(data as ArrayBufferView).constructor.name}`,
      );
    }
    const shape = opts.shape ? checkShape(opts.shape, "tensor") : [data.length];
    if (sizeOf(shape) !== data.length) {
      throw new ShapeError(
        `tensor: ${data.length} values do not fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`,
      );
    }
    const dtype =
      opts.dtype ??
      (data instanceof Float32Array ? "float32" : data instanceof Float64Array ? "float64" : "int32");
    if (dtype === "int32" && !(data instanceof Int32Array)) {
      for (let i = 0; i < data.length; i++) {
        if (!fitsInt32(data[i]))
          throw int32ValueError("tensor", data[i], ` at [${unravel(i, shape).join(", ")}]`);
      }
    }
    let buffer: TypedArray = data;
    if (
      (dtype === "float32") !== data instanceof Float32Array ||
      (dtype === "float64") !== data instanceof Float64Array
    ) {
      buffer = allocate(dtype, data.length);
      buffer.set(data);
    }
    return finish(new Tensor(buffer, shape), opts);
  }
  if (typeof data !== "number" && !Array.isArray(data)) {
    throw new ValueError(
      `tensor: expected a number, nested arrays of numbers or a typed array, got ${data === null ? "null" : typeof data}`,
    );
  }
  const inferred = inferShape(data as NestedNumbers);
  const dtype = opts.dtype ?? getDefaultDtype();
  const buffer = allocate(dtype, sizeOf(inferred));
  flatten(data as NestedNumbers, inferred, buffer);
  const shape = opts.shape ? checkShape(opts.shape, "tensor") : inferred;
  if (sizeOf(shape) !== buffer.length) {
    throw new ShapeError(
      `tensor: ${buffer.length} values do not fill shape ${formatShape(shape)} (${sizeOf(shape)} elements)`,
    );
  }
  return finish(new Tensor(buffer, shape), opts);
}

/** The multi-index of flat position i in a row-major `shape`. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** A tensor of `shape` filled with `value` (int32: an integer in the int32 range, else a DTypeError). */
export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  return filled(shape, value, opts, "full");
}

/** full(), with errors naming the function the user called. */
function filled(shape: readonly number[], value: number, opts: TensorOptions, op: string): Tensor {
  const s = checkShape(shape, op);
  const dtype = opts.dtype === undefined ? getDefaultDtype() : checkDtype(opts.dtype, op);
  if (dtype === "int32" && !fitsInt32(value)) throw int32ValueError(op, value, "");
  let data: TypedArray;
  try {
    data = allocate(dtype, sizeOf(s));
  } catch (e) {
    throw e instanceof AllocationError ? e.naming(op, s) : e;
  }
  if (value !== 0) data.fill(value);
  return finish(new Tensor(data, s), opts);
}

export const zeros = (shape: readonly number[], opts: TensorOptions = {}): Tensor =>
  filled(shape, 0, opts, "zeros");
export const ones = (shape: readonly number[], opts: TensorOptions = {}): Tensor =>
  filled(shape, 1, opts, "ones");

/** Tensors shaped and typed like `x`. */
export const zerosLike = (x: Tensor, opts?: TensorOptions): Tensor =>
  filled(likeShape(x, "zerosLike"), 0, { dtype: x.dtype, ...opts }, "zerosLike");
export const onesLike = (x: Tensor, opts?: TensorOptions): Tensor =>
  filled(likeShape(x, "onesLike"), 1, { dtype: x.dtype, ...opts }, "onesLike");

function likeShape(x: unknown, op: string): readonly number[] {
  if (!(x instanceof Tensor)) {
    throw new DTypeError(
      `${op}: expected a Tensor, got ${x === null ? "null" : Array.isArray(x) ? "an array" : typeof x}`,
    );
  }
  return x.shape;
}

/** The n×n identity matrix. */
export function eye(n: number, opts: TensorOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ShapeError(`eye: n must be an integer >= 0, got ${n}`);
  const t = filled([n, n], 0, opts, "eye");
  for (let i = 0; i < n; i++) t.data[i * n + i] = 1;
  return t;
}

/**
 * Values start, start+step, ... below stop (like NumPy); arange(n) counts 0..n-1. The options may come
 * right after the numbers given: arange(n, { dtype: "int32" }), arange(a, b, opts).
 */
export function arange(
  start: number,
  stop?: number | TensorOptions,
  step: number | TensorOptions = 1,
  opts: TensorOptions = {},
): Tensor {
  let end: number | undefined;
  let inc = 1;
  if (typeof stop === "object" && stop !== null) opts = stop;
  else {
    end = stop;
    if (typeof step === "object" && step !== null) opts = step;
    else inc = step;
  }
  if (end === undefined) {
    end = start;
    start = 0;
  }
  if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(inc) || inc === 0) {
    throw new ValueError(
      `arange: start, stop and step must be finite and step nonzero, got ${start}, ${end}, ${inc}`,
    );
  }
  const n = Math.max(0, Math.ceil((end - start) / inc));
  const t = filled([n], 0, opts, "arange");
  for (let i = 0; i < n; i++) {
    const v = start + i * inc;
    if (t.dtype === "int32" && !fitsInt32(v)) throw int32ValueError("arange", v, ` at [${i}]`);
    t.data[i] = v;
  }
  return t;
}

/** Random options must be an object (or omitted). */
function checkOptions(opts: unknown, op: string): void {
  if (opts === null || typeof opts !== "object") {
    throw new ValueError(`${op}: options must be an object like { seed: 1 }, got ${String(opts)}`);
  }
}

function pickRng(opts: RandomOptions, op: string): Rng {
  if (opts.rng !== undefined && opts.seed !== undefined)
    throw new ValueError(`${op}: pass either seed or rng, not both`);
  if (opts.rng !== undefined) return opts.rng;
  if (opts.seed !== undefined) {
    if (typeof opts.seed !== "number" || !Number.isFinite(opts.seed)) {
      throw new ValueError(`${op}: seed must be a finite number, got ${String(opts.seed)}`);
    }
    return new Rng(opts.seed);
  }
  return defaultRng();
}

/** Uniform samples in [low, high) (default [0, 1)). */
export function rand(
  shape: readonly number[],
  opts: RandomOptions & { low?: number; high?: number } = {},
): Tensor {
  checkOptions(opts, "rand");
  const t = filled(shape, 0, { dtype: opts.dtype }, "rand");
  if (t.dtype === "int32") throw new DTypeError("rand: dtype must be float32 or float64");
  const rng = pickRng(opts, "rand");
  const low = opts.low ?? 0;
  const high = opts.high ?? 1;
  for (let i = 0; i < t.size; i++) t.data[i] = low + (high - low) * rng.uniform();
  return finish(t, opts);
}

/** Normal samples with mean `mean` and standard deviation `std` (default N(0, 1)). */
export function randn(
  shape: readonly number[],
  opts: RandomOptions & { mean?: number; std?: number } = {},
): Tensor {
  checkOptions(opts, "randn");
  const t = filled(shape, 0, { dtype: opts.dtype }, "randn");
  if (t.dtype === "int32") throw new DTypeError("randn: dtype must be float32 or float64");
  const rng = pickRng(opts, "randn");
  const mean = opts.mean ?? 0;
  const std = opts.std ?? 1;
  for (let i = 0; i < t.size; i++) t.data[i] = mean + std * rng.normal();
  return finish(t, opts);
}
