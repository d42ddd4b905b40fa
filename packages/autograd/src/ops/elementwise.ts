import { isBatched } from "../batched.js";
import { getDefaultDtype } from "../dtype.js";
import { DTypeError } from "../errors.js";
import { activationGrad, type BinaryOp, binary, select } from "../kernels/binary.js";
import { type UnaryOp, unary as unaryKernel } from "../kernels/unary.js";
import { broadcastShapes, formatShape, shapesEqual } from "../shape.js";
import { apply, recordNonDifferentiable } from "../tape.js";
import type { Tensor } from "../tensor.js";
import {
  type BatchRule,
  type BatchRuleTable,
  elementwiseBatch,
  liftElementwise,
  materialize,
} from "./batching.js";
import type { NonDifferentiableOp } from "./non-differentiable.js";
import type { JvpTable, Primitive, Rule, RuleTable } from "./primitive.js";
import {
  addTangents,
  checkTensor,
  coerce,
  composite,
  fitTangent,
  type Operand,
  relabelError,
  requireFloat,
  scalar,
  unbroadcast,
  uninitialized,
} from "./util.js";

type UnaryPrimitive =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "abs"
  | "square"
  | "tanh"
  | "sigmoid"
  | "relu"
  | "softplus"
  | "erf";
type BinaryPrimitive = "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum";
type GradPrimitive = "tanhGrad" | "sigmoidGrad" | "reluGrad";
export type ElementwisePrimitive = UnaryPrimitive | BinaryPrimitive | GradPrimitive | "where";

function mapUnary(op: UnaryOp, x: Tensor): Tensor {
  const out = uninitialized(x.dtype, x.shape);
  unaryKernel(op, x.data, out.data);
  return out;
}

function mapBinary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = shapesEqual(a.shape, b.shape) ? a.shape : broadcastShapes(a.shape, b.shape, op);
  const out = uninitialized(a.dtype, shape);
  binary(op, a.data, a.shape, b.data, b.shape, out.data, shape);
  return out;
}

function unaryRule<P extends UnaryPrimitive>(
  name: P,
  vjp: (g: Tensor, x: Tensor, y: Tensor) => Tensor,
): Rule<P> {
  return {
    name,
    forward: ([x]) => mapUnary(name, x),
    vjp: (g, { inputs, output }) => [vjp(g, inputs[0], output)],
  };
}

