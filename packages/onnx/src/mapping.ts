import type {
  DType,
  NonDifferentiableOp,
  NonDifferentiableParams,
  Primitive,
  PrimitiveParams,
} from "@tapegrad/autograd";
import type { Dim, GraphBuilder } from "./builder.js";
import { convTransposeUnrolled, convUnrolled } from "./conv-unrolled.js";
import { type AttrValue, ELEM, tensorProto } from "./proto.js";

/** What a mapping sees of one recorded node, and how it emits ONNX nodes for it. */
export interface EmitContext<Params> {
  readonly params: Params;
  /** ONNX value names of the node's inputs, in argument order. */
  readonly inputs: readonly string[];
  readonly inputDtypes: readonly DType[];
  readonly inputShapes: readonly (readonly Dim[])[];
  readonly outShape: readonly Dim[];
  readonly dtype: DType;
  readonly opset: number;
  readonly b: GraphBuilder;
  /** A numeric parameter as a function of the batch size (from the two recordings). */
  paramDim(get: (p: Params) => number): Dim;
  /** Emits one ONNX node; the last one emitted is the node's output. Returns its output name(s). */
  op(type: string, inputs: readonly string[], attrs?: Record<string, AttrValue>, outputs?: number): string;
  opMulti(
    type: string,
    inputs: readonly string[],
    outputs: number,
    attrs?: Record<string, AttrValue>,
  ): string[];
}

/** How a primitive becomes ONNX: emit returns the ONNX value holding the primitive's output. */
export interface OnnxMapping<Params> {
  /** The ONNX ops it emits, for the table in the docs. */
  readonly onnx: string;
  readonly minOpset?: number;
  emit(ctx: EmitContext<Params>): string;
}

/** An explicit "no ONNX form", with the reason shown in the export error. */
export interface UnmappedReason {
  readonly unmapped: string;
}

export type MappingTable = { readonly [P in Primitive]: OnnxMapping<PrimitiveParams[P]> | UnmappedReason };
export type NonDifferentiableTable = {
  readonly [O in NonDifferentiableOp]: OnnxMapping<NonDifferentiableParams[O]> | UnmappedReason;
};

const unary = (type: string): OnnxMapping<null> => ({ onnx: type, emit: (c) => c.op(type, c.inputs) });
const binary = (type: string): OnnxMapping<null> => ({ onnx: type, emit: (c) => c.op(type, c.inputs) });
const one = <T>(c: EmitContext<T>, v = 1): string => c.b.scalar(v, c.dtype, "one");

/** Reductions: axes are an input from opset 13 (ReduceSum) or 18 (the others), an attribute before. */
function reduce(
  c: EmitContext<unknown>,
  type: string,
  axes: readonly number[],
  keepdims: boolean,
  axesInputFrom: number,
): string {
  if (axes.length === 0) return c.op("Identity", c.inputs);
  const k = keepdims ? 1 : 0;
  if (c.opset >= axesInputFrom) return c.op(type, [c.inputs[0], c.b.ints(axes, "axes")], { keepdims: k });
  return c.op(type, [c.inputs[0]], { axes: [...axes], keepdims: k });
}

/** Swaps the last two axes (for matmul's transpose flags on operands of rank > 2). */
function swapLast(c: EmitContext<unknown>, x: string, rank: number): string {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return c.op("Transpose", [x], { perm });
}

/** Zeros of the node's output shape (the base that the scatter-adds add into). */
function zerosOfOutput(c: EmitContext<unknown>): string {
  return c.op("ConstantOfShape", [c.b.shape(c.outShape, "zeros")], {
    value: tensorProto("value", c.dtype, [1], [0]),
  });
}

/** A comparison: ONNX gives bool, tapegrad 0/1 in the operands' dtype. */
const compare = (type: string, negate = false): OnnxMapping<null> => ({
  onnx: `${type}${negate ? " + Not" : ""} + Cast`,
  emit: (c) => {
    let out = c.op(type, c.inputs);
    if (negate) out = c.op("Not", [out]);
    return c.op("Cast", [out], { to: castCode(c.dtype) });
  },
});

