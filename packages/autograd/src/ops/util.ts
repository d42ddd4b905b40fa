import { allocate, type DType, promoteTypes } from "../dtype.js";
import { DTypeError } from "../errors.js";
import { formatShape, type Shape, shapesEqual } from "../shape.js";
import { Tensor } from "../tensor.js";

export type Operand = Tensor | number;

/** A fresh tensor of the given dtype and shape, zero-filled. */
export function empty(dtype: DType, shape: Shape): Tensor {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return new Tensor(allocate(dtype, n), shape);
}

/** A 0-d tensor holding `value` in `dtype` (how a number operand takes the tensor's dtype). */
export function scalar(value: number, dtype: DType): Tensor {
  const t = empty(dtype, []);
  t.data[0] = value;
  return t;
}

export function checkTensor(x: unknown, op: string, what = "argument"): Tensor {
  if (x instanceof Tensor) return x;
  throw new DTypeError(`${op}: ${what} must be a Tensor, got ${x === null ? "null" : typeof x}`);
}

/** A number operand in the dtype of its tensor partner; int32 cannot hold a fraction, so that is an error. */
function numberLike(value: number, t: Tensor, op: string): Tensor {
  if (t.dtype === "int32" && !Number.isInteger(value)) {
    throw new DTypeError(
      `${op}: the number ${value} cannot take the int32 dtype of the tensor of shape ${formatShape(t.shape)}; cast the tensor to a float dtype first`,
    );
  }
  return scalar(value, t.dtype);
}

function checkOperand(x: unknown, op: string): Tensor {
  if (x instanceof Tensor) return x;
  throw new DTypeError(
    `${op}: operand must be a Tensor or a number, got ${x === null ? "null" : Array.isArray(x) ? "an array" : typeof x}`,
  );
}

/** Brings two operands to one dtype: numbers take the tensor's dtype, float32 with float64 becomes float64. */
export function coerce(a: Operand, b: Operand, op: string): [Tensor, Tensor] {
  if (typeof a === "number") {
    const tb = checkOperand(b, op);
    return [numberLike(a, tb, op), tb];
  }
  const ta = checkOperand(a, op);
  if (typeof b === "number") return [ta, numberLike(b, ta, op)];
  const tb = checkOperand(b, op);
  if (ta.dtype === tb.dtype) return [ta, tb];
  const dtype = promoteTypes(ta.dtype, tb.dtype);
  return [ta.dtype === dtype ? ta : ta.cast(dtype), tb.dtype === dtype ? tb : tb.cast(dtype)];
}

export function requireFloat(x: Tensor, op: string): void {
  if (x.dtype === "int32") {
    throw new DTypeError(
      `${op}: expected a float32 or float64 tensor, got int32 of shape ${formatShape(x.shape)}; cast it first`,
    );
  }
}

/**
 * Sums a broadcast cotangent back to `shape`: over the leading dims broadcasting added and over the dims
 * where `shape` has 1. Written with differentiable ops so higher-order gradients pass through it.
 */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length > 0 ? g.sum(axes, true) : g;
  return shapesEqual(summed.shape, shape) ? summed : summed.reshape(shape as number[]);
}

/** A tangent of an input brought to the output's shape (binary ops broadcast their operands). */
export function fitTangent(t: Tensor, shape: Shape): Tensor {
  return shapesEqual(t.shape, shape) ? t : t.broadcastTo(shape as number[]);
}

/** a + b for tangents where null is a zero tangent (so zeros are never materialised). */
export function addTangents(a: Tensor | null, b: Tensor | null): Tensor | null {
  if (a === null) return b;
  if (b === null) return a;
  return a.add(b);
}
