import { DTypeError, ShapeError, Tensor } from "@tapegrad/autograd";

/** Floating-point dtypes: the only ones a parameter or a loss can have. */
export type FloatDType = "float32" | "float64";
export type FloatArray = Float32Array | Float64Array;

export function allocFloat(dtype: FloatDType, n: number): FloatArray {
  return dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function floatDtypeOf(t: Tensor, op: string): FloatDType {
  if (t.dtype === "int32") throw new DTypeError(`${op}: expected a float32 or float64 tensor, got int32`);
  return t.dtype;
}

/** A new tensor of z's shape and (float) dtype holding f(z_i): closed-form derivatives need no tape. */
export function mapFloat(z: Tensor, op: string, f: (v: number) => number): Tensor {
  const out = allocFloat(floatDtypeOf(z, op), z.size);
  const src = z.data;
  for (let i = 0; i < out.length; i++) out[i] = f(src[i]);
  return new Tensor(out, z.shape);
}

/** Rows of a batch: 1 for a single 1-D vector, shape[0] otherwise. */
export function rowsOf(t: Tensor): number {
  return t.ndim <= 1 ? 1 : t.shape[0];
}

/** Copies rows `indices` of t (rows along axis 0) into a new contiguous tensor. */
export function takeRows(t: Tensor, indices: ArrayLike<number>, start = 0, end = indices.length): Tensor {
  if (t.ndim === 0) throw new ShapeError(`takeRows: a 0-d tensor has no rows`);
  const rowSize = t.size / t.shape[0];
  const count = end - start;
  const src = t.data;
  const out = new (src.constructor as new (n: number) => typeof src)(count * rowSize);
  if (rowSize >= 64) {
    for (let r = 0; r < count; r++) {
      const from = indices[start + r] * rowSize;
      out.set(src.subarray(from, from + rowSize), r * rowSize);
    }
  } else {
    // short rows (labels, small features): a plain loop beats a subarray object per row
    for (let r = 0, o = 0; r < count; r++) {
      const from = indices[start + r] * rowSize;
      for (let k = 0; k < rowSize; k++) out[o++] = src[from + k];
    }
  }
  return new Tensor(out, [count, ...t.shape.slice(1)]);
}

/**
 * An empty object without a prototype, for maps keyed by names from files or users: "__proto__" is then an
 * ordinary key (not the prototype setter), and "constructor" or "toString" are absent unless set.
 */
export function nameMap<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