const castCode = (d: DType): number => ELEM[d];

/** log1p(x) = log(u)·x/(u − 1) with u = 1 + x (exact where u = 1): Goldberg's trick keeps tiny x accurate. */
const log1p: OnnxMapping<null> = {
  onnx: "Add, Log, Sub, Div, Mul, Equal, Where",
  emit: (c) => {
    const x = c.inputs[0];
    const u = c.op("Add", [x, one(c)]);
    const um1 = c.op("Sub", [u, one(c)]);
    const ratio = c.op("Mul", [c.op("Log", [u]), c.op("Div", [x, um1])]);
    return c.op("Where", [c.op("Equal", [u, one(c)]), x, ratio]);
  },
};

/** expm1(x) = (u − 1)·x/log(u) with u = eˣ (exact where u = 1): Kahan's trick keeps tiny x accurate. */
const expm1: OnnxMapping<null> = {
  onnx: "Exp, Sub, Log, Div, Mul, Equal, Where",
  emit: (c) => {
    const x = c.inputs[0];
    const u = c.op("Exp", [x]);
    const um1 = c.op("Sub", [u, one(c)]);
    const ratio = c.op("Mul", [um1, c.op("Div", [x, c.op("Log", [u])])]);
    return c.op("Where", [c.op("Equal", [u, one(c)]), x, ratio]);
  },
};

/**
 * softplus(x) = max(x, 0) + log1p(e^−|x|), the stable form tapegrad computes (onnxruntime's Softplus
 * kernel is float32 only).
 */
const softplus: OnnxMapping<null> = {
  onnx: "Relu, Abs, Neg, Exp, log1p (as above), Add",
  emit: (c) => {
    const x = c.inputs[0];
    const e = c.op("Exp", [c.op("Neg", [c.op("Abs", [x])])]);
    const l = log1p.emit({ ...c, inputs: [e] });
    return c.op("Add", [c.op("Relu", [x]), l]);
  },
};

/** 2ⁿ/(2n+1)!! for n < ERF_TERMS, each correctly rounded (exact BigInt ratio, then one rounding). */
const ERF_TERMS = 160;
const erfCoefficients = (() => {
  const out: number[] = [];
  let doubleFactorial = 1n;
  for (let n = 0; n < ERF_TERMS; n++) {
    doubleFactorial *= BigInt(2 * n + 1);
    // 2ⁿ/d with 80 significant bits of quotient: scale by 2^s, divide, round once when converting.
    const s = Math.max(0, doubleFactorial.toString(2).length - n + 80);
    const q = (1n << BigInt(n + s)) / doubleFactorial;
    out.push(Number(q) * 2 ** -s);
  }
  return out;
})();

/**
 * erf: ONNX's Erf, except in float64, where onnxruntime's CPU kernel is missing (float32 only). There,
 * erf(x) = sign(x)·2/√π·e^(−x²)·|x|·Σ (x²)ⁿ·2ⁿ/(2n+1)!!, a series of positive terms (no cancellation)
 * summed over one extra axis of 160 terms; |x| is capped at 6, where erf is 1 in double precision.
 * Agrees with mpmath within 6e-16 on [−7, 7] (numpy check).
 */
const erf: OnnxMapping<null> = {
  onnx: "Erf (float32); float64: Abs, Min, Unsqueeze, Mul, Pow, ReduceSum, Exp, Neg, Sign (series)",
  emit: (c) => {
    const x = c.inputs[0];
    if (c.dtype !== "float64") return c.op("Erf", [x]);
    const ax = c.op("Min", [c.op("Abs", [x]), c.b.scalar(6, "float64", "erf_cap")]);
    const x2 = c.op("Mul", [ax, ax]);
    const powers = c.b.constant(
      "float64",
      [ERF_TERMS],
      erfCoefficients.map((_, n) => n),
      "erf_n",
    );
    const terms = c.op("Mul", [
      c.op("Pow", [c.op("Unsqueeze", [x2, c.b.ints([-1], "last_axis")]), powers]),
      c.b.constant("float64", [ERF_TERMS], erfCoefficients, "erf_coefficients"),
    ]);
    const series = c.op("ReduceSum", [terms, c.b.ints([-1], "last_axis")], { keepdims: 0 });
    const gauss = c.op("Exp", [c.op("Neg", [x2])]);
    const scaled = c.op("Mul", [
      c.op("Mul", [series, ax]),
      c.op("Mul", [gauss, c.b.scalar(2 / Math.sqrt(Math.PI), "float64", "two_over_sqrt_pi")]),
    ]);
    return c.op("Mul", [scaled, c.op("Sign", [x])]);
  },
};

