import { allocate, allocateUninitialized, type DType, fitsInt32, promoteTypes } from "../dtype.js";
import { AllocationError, DTypeError, TapegradError } from "../errors.js";
import { formatShape, type Shape, shapesEqual } from "../shape.js";
import { Tensor } from "../tensor.js";

export type Operand = Tensor | number;

/** A fresh tensor of the given dtype and shape, zero-filled. An impossible size is an AllocationError naming the shape. */
export function empty(dtype: DType, shape: Shape): Tensor {
  return fresh(dtype, shape, true);
}

/**
 * A fresh tensor whose contents are unspecified (NaN in tests): only for an output the caller's
 * kernel writes in full. Large ones skip the zero-fill, which costs more than most kernels here.
 */
export function uninitialized(dtype: DType, shape: Shape): Tensor {
  return fresh(dtype, shape, false);
}

function fresh(dtype: DType, shape: Shape, zeroed: boolean): Tensor {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  let data: ReturnType<typeof allocate>;
  try {
    data = zeroed ? allocate(dtype, n) : allocateUninitialized(dtype, n);
  } catch (e) {
    throw e instanceof AllocationError ? e.naming(null, shape) : e;
  }
  return new Tensor(data, shape);
}

/**
 * The one mechanism by which errors name the op the user called, for ops composed of other ops
 * (clamp = where ∘ less ∘ greater, softmax = exp ∘ sub ∘ ...): `composite(name, body)` runs body and
 * re-labels a TapegradError raised by an inner op ("less: ...") as `name: ... (raised by less inside
 * name)`, keeping its class, its fields and its stack, with the original as `cause`. Errors that
 * already name `name`, and anomaly-mode reports (which name the node f_i on purpose), pass unchanged.
 */
// biome-ignore lint/suspicious/noExplicitAny: any function type, its signature is kept as is
export function composite<F extends (...args: any[]) => unknown>(name: string, body: F): F {
  const wrapped = (...args: Parameters<F>) => {
    try {
      return body(...args);
    } catch (e) {
      throw relabelError(e, name);
    }
  };
  Object.defineProperty(wrapped, "name", { value: name }); // gelu.name is still "gelu"
  return wrapped as F;
}

/** `e` re-labelled with the op the user called (see composite). */
export function relabelError(e: unknown, name: string): unknown {
  if (!(e instanceof TapegradError) || e.message.startsWith(`${name}:`) || e.message.startsWith("anomaly:")) {
    return e;
  }
  const inner = /^([\w.]+|customOp "[^"]*"): /.exec(e.message);
  const message =
    inner === null
      ? `${name}: ${e.message}`
      : `${name}: ${e.message.slice(inner[0].length)} (raised by ${inner[1]} inside ${name})`;
  const copy = Object.create(Object.getPrototypeOf(e)) as TapegradError;
  Object.assign(copy, e);
  Object.defineProperty(copy, "message", { value: message, writable: true, configurable: true });
  Object.defineProperty(copy, "cause", { value: e, writable: true, configurable: true });
  // An AllocationError's `op` field is the op the user called, like its message.
  if (e instanceof AllocationError) Object.defineProperty(copy, "op", { value: name, enumerable: true });
  copy.stack = e.stack?.replace(e.message, message);
  return copy;
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

/** A number operand in the dtype of its tensor partner; int32 cannot hold a fraction or a number past ±2^31, so that is an error. */
function numberLike(value: number, t: Tensor, op: string): Tensor {
  if (t.dtype === "int32" && !fitsInt32(value)) {
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
