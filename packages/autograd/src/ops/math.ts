import { type MathOp, unaryMath } from "../kernels/math.js";
import { apply } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { type BatchRuleTable, elementwiseBatch } from "./batching.js";
import { add, mul, neg } from "./elementwise.js";
import type { JvpTable, Rule, RuleTable } from "./primitive.js";
import { checkTensor, empty, requireFloat } from "./util.js";

function mathRule<P extends MathOp>(name: P, vjp: (g: Tensor, x: Tensor, y: Tensor) => Tensor): Rule<P> {
  return {
    name,
    forward: ([x]) => {
      const out = empty(x.dtype, x.shape);
      unaryMath(name, x.data, out.data);
      return out;
    },
    vjp: (g, { inputs, output }) => [vjp(g, inputs[0], output)],
  };
}

/** sin, cos, log1p, expm1: forward and vjp side by side; the vjps use tensor ops, so they differentiate again. */
export const mathRules: RuleTable<MathOp> = {
  sin: mathRule("sin", (g, x) => mul(g, cos(x))),
  cos: mathRule("cos", (g, x) => neg(mul(g, sin(x)))),
  log1p: mathRule("log1p", (g, x) => g.div(add(x, 1))),
  // d/dx (eˣ − 1) = eˣ = y + 1, from the saved output.
  expm1: mathRule("expm1", (g, _x, y) => mul(g, add(y, 1))),
};

/** Forward mode: t·f′(x) with the same derivatives as the vjps. */
export const mathJvpRules: JvpTable<MathOp> = {
  sin: ([t], { inputs: [x] }) => (t === null ? null : mul(t, cos(x))),
  cos: ([t], { inputs: [x] }) => (t === null ? null : neg(mul(t, sin(x)))),
  log1p: ([t], { inputs: [x] }) => (t === null ? null : t.div(add(x, 1))),
  expm1: ([t], { output }) => (t === null ? null : mul(t, add(output, 1))),
};

function mathOp(name: MathOp, x: Tensor): Tensor {
  checkTensor(x, name);
  requireFloat(x, name);
  return apply(mathRules[name] as Rule<MathOp>, [x], null);
}

export const sin = (x: Tensor): Tensor => mathOp("sin", x);
export const cos = (x: Tensor): Tensor => mathOp("cos", x);
/** log(1 + x), accurate for small |x| where 1 + x would round. */
export const log1p = (x: Tensor): Tensor => mathOp("log1p", x);
/** eˣ − 1, accurate for small |x|. */
export const expm1 = (x: Tensor): Tensor => mathOp("expm1", x);

// ---- batching rules (vmap) -------------------------------------------------------------------------

export const mathBatchRules: BatchRuleTable<MathOp> = {
  sin: elementwiseBatch(),
  cos: elementwiseBatch(),
  log1p: elementwiseBatch(),
  expm1: elementwiseBatch(),
};