export const primitiveMappings: MappingTable = {
  neg: unary("Neg"),
  exp: unary("Exp"),
  log: unary("Log"),
  sqrt: unary("Sqrt"),
  abs: unary("Abs"),
  square: { onnx: "Mul(x, x)", emit: (c) => c.op("Mul", [c.inputs[0], c.inputs[0]]) },
  tanh: unary("Tanh"),
  sigmoid: unary("Sigmoid"),
  relu: unary("Relu"),
  softplus,
  erf,
  sin: unary("Sin"),
  cos: unary("Cos"),
  log1p,
  expm1,
  add: binary("Add"),
  sub: binary("Sub"),
  mul: binary("Mul"),
  div: binary("Div"),
  pow: binary("Pow"),
  maximum: binary("Max"),
  minimum: binary("Min"),
  // The fused activation gradients only appear in a forward that itself takes a gradient (createGraph);
  // their formulas are plain elementwise ops. Inputs: the saved activation (or input) and the cotangent.
  tanhGrad: {
    onnx: "Mul, Sub (ct·(1 − y²))",
    emit: (c) => {
      const [y, ct] = c.inputs;
      return c.op("Mul", [ct, c.op("Sub", [one(c), c.op("Mul", [y, y])])]);
    },
  },
  sigmoidGrad: {
    onnx: "Mul, Sub (ct·y·(1 − y))",
    emit: (c) => {
      const [y, ct] = c.inputs;
      return c.op("Mul", [ct, c.op("Mul", [y, c.op("Sub", [one(c), y])])]);
    },
  },
  reluGrad: {
    onnx: "Greater, Cast, Mul (ct·[x > 0])",
    emit: (c) => {
      const [x, ct] = c.inputs;
      const mask = c.op("Cast", [c.op("Greater", [x, one(c, 0)])], { to: castCode(c.dtype) });
      return c.op("Mul", [ct, mask]);
    },
  },
  where: {
    onnx: "Cast(cond, bool) + Where",
    emit: (c) => {
      const [cond, a, b] = c.inputs;
      return c.op("Where", [c.op("Cast", [cond], { to: ELEM.bool }), a, b]);
    },
  },
  matmul: {
    onnx: "MatMul (+ Transpose for the flags); rank-2 operands: Gemm with transA/transB (+ bias as C)",
    emit: (c) => {
      let [a, b] = c.inputs;
      const [ra, rb] = c.inputShapes.map((s) => s.length);
      const { transA, transB } = c.params;
      if (ra === 2 && rb === 2)
        return c.op("Gemm", [a, b], { transA: transA ? 1 : 0, transB: transB ? 1 : 0 });
      if (transA && ra >= 2) a = swapLast(c, a, ra);
      if (transB && rb >= 2) b = swapLast(c, b, rb);
      return c.op("MatMul", [a, b]);
    },
  },
  sum: {
    onnx: "ReduceSum (axes input)",
    emit: (c) => reduce(c, "ReduceSum", c.params.axes, c.params.keepdims, 13),
  },
  max: {
    onnx: "ReduceMax (axes attribute below opset 18)",
    emit: (c) => reduce(c, "ReduceMax", c.params.axes, c.params.keepdims, 18),
  },
  min: {
    onnx: "ReduceMin (axes attribute below opset 18)",
    emit: (c) => reduce(c, "ReduceMin", c.params.axes, c.params.keepdims, 18),
  },
  prod: {
    onnx: "ReduceProd (keepdims)",
    emit: (c) => reduce(c, "ReduceProd", [c.params.axis], true, 18),
  },
  cumsum: {
    onnx: "CumSum (reverse attribute)",
    emit: (c) =>
      c.op("CumSum", [c.inputs[0], c.b.scalar(c.params.axis, "int64", "axis")], {
        reverse: c.params.reverse ? 1 : 0,
      }),
  },
  reshape: {
    onnx: "Reshape (the batch dim from Shape when dynamic)",
    emit: (c) => c.op("Reshape", [c.inputs[0], c.b.shape(c.outShape, "reshape")]),
  },
  transpose: { onnx: "Transpose", emit: (c) => c.op("Transpose", c.inputs, { perm: [...c.params.perm] }) },
  broadcastTo: {
    onnx: "Expand",
    emit: (c) => c.op("Expand", [c.inputs[0], c.b.shape(c.outShape, "expand")]),
  },
  slice: {
    onnx: "Slice (starts, ends, axes, steps)",
    emit: (c) => {
      const { axis, step } = c.params;
      const dim = c.inputShapes[0][axis];
      const start = c.paramDim((p) => p.start);
      let end = c.paramDim((p) => p.end);
      // Up to the end of a batch-sized axis: INT64_MAX-like "to the end", whatever B is.
      if (end.a === dim.a && end.c === dim.c && end.a !== 0) end = { a: 0, c: 2 ** 31 - 1 };
      return c.op("Slice", [
        c.inputs[0],
        c.b.shape([start], "starts"),
        c.b.shape([end], "ends"),
        c.b.ints([axis], "axes"),
        c.b.ints([step], "steps"),
      ]);
    },
  },
  pad: {
    onnx: "Pad (constant 0)",
    emit: (c) => {
      const rank = c.inputShapes[0].length;
      const pads = new Array<number>(2 * rank).fill(0);
      pads[c.params.axis] = c.params.before;
      pads[rank + c.params.axis] = c.params.after;
      return c.op("Pad", [c.inputs[0], c.b.ints(pads, "pads")], { mode: "constant" });
    },
  },
  concat: { onnx: "Concat", emit: (c) => c.op("Concat", c.inputs, { axis: c.params.axis }) },
  gather: { onnx: "Gather", emit: (c) => c.op("Gather", c.inputs, { axis: c.params.axis }) },
  scatterAdd: {
    onnx: "Reshape + Expand (indices), ConstantOfShape, ScatterElements(reduction add)",
    minOpset: 16,
    emit: (c) => {
      const [g, index] = c.inputs;
      const { axis } = c.params;
      const gShape = c.inputShapes[0];
      const view = gShape.map((_, d) => (d === axis ? -1 : 1));
      const idx = c.op("Expand", [
        c.op("Reshape", [index, c.b.ints(view, "index_view")]),
        c.b.shape(gShape, "g"),
      ]);
      return c.op("ScatterElements", [zerosOfOutput(c), idx, g], { axis, reduction: "add" });
    },
  },
  takeAlongAxis: {
    onnx: "GatherElements",
    emit: (c) => c.op("GatherElements", c.inputs, { axis: c.params.axis }),
  },
  scatterAddAlongAxis: {
    onnx: "ConstantOfShape, ScatterElements(reduction add)",
    minOpset: 16,
    emit: (c) => {
      const [src, index] = c.inputs;
      return c.op("ScatterElements", [zerosOfOutput(c), index, src], {
        axis: c.params.axis,
        reduction: "add",
      });
    },
  },
  cast: { onnx: "Cast", emit: (c) => c.op("Cast", c.inputs, { to: castCode(c.params.dtype) }) },
  conv: {
    onnx: "Conv (kernel_shape, strides, pads, dilations, group; the bias as the third input); float64: im2col by strided Slices + MatMul",
    emit: (c) => (c.dtype === "float64" ? convUnrolled(c) : c.op("Conv", c.inputs, convAttrs(c.params))),
  },
  convInputGrad: {
    onnx: "ConvTranspose (output_padding restores the input size); float64: MatMul + col2im by Pad and Add",
    emit: (c) => {
      if (c.dtype === "float64") return convTransposeUnrolled(c);
      const p = c.params;
      const outPad = [
        p.h - ((p.oh - 1) * p.sh + (p.kh - 1) * p.dh + 1 - 2 * p.ph),
        p.w - ((p.ow - 1) * p.sw + (p.kw - 1) * p.dw + 1 - 2 * p.pw),
      ];
      return c.op("ConvTranspose", c.inputs, { ...convAttrs(p), output_padding: outPad });
    },
  },
  convWeightGrad: {
    unmapped:
      "a convolution's weight gradient only appears in a forward that differentiates through a convolution (second order); ONNX has no op for it",
  },
  custom: {
    unmapped:
      "a customOp's forward is arbitrary JavaScript with no ONNX form; write it with tapegrad's primitives to export it",
  },
};