function binaryRule<P extends BinaryPrimitive>(
  name: P,
  vjpA: (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor,
  vjpB: (g: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor,
): Rule<P> {
  return {
    name,
    forward: ([a, b]) => mapBinary(name, a, b),
    vjp: (g, { inputs: [a, b], output }, needs) => [
      needs[0] ? unbroadcast(vjpA(g, a, b, output), a.shape) : null,
      needs[1] ? unbroadcast(vjpB(g, a, b, output), b.shape) : null,
    ],
  };
}

function gradRule<P extends GradPrimitive>(
  name: P,
  vjpSaved: ((ct: Tensor, y: Tensor, g: Tensor) => Tensor) | null,
): Rule<P> {
  return {
    name,
    forward: ([y, g]) => {
      const out = uninitialized(g.dtype, g.shape);
      activationGrad(name, y.data, g.data, out.data);
      return out;
    },
    vjp: (ct, { inputs: [y, g] }, needs) => [
      needs[0] && vjpSaved !== null ? vjpSaved(ct, y, g) : null,
      needs[1] ? apply(elementwiseRules[name] as Rule<P>, [y, ct], null) : null,
    ],
  };
}

const TWO_OVER_SQRT_PI = 1.1283791670955126;

/** Forward and vjp of every elementwise primitive, side by side. */
export const elementwiseRules: RuleTable<ElementwisePrimitive> = {
  neg: unaryRule("neg", (g) => neg(g)),
  exp: unaryRule("exp", (g, _x, y) => mul(g, y)),
  log: unaryRule("log", (g, x) => div(g, x)),
  sqrt: unaryRule("sqrt", (g, _x, y) => div(g, mul(y, 2))),
  abs: unaryRule("abs", (g, x) => mul(g, sign(x))), // abs'(0) = 0
  square: unaryRule("square", (g, x) => mul(g, mul(x, 2))),
  tanh: unaryRule("tanh", (g, _x, y) => apply(elementwiseRules.tanhGrad, [y, g], null)),
  sigmoid: unaryRule("sigmoid", (g, _x, y) => apply(elementwiseRules.sigmoidGrad, [y, g], null)),
  relu: unaryRule("relu", (g, x) => apply(elementwiseRules.reluGrad, [x, g], null)), // relu'(0) = 0
  softplus: unaryRule("softplus", (g, x) => mul(g, sigmoid(x))),
  erf: unaryRule("erf", (g, x) => mul(g, mul(exp(neg(square(x))), TWO_OVER_SQRT_PI))),

  add: binaryRule(
    "add",
    (g) => g,
    (g) => g,
  ),
  sub: binaryRule(
    "sub",
    (g) => g,
    (g) => neg(g),
  ),
  mul: binaryRule(
    "mul",
    (g, _a, b) => mul(g, b),
    (g, a) => mul(g, a),
  ),
  div: binaryRule(
    "div",
    (g, _a, b) => div(g, b),
    (g, _a, b, y) => neg(div(mul(g, y), b)),
  ),
  pow: binaryRule(
    "pow",
    (g, a, b) => mul(g, powBaseGrad(a, b)),
    // d/db a^b = a^b ln a; taken as 0 where a == 0 (as PyTorch does), NaN for negative a.
    (g, a, _b, y) => mul(g, mul(y, log(where(equal(a, 0), scalar(1, a.dtype), a)))),
  ),
  // Ties split the cotangent evenly; with a NaN operand both sides get all of it (see tieWeight).
  maximum: binaryRule(
    "maximum",
    (g, a, b) => mul(g, tieWeight(a, b, "less")),
    (g, a, b) => mul(g, tieWeight(b, a, "less")),
  ),
  minimum: binaryRule(
    "minimum",
    (g, a, b) => mul(g, tieWeight(a, b, "greater")),
    (g, a, b) => mul(g, tieWeight(b, a, "greater")),
  ),

  tanhGrad: gradRule("tanhGrad", (ct, y, g) => mul(mul(ct, g), mul(y, -2))),
  sigmoidGrad: gradRule("sigmoidGrad", (ct, y, g) => mul(mul(ct, g), sub(1, mul(y, 2)))),
  reluGrad: gradRule("reluGrad", null), // the relu mask is piecewise constant in x

  where: {
    name: "where",
    forward: ([cond, a, b]) => {
      const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, "where"), b.shape, "where");
      const out = uninitialized(a.dtype, shape);
      select(cond.data, cond.shape, a.data, a.shape, b.data, b.shape, out.data, shape);
      return out;
    },
    vjp: (g, { inputs: [cond, a, b] }, needs) => {
      const zero = scalar(0, g.dtype);
      return [
        null,
        needs[1] ? unbroadcast(where(cond, g, zero), a.shape) : null,
        needs[2] ? unbroadcast(where(cond, zero, g), b.shape) : null,
      ];
    },
  },
};

/** A unary rule's tangent: t·f′(x), given as a function of the tangent, the input and the output. */
function unaryJvp<P extends UnaryPrimitive>(dy: (t: Tensor, x: Tensor, y: Tensor) => Tensor): JvpTable<P>[P] {
  return ([t], { inputs: [x], output }) => (t === null ? null : dy(t, x, output));
}

