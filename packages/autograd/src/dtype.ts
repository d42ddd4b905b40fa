import { DTypeError } from "./errors.js";
import { allocateStorage } from "./storage.js";

export type DType = "float32" | "float64" | "int32";
export type FloatDType = "float32" | "float64";
export type TypedArray = Float32Array | Float64Array | Int32Array;
export type FloatArray = Float32Array | Float64Array;

let defaultDtype: FloatDType = "float32";

/** The dtype tensors get when neither their data nor their options fix one. float32 unless changed. */
export function getDefaultDtype(): FloatDType {
  return defaultDtype;
}

export function setDefaultDtype(dtype: FloatDType): void {
  if (dtype !== "float32" && dtype !== "float64") {
    throw new DTypeError(`setDefaultDtype: expected "float32" or "float64", got ${JSON.stringify(dtype)}`);
  }
  defaultDtype = dtype;
}

/** A zero-filled array for tensor storage (small ones are carved from shared slabs: see storage.ts). */
export function allocate(dtype: DType, size: number): TypedArray {
  return allocateStorage(dtype, size);
}

/** An array whose contents are unspecified, for a kernel that writes every element (storage.ts (3)). */
export function allocateUninitialized(dtype: DType, size: number): TypedArray {
  return allocateStorage(dtype, size, false);
}

export function dtypeOf(data: TypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  return "int32";
}

export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype !== "int32";
}

/** Result dtype of combining two tensors: float64 wins over float32, any float wins over int32. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === "float64" || b === "float64") return "float64";
  if (a === "float32" || b === "float32") return "float32";
  return "int32";
}

export function checkDtype(value: unknown, op: string): DType {
  if (value === "float32" || value === "float64" || value === "int32") return value;
  throw new DTypeError(
    `${op}: unknown dtype ${JSON.stringify(value)}; expected "float32", "float64" or "int32"`,
  );
}

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** Whether int32 storage holds `v` exactly: an integer in [-2^31, 2^31 - 1] (NaN and ±Infinity are not). */
export function fitsInt32(v: number): boolean {
  return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
}

/** The error for a value that int32 creation cannot store; creation never rounds or wraps silently. */
export function int32ValueError(op: string, value: number, at: string): DTypeError {
  return new DTypeError(
    `${op}: the value ${value}${at} cannot be stored as int32 (an integer in [${INT32_MIN}, ${INT32_MAX}]); use a float dtype, or round the values first (e.g. cast a float tensor, which truncates toward zero)`,
  );
}