/** The sliding-window fields of conv's and pooling's parameters. */
interface Window {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  groups?: number;
}

function convAttrs(p: Window): Record<string, AttrValue> {
  return {
    kernel_shape: [p.kh, p.kw],
    strides: [p.sh, p.sw],
    pads: [p.ph, p.pw, p.ph, p.pw],
    dilations: [p.dh, p.dw],
    ...(p.groups === undefined ? {} : { group: p.groups }),
  };
}

/** MaxPool's attributes for maxPool2d's window (the exporter also uses them for its plain MaxPool). */
export function maxPoolAttrs(p: NonDifferentiableParams["maxPoolArgmax"]): Record<string, AttrValue> {
  return { ...convAttrs(p), ceil_mode: p.ceil ? 1 : 0 };
}

export const nonDifferentiableMappings: NonDifferentiableTable = {
  greater: compare("Greater"),
  greaterEqual: compare("GreaterOrEqual"),
  less: compare("Less"),
  lessEqual: compare("LessOrEqual"),
  equal: compare("Equal"),
  notEqual: compare("Equal", true),
  sign: unary("Sign"),
  detach: unary("Identity"),
  argmax: {
    onnx: "ArgMax + Cast(int32) (Reshape to 1-D first for the flattened form)",
    emit: (c) => argOp(c, "ArgMax"),
  },
  argmin: {
    onnx: "ArgMin + Cast(int32)",
    emit: (c) => argOp(c, "ArgMin"),
  },
  maxPoolArgmax: {
    onnx: "MaxPool (second output: flat indices) + Mod(H·W) + Reshape + Cast(int32)",
    emit: (c) => {
      const p = c.params;
      const [, indices] = c.opMulti("MaxPool", [c.inputs[0]], 2, maxPoolAttrs(p));
      const plane = c.op("Mod", [indices, c.b.scalar(p.h * p.w, "int64", "plane_size")]);
      const flat = c.op("Reshape", [plane, c.b.shape(c.outShape, "argmax")]);
      return c.op("Cast", [flat], { to: ELEM.int32 });
    },
  },
  argsort: {
    onnx: "TopK(k = n) indices + Cast(int32)",
    emit: (c) => {
      const { axis, descending } = c.params;
      const n = c.inputShapes[0][axis];
      const [, indices] = c.opMulti("TopK", [c.inputs[0], c.b.shape([n], "k")], 2, {
        axis,
        largest: descending ? 1 : 0,
        sorted: 1,
      });
      return c.op("Cast", [indices], { to: ELEM.int32 });
    },
  },
};

function argOp(c: EmitContext<{ axis: number | null }>, type: string): string {
  let x = c.inputs[0];
  let axis = c.params.axis;
  if (axis === null) {
    x = c.op("Reshape", [x, c.b.ints([-1], "flat")]);
    axis = 0;
  }
  return c.op("Cast", [c.op(type, [x], { axis, keepdims: 0 })], { to: ELEM.int32 });
}

export function isUnmapped<T>(m: OnnxMapping<T> | UnmappedReason): m is UnmappedReason {
  return "unmapped" in m;
}