/** A binary rule's tangent: ta·∂y/∂a + tb·∂y/∂b, each term at the output's (broadcast) shape. */
function binaryJvp<P extends BinaryPrimitive>(
  da: (t: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor,
  db: (t: Tensor, a: Tensor, b: Tensor, y: Tensor) => Tensor,
): JvpTable<P>[P] {
  return ([ta, tb], { inputs: [a, b], output }) => {
    const termA = ta === null ? null : da(ta, a, b, output);
    const termB = tb === null ? null : db(tb, a, b, output);
    // The sum of both terms broadcasts to the output's shape by itself; a lone term may need expanding.
    const sum = addTangents(termA, termB);
    return sum === null ? null : fitTangent(sum, output.shape);
  };
}

/**
 * Forward-mode rules of the elementwise primitives: the same derivatives as the vjps above, applied to
 * an input tangent instead of an output cotangent (elementwise Jacobians are diagonal, so the two agree
 * up to broadcasting).
 */
export const elementwiseJvpRules: JvpTable<ElementwisePrimitive> = {
  neg: unaryJvp((t) => neg(t)),
  exp: unaryJvp((t, _x, y) => mul(t, y)),
  log: unaryJvp((t, x) => div(t, x)),
  sqrt: unaryJvp((t, _x, y) => div(t, mul(y, 2))),
  abs: unaryJvp((t, x) => mul(t, sign(x))),
  square: unaryJvp((t, x) => mul(t, mul(x, 2))),
  tanh: unaryJvp((t, _x, y) => apply(elementwiseRules.tanhGrad, [y, t], null)),
  sigmoid: unaryJvp((t, _x, y) => apply(elementwiseRules.sigmoidGrad, [y, t], null)),
  relu: unaryJvp((t, x) => apply(elementwiseRules.reluGrad, [x, t], null)),
  softplus: unaryJvp((t, x) => mul(t, sigmoid(x))),
  erf: unaryJvp((t, x) => mul(t, mul(exp(neg(square(x))), TWO_OVER_SQRT_PI))),

  add: binaryJvp(
    (t) => t,
    (t) => t,
  ),
  sub: binaryJvp(
    (t) => t,
    (t) => neg(t),
  ),
  mul: binaryJvp(
    (t, _a, b) => mul(t, b),
    (t, a) => mul(t, a),
  ),
  div: binaryJvp(
    (t, _a, b) => div(t, b),
    (t, _a, b, y) => neg(div(mul(t, y), b)),
  ),
  pow: binaryJvp(
    (t, a, b) => mul(t, powBaseGrad(a, b)),
    (t, a, _b, y) => mul(t, mul(y, log(where(equal(a, 0), scalar(1, a.dtype), a)))),
  ),
  // The same constant shares as the vjps (tieWeight's third argument says what loses).
  maximum: binaryJvp(
    (t, a, b) => mul(t, tieWeight(a, b, "less")),
    (t, a, b) => mul(t, tieWeight(b, a, "less")),
  ),
  minimum: binaryJvp(
    (t, a, b) => mul(t, tieWeight(a, b, "greater")),
    (t, a, b) => mul(t, tieWeight(b, a, "greater")),
  ),

  // tanhGrad(y, g) = g·(1 − y²): linear in g, and −2·g·y in y.
  tanhGrad: ([ty, tg], { inputs: [y, g] }) =>
    addTangents(
      tg === null ? null : apply(elementwiseRules.tanhGrad, [y, tg], null),
      ty === null ? null : mul(mul(ty, g), mul(y, -2)),
    ),
  // sigmoidGrad(y, g) = g·y·(1 − y): linear in g, and g·(1 − 2y) in y.
  sigmoidGrad: ([ty, tg], { inputs: [y, g] }) =>
    addTangents(
      tg === null ? null : apply(elementwiseRules.sigmoidGrad, [y, tg], null),
      ty === null ? null : mul(mul(ty, g), sub(1, mul(y, 2))),
    ),
  // reluGrad(x, g) = g·[x > 0]: the mask is piecewise constant in x.
  reluGrad: ([, tg], { inputs: [x] }) =>
    tg === null ? null : apply(elementwiseRules.reluGrad, [x, tg], null),

  where: ([, ta, tb], { inputs: [cond], output }) => {
    if (ta === null && tb === null) return null;
    const zero = scalar(0, output.dtype);
    return fitTangent(where(cond, ta ?? zero, tb ?? zero), output.shape);
  },
};

/**
 * d/da a^b = b·a^(b−1), taken as 0 where b == 0 (as PyTorch does): there 0·a^(−1) is NaN at a = 0.
 * The exponent is replaced by 1 where b == 0 (so the product is 0·a^0) rather than masking the result,
 * whose own gradient would again meet 0·Inf.
 */
function powBaseGrad(a: Tensor, b: Tensor): Tensor {
  // A batched b is not read (its values are per example): the safe form is right for every b.
  const safe = isBatched(b) || b.data.includes(0) ? where(equal(b, 0), scalar(1, b.dtype), b) : b;
  return mul(b, pow(a, sub(safe, 1)));
}

/**
 * The share of the cotangent x gets from maximum/minimum(x, y), a constant mask: 0 where x loses
 * (`loses` is "less" for maximum), ½ on ties, 1 otherwise. Written as 1 − lose − ½·tie, PyTorch's
 * rule (torch 1.13), so that where either operand is NaN (every comparison false) BOTH operands get the
 * whole cotangent: the NaN output then carries its gradient to the NaN side instead of silently 0.
 */
function tieWeight(x: Tensor, y: Tensor, loses: "greater" | "less"): Tensor {
  const lifted = liftElementwise([x, y], (a, b) => tieWeight(a, b, loses));
  if (lifted !== null) return lifted;
  const lose = mapBinary(loses, x, y);
  const tie = mapBinary("equal", x, y);
  const dtype = lose.dtype;
  return mapBinary(
    "sub",
    mapBinary("sub", scalar(1, dtype), lose),
    mapBinary("mul", tie, scalar(0.5, dtype)),
  );
}

function unaryOp(name: UnaryPrimitive, x: Tensor): Tensor {
  checkTensor(x, name);
  requireFloat(x, name);
  return apply(elementwiseRules[name] as Rule<Primitive>, [x], null as never);
}

function binaryOp(name: BinaryPrimitive, a: Operand, b: Operand): Tensor {
  let ta: Tensor;
  let tb: Tensor;
  try {
    [ta, tb] = coerce(a, b, name); // may cast float32 to float64: errors there name this op
  } catch (e) {
    throw relabelError(e, name);
  }
  if ((name === "div" || name === "pow") && ta.dtype === "int32") {
    throw new DTypeError(
      `${name}: int32 operands of shapes ${formatShape(ta.shape)} and ${formatShape(tb.shape)} are not supported; cast to a float dtype first`,
    );
  }
  return apply(elementwiseRules[name] as Rule<Primitive>, [ta, tb], null as never);
}

export const neg = (x: Tensor): Tensor => unaryOp("neg", x);
export const exp = (x: Tensor): Tensor => unaryOp("exp", x);
export const log = (x: Tensor): Tensor => unaryOp("log", x);
export const sqrt = (x: Tensor): Tensor => unaryOp("sqrt", x);
export const abs = (x: Tensor): Tensor => unaryOp("abs", x);
export const square = (x: Tensor): Tensor => unaryOp("square", x);
export const tanh = (x: Tensor): Tensor => unaryOp("tanh", x);
export const sigmoid = (x: Tensor): Tensor => unaryOp("sigmoid", x);
export const relu = (x: Tensor): Tensor => unaryOp("relu", x);
export const softplus = (x: Tensor): Tensor => unaryOp("softplus", x);
export const erf = (x: Tensor): Tensor => unaryOp("erf", x);

export const add = (a: Operand, b: Operand): Tensor => binaryOp("add", a, b);
export const sub = (a: Operand, b: Operand): Tensor => binaryOp("sub", a, b);
export const mul = (a: Operand, b: Operand): Tensor => binaryOp("mul", a, b);
export const div = (a: Operand, b: Operand): Tensor => binaryOp("div", a, b);
export const pow = (a: Operand, b: Operand): Tensor => binaryOp("pow", a, b);
export const maximum = (a: Operand, b: Operand): Tensor => binaryOp("maximum", a, b);
export const minimum = (a: Operand, b: Operand): Tensor => binaryOp("minimum", a, b);

/** where(cond, a, b): a where cond is nonzero, else b (broadcast). cond gets no gradient. */
export const where = composite("where", function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  checkTensor(cond, "where", "cond");
  if (typeof a === "number" && typeof b === "number") {
    // Two numbers take cond's float dtype (or the default one), like a number operand takes its tensor's.
    a = scalar(a, cond.dtype === "int32" ? getDefaultDtype() : cond.dtype);
  }
  const [ta, tb] = coerce(a, b, "where");
  return apply(elementwiseRules.where, [cond, ta, tb], null);
});

// ---- non-differentiable elementwise functions: outputs never require grad ----

/** Puts a comparison or sign on the tapes that asked for non-differentiable ops (see record). */
function recorded(op: NonDifferentiableOp, inputs: Tensor[], out: Tensor): Tensor {
  recordNonDifferentiable(op, null as never, inputs, out);
  return out;
}

function constantBinary(op: BinaryOp, a: Operand, b: Operand): Tensor {
  const [ta, tb] = coerce(a, b, op);
  return (
    liftElementwise([ta, tb], (x, y) => constantBinary(op, x, y)) ??
    recorded(op as NonDifferentiableOp, [ta, tb], mapBinary(op, ta, tb))
  );
}

/** 1 where a > b else 0, in the operands' dtype. Not differentiable. */
export const greater = (a: Operand, b: Operand): Tensor => constantBinary("greater", a, b);
export const greaterEqual = (a: Operand, b: Operand): Tensor => constantBinary("greaterEqual", a, b);
export const less = (a: Operand, b: Operand): Tensor => constantBinary("less", a, b);
export const lessEqual = (a: Operand, b: Operand): Tensor => constantBinary("lessEqual", a, b);
export const equal = (a: Operand, b: Operand): Tensor => constantBinary("equal", a, b);
export const notEqual = (a: Operand, b: Operand): Tensor => constantBinary("notEqual", a, b);

/** -1, 0 or 1 by the sign of each element. Not differentiable (its derivative is 0 almost everywhere). */
export function sign(x: Tensor): Tensor {
  checkTensor(x, "sign");
  return liftElementwise([x], sign) ?? recorded("sign", [x], mapUnary("sign", x));
}

// ---- batching rules (vmap) -------------------------------------------------------------------------

/** The fused gradients read y and g element for element (no broadcasting): both get the batch axis. */
function gradBatch<P extends GradPrimitive>(): BatchRule<P> {
  return ({ rule, values: [y, g], dims: [dy, dg], params, size }) => {
    if (dy === dg) return { value: apply(rule, [y, g], params), dim: dy };
    return { value: apply(rule, [materialize(y, dy, size), materialize(g, dg, size)], params), dim: 0 };
  };
}

/** Elementwise primitives batch in place when the batch axes line up (alignElementwise). */
export const elementwiseBatchRules: BatchRuleTable<ElementwisePrimitive> = {
  neg: elementwiseBatch(),
  exp: elementwiseBatch(),
  log: elementwiseBatch(),
  sqrt: elementwiseBatch(),
  abs: elementwiseBatch(),
  square: elementwiseBatch(),
  tanh: elementwiseBatch(),
  sigmoid: elementwiseBatch(),
  relu: elementwiseBatch(),
  softplus: elementwiseBatch(),
  erf: elementwiseBatch(),
  add: elementwiseBatch(),
  sub: elementwiseBatch(),
  mul: elementwiseBatch(),
  div: elementwiseBatch(),
  pow: elementwiseBatch(),
  maximum: elementwiseBatch(),
  minimum: elementwiseBatch(),
  tanhGrad: gradBatch(),
  sigmoidGrad: gradBatch(),
  reluGrad: gradBatch(),
  where: elementwiseBatch(),
};
