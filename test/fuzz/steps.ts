/**
 * The fuzzer's op catalogue: for every public op and Tensor method, a generator of one call with
 * random arguments (mostly valid, sometimes deliberately wrong: bad axes, bad shapes, wrong dtypes,
 * non-integer sizes, NaN parameters, wrong argument types), given the shape and dtype the chain has
 * reached. Each call carries the library call and the reference model's prediction (model.ts).
 */
import * as ag from "@tapegrad/autograd";
import { Tensor } from "@tapegrad/autograd";
import {
  argRef,
  BINARY_OPS,
  binaryRef,
  broadcastToRef,
  castOpRef,
  clampRef,
  concatRef,
  count,
  type DType,
  gatherRef,
  type Indices,
  invalid,
  leakyReluRef,
  matmulRef,
  type Operand,
  padRef,
  type Ref,
  reduceRef,
  reshapeRef,
  scatterAddRef,
  signRef,
  sliceRef,
  softmaxRef,
  squeezeRef,
  stackRef,
  transposeRef,
  UNARY_OPS,
  unaryRef,
  unsqueezeRef,
  whereRef,
} from "./model.js";
import { drawUniform, drawValues, type StepRng } from "./random.js";

export interface Call {
  /** The op the user called: every error must name it (`<op>:`). */
  op: string;
  /** The call as code, for counterexamples. */
  text: string;
  lib: (x: Tensor) => Tensor;
  ref: (x: Ref) => Ref;
  /** The WASM and JS backends must give the same bits (no exp-based kernel, no float32 GEMM). */
  exact: boolean;
}

/** 'any': every op, valid and invalid arguments, awkward values. 'smooth': float64, valid, differentiable, moderate values. */
export type Mode = "any" | "smooth";

export const DTYPES: readonly DType[] = ["float32", "float64", "int32"];

const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

export function toTensor(r: Ref): Tensor {
  return new Tensor(ARRAYS[r.dtype].from(r.data), r.shape.slice());
}

export function toRef(t: Tensor): Ref {
  return { shape: t.shape.slice(), dtype: t.dtype, data: Array.from(t.data) };
}

const fmt = (v: unknown): string =>
  typeof v === "number"
    ? Object.is(v, -0)
      ? "-0"
      : String(v)
    : v === undefined
      ? "undefined"
      : typeof v === "string"
        ? JSON.stringify(v)
        : Array.isArray(v)
          ? `[${v.map(fmt).join(", ")}]`
          : v === null
            ? "null"
            : JSON.stringify(v);

function describeRef(r: Ref): string {
  const body = r.data.length <= 6 ? `${fmt(r.data)}, ` : "";
  return `T(${body}[${r.shape}], ${r.dtype})`;
}

interface Gen {
  rng: StepRng;
  shape: number[];
  dtype: DType;
  mode: Mode;
  /** Draw deliberately wrong arguments this time. */
  bad: boolean;
}

function constant(g: Gen, shape: number[], dtype: DType): Ref {
  const n = count(shape);
  const data = g.mode === "smooth" ? drawUniform(g.rng, n, -1.5, 1.5) : drawValues(g.rng, dtype, n, 0.08);
  return { shape, dtype, data: dtype === "float32" ? data.map(Math.fround) : data };
}

function otherDtype(g: Gen): DType {
  if (g.mode === "smooth") return "float64";
  return g.rng.chance(0.7) ? g.dtype : g.rng.pick(DTYPES);
}

/** A shape that broadcasts with g.shape (or, when bad, probably does not). */
function shapeLike(g: Gen): number[] {
  const { rng, shape } = g;
  let s = shape.slice(rng.int(0, shape.length)).map((d) => (rng.chance(0.3) ? 1 : d));
  if (s.length === shape.length && s.length < 5 && rng.chance(0.15)) s = [rng.int(1, 2), ...s];
  if (g.bad && s.length > 0) s[rng.int(0, s.length - 1)] += rng.int(1, 2);
  return s;
}

const JUNK: readonly unknown[] = [null, "1", [1, 2], undefined, {}, true];

function axisArg(g: Gen, ndim: number): unknown {
  if (g.bad) return g.rng.pick<unknown>([ndim, -ndim - 1, 0.5, Number.NaN, "0", null, 1e9, [0]]);
  return ndim === 0 ? 0 : g.rng.int(-ndim, ndim - 1);
}

function axesArg(g: Gen): unknown {
  const nd = g.shape.length;
  const { rng } = g;
  if (g.bad) return rng.pick<unknown>([nd, -nd - 1, 0.5, [0, 0], [0, -nd], "0", Number.NaN, [nd]]);
  const r = rng.next();
  if (r < 0.3 || nd === 0) return rng.chance(0.8) ? undefined : [];
  if (r < 0.6) return rng.int(-nd, nd - 1);
  const axes = rng.shuffle(Array.from({ length: nd }, (_, i) => i)).slice(0, rng.int(1, nd));
  return axes.map((a) => (rng.chance(0.3) ? a - nd : a));
}

function operand(g: Gen): { value: number | Ref | unknown; operand: Operand | null; text: string } {
  const { rng } = g;
  if (g.bad && rng.chance(0.3)) {
    const junk = rng.pick(JUNK);
    return { value: junk, operand: null, text: fmt(junk) };
  }
  if (rng.chance(0.35)) {
    let v: number;
    if (g.mode === "smooth") v = Math.round(rng.next() * 30 - 15) / 10;
    else if (g.bad) v = rng.pick([0.5, -2.5, Number.NaN, Number.POSITIVE_INFINITY, 3e9, -2147483649]);
    else v = rng.pick([0, 1, -1, 2, 3, -7, 0.5, 1e-3, 2147483647]);
    return { value: v, operand: { num: v }, text: fmt(v) };
  }
  const r = constant(g, shapeLike(g), otherDtype(g));
  return { value: r, operand: { ref: r }, text: describeRef(r) };
}

/** Turns a drawn operand into what the library takes (a fresh tensor for a Ref). */
function live(value: unknown): unknown {
  return value !== null && typeof value === "object" && "dtype" in value && "data" in value
    ? toTensor(value as Ref)
    : value;
}

/** Operands that are not tensors or numbers are invalid in the model. */
function checkedOperand(o: Operand | null): Operand {
  if (o === null) invalid("operand is not a Tensor or a number");
  return o;
}

type Resolver = (g: Gen) => Call;

// exp and sigmoid run an exp kernel forward; softplus, erf and gelu use sigmoid or exp in their gradient.
const inexactUnary = new Set(["exp", "sigmoid", "softplus", "erf", "gelu"]);

const unaryResolvers: Record<string, Resolver> = Object.fromEntries(
  UNARY_OPS.map((op) => [
    op,
    (g: Gen): Call => {
      const method = g.rng.chance(0.5);
      const fn = (ag as unknown as Record<string, (x: Tensor) => Tensor>)[op];
      return {
        op,
        text: method ? `x.${op}()` : `${op}(x)`,
        lib: (x) => (method ? (x as unknown as Record<string, () => Tensor>)[op]() : fn(x)),
        ref: (x) => unaryRef(op, x),
        exact: !inexactUnary.has(op),
      };
    },
  ]),
);

/**
 * x combined with itself (x·x) or with its own row sums (x − x.sum(-1, keepdims)): the result depends
 * on x along two paths, so backward must add two cotangents for one leaf.
 */
function selfBinary(op: string, g: Gen): Call {
  const summed = g.shape.length > 0 && g.rng.chance(0.5);
  const other = (x: Tensor): Tensor => (summed ? x.sum(-1, true) : x);
  const otherRef = (x: Ref): Ref => (summed ? reduceRef("sum", x, -1, true) : x);
  const fn = (ag as unknown as Record<string, (a: unknown, b: unknown) => Tensor>)[op];
  const reversed = g.rng.chance(0.5);
  const o = summed ? "x.sum(-1, true)" : "x";
  return {
    op,
    text: reversed ? `${op}(${o}, x)` : `${op}(x, ${o})`,
    lib: (x) => (reversed ? fn(other(x), x) : fn(x, other(x))),
    ref: (x) =>
      reversed
        ? binaryRef(op, { ref: otherRef(x) }, { ref: x })
        : binaryRef(op, { ref: x }, { ref: otherRef(x) }),
    exact: true,
  };
}

function binaryResolver(op: string): Resolver {
  return (g) => {
    if (!g.bad && g.rng.chance(0.2)) return selfBinary(op, g);
    const o = operand(g);
    const form = g.rng.pick(["method", "fn", "fnReversed"] as const);
    const fn = (ag as unknown as Record<string, (a: unknown, b: unknown) => Tensor>)[op];
    const text =
      form === "method"
        ? `x.${op}(${o.text})`
        : form === "fn"
          ? `${op}(x, ${o.text})`
          : `${op}(${o.text}, x)`;
    return {
      op,
      text,
      lib: (x) => {
        const other = live(o.value);
        if (form === "method") return (x as unknown as Record<string, (b: unknown) => Tensor>)[op](other);
        return form === "fn" ? fn(x, other) : fn(other, x);
      },
      ref: (x) => {
        const other = checkedOperand(o.operand);
        return form === "fnReversed" ? binaryRef(op, other, { ref: x }) : binaryRef(op, { ref: x }, other);
      },
      exact: true,
    };
  };
}

const reductionResolver =
  (op: "sum" | "mean" | "max" | "min" | "logsumexp"): Resolver =>
  (g) => {
    const axes = axesArg(g);
    const keep: unknown = g.rng.pick([
      undefined,
      true,
      false,
      ...(g.bad && g.rng.chance(0.2) ? ["yes"] : []),
    ]);
    const method = g.rng.chance(0.5);
    const fn = (ag as unknown as Record<string, (...a: unknown[]) => Tensor>)[op];
    const args = keep === undefined ? (axes === undefined ? [] : [axes]) : [axes, keep];
    const text = method
      ? `x.${op}(${args.map(fmt).join(", ")})`
      : `${op}(x${args.map((a) => `, ${fmt(a)}`).join("")})`;
    return {
      op,
      text,
      lib: (x) =>
        method ? (x as unknown as Record<string, (...a: unknown[]) => Tensor>)[op](...args) : fn(x, ...args),
      ref: (x) => reduceRef(op, x, axes, keep),
      exact: op !== "logsumexp",
    };
  };

const argResolver =
  (op: "argmax" | "argmin"): Resolver =>
  (g) => {
    const axis = g.rng.chance(0.4) && !g.bad ? undefined : axisArg(g, g.shape.length);
    const args = axis === undefined ? [] : [axis];
    return {
      op,
      text: `x.${op}(${args.map(fmt).join(", ")})`,
      lib: (x) => (x as unknown as Record<string, (...a: unknown[]) => Tensor>)[op](...args),
      ref: (x) => argRef(op, x, axis),
      exact: true,
    };
  };

const softmaxResolver =
  (op: "softmax" | "logSoftmax"): Resolver =>
  (g) => {
    const axis = g.rng.chance(0.4) && !g.bad ? undefined : axisArg(g, g.shape.length);
    const args = axis === undefined ? [] : [axis];
    const method = g.rng.chance(0.5);
    const fn = (ag as unknown as Record<string, (...a: unknown[]) => Tensor>)[op];
    return {
      op,
      text: method
        ? `x.${op}(${args.map(fmt).join(", ")})`
        : `${op}(x${args.map((a) => `, ${fmt(a)}`).join("")})`,
      lib: (x) =>
        method ? (x as unknown as Record<string, (...a: unknown[]) => Tensor>)[op](...args) : fn(x, ...args),
      ref: (x) => softmaxRef(op, x, axis),
      exact: false,
    };
  };

const matmulResolver: Resolver = (g) => {
  const { rng, shape } = g;
  const nd = shape.length;
  const reversed = nd > 0 && rng.chance(0.25);
  let opts: unknown;
  let otherShape: number[];
  if (!reversed) {
    const transA = nd >= 2 && rng.chance(0.25);
    const k = nd === 0 ? rng.int(0, 3) : nd === 1 ? shape[0] : transA ? shape[nd - 2] : shape[nd - 1];
    const kk = g.bad && rng.chance(0.5) ? k + 1 : k;
    const n = rng.int(0, 3);
    const transB = rng.chance(0.25);
    const batch =
      nd > 2 && rng.chance(0.6)
        ? shape.slice(rng.int(0, nd - 2), nd - 2).map((d) => (rng.chance(0.3) ? 1 : d))
        : [];
    otherShape = !transB && rng.chance(0.25) ? [kk] : transB ? [...batch, n, kk] : [...batch, kk, n];
    opts =
      transA || transB
        ? { ...(transA ? { transposeA: true } : {}), ...(transB ? { transposeB: true } : {}) }
        : rng.pick([undefined, {}, { transposeA: false }]);
  } else {
    // other · x: x's rows are the inner dimension.
    const k = nd === 1 ? shape[0] : shape[nd - 2];
    otherShape = rng.chance(0.3) ? [k] : [rng.int(0, 3), k];
    opts = undefined;
  }
  if (g.bad && rng.chance(0.5))
    opts = rng.pick<unknown>([{ transposeA: 1 }, null, "T", { transposeB: "yes" }]);
  const other = constant(
    g,
    otherShape,
    g.mode === "smooth" ? "float64" : rng.chance(0.85) ? g.dtype : rng.pick(DTYPES),
  );
  const optText = opts === undefined ? "" : `, ${fmt(opts)}`;
  const float32 = (x: Ref): boolean => x.dtype === "float32" || other.dtype === "float32";
  let sawFloat32 = false;
  return {
    op: "matmul",
    text: reversed
      ? `matmul(${describeRef(other)}, x${optText})`
      : `x.matmul(${describeRef(other)}${optText})`,
    lib: (x) =>
      reversed
        ? ag.matmul(toTensor(other), x, opts as ag.MatmulOptions)
        : x.matmul(toTensor(other), opts as ag.MatmulOptions),
    ref: (x) => {
      sawFloat32 = float32(x) && x.dtype !== "float64" && other.dtype !== "float64";
      return reversed ? matmulRef(other, x, opts) : matmulRef(x, other, opts);
    },
    get exact() {
      // float32 GEMM rounds each multiply-add in WASM but not in JS; float64 follows the same order,
      // unless the WASM products fuse their multiply-adds (relaxed SIMD), which rounds them once.
      return !sawFloat32 && !ag.wasmFeatures().fusedMultiplyAdd;
    },
  };
};

/** A shape with the same element count: dims permuted, merged or split by 1s, maybe one -1. */
function reshapeTarget(g: Gen): unknown {
  const { rng } = g;
  if (g.bad) {
    const base = g.shape.length ? g.shape.slice() : [1];
    return rng.pick<unknown>([
      [...base.slice(1), (base[0] ?? 1) + 1],
      [-1, -1],
      [1.5, 2],
      [-2, ...base],
      "3",
      6,
      [Number.NaN],
    ]);
  }
  let dims = rng.shuffle(g.shape.slice());
  if (dims.length >= 2 && rng.chance(0.4)) dims = [dims[0] * dims[1], ...dims.slice(2)];
  while (dims.length < 5 && rng.chance(0.25)) dims.splice(rng.int(0, dims.length), 0, 1);
  const known = (i: number) => dims.filter((_, j) => j !== i).reduce((a, b) => a * b, 1);
  if (dims.length > 0 && rng.chance(0.3)) {
    const i = rng.int(0, dims.length - 1);
    if (known(i) !== 0) dims[i] = -1;
  }
  return dims;
}

function perm(g: Gen): unknown {
  const nd = g.shape.length;
  const { rng } = g;
  if (g.bad) return rng.pick<unknown>([5, "0", [0, 0], Array.from({ length: nd + 1 }, (_, i) => i), [nd]]);
  if (rng.chance(0.3)) return undefined;
  return rng.shuffle(Array.from({ length: nd }, (_, i) => i)).map((a) => (rng.chance(0.3) ? a - nd : a));
}

function indicesFor(g: Gen, n: number, len: number): { value: unknown; ind: Indices; text: string } {
  const { rng } = g;
  let list = Array.from({ length: len }, () => (n === 0 ? 0 : rng.int(-n, n - 1)));
  if (g.bad) {
    const kind = rng.int(0, 3);
    if (kind === 0) list = [...list, n];
    else if (kind === 1) return { value: [0.5], ind: { list: [0.5] }, text: "[0.5]" };
    else if (kind === 2) {
      const r: Ref = { shape: [list.length], dtype: "float32", data: list };
      return { value: r, ind: { ref: r }, text: describeRef(r) };
    } else {
      const r: Ref = { shape: [1, list.length], dtype: "int32", data: list };
      return { value: r, ind: { ref: r }, text: describeRef(r) };
    }
  }
  if (rng.chance(0.5)) return { value: list, ind: { list }, text: fmt(list) };
  const r: Ref = { shape: [list.length], dtype: "int32", data: list };
  return { value: r, ind: { ref: r }, text: describeRef(r) };
}

const layoutResolvers: Record<string, Resolver> = {
  reshape: (g) => {
    const target = reshapeTarget(g);
    return {
      op: "reshape",
      text: `x.reshape(${fmt(target)})`,
      lib: (x) => x.reshape(target as number[]),
      ref: (x) => reshapeRef(x, target),
      exact: true,
    };
  },
  transpose: (g) => {
    const p = perm(g);
    return {
      op: "transpose",
      text: `x.transpose(${p === undefined ? "" : fmt(p)})`,
      lib: (x) => x.transpose(p as number[]),
      ref: (x) => transposeRef(x, p),
      exact: true,
    };
  },
  T: () => ({
    op: "T",
    text: "x.T",
    lib: (x) => x.T,
    ref: (x) => (x.shape.length === 2 ? transposeRef(x, [1, 0]) : transposeRef(x, "not 2-D")),
    exact: true,
  }),
  broadcastTo: (g) => {
    const { rng } = g;
    let target: unknown = [
      ...Array.from({ length: g.shape.length < 5 && rng.chance(0.4) ? 1 : 0 }, () => rng.int(0, 3)),
      ...g.shape.map((d) => (d === 1 && rng.chance(0.5) ? rng.int(0, 3) : d)),
    ];
    if (g.bad)
      target = rng.pick<unknown>([[...g.shape.map((d) => d + 1)], g.shape.slice(1), [-1], "4", [2.5]]);
    return {
      op: "broadcastTo",
      text: `x.broadcastTo(${fmt(target)})`,
      lib: (x) => x.broadcastTo(target as number[]),
      ref: (x) => broadcastToRef(x, target),
      exact: true,
    };
  },
  squeeze: (g) => {
    const ones = g.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    const axis = g.bad
      ? axisArg(g, g.shape.length)
      : ones.length > 0 && g.rng.chance(0.6)
        ? g.rng.pick(ones)
        : undefined;
    return {
      op: "squeeze",
      text: `x.squeeze(${axis === undefined ? "" : fmt(axis)})`,
      lib: (x) => x.squeeze(axis as number),
      ref: (x) => squeezeRef(x, axis),
      exact: true,
    };
  },
  unsqueeze: (g) => {
    const nd = g.shape.length;
    const axis = g.bad ? g.rng.pick<unknown>([nd + 1, -nd - 2, 0.5, "0", undefined]) : g.rng.int(-nd - 1, nd);
    return {
      op: "unsqueeze",
      text: `x.unsqueeze(${fmt(axis)})`,
      lib: (x) => x.unsqueeze(axis as number),
      ref: (x) => unsqueezeRef(x, axis),
      exact: true,
    };
  },
  slice: (g) => {
    const axis = axisArg(g, g.shape.length);
    const n =
      typeof axis === "number" && Number.isInteger(axis) && g.shape.length > 0 ? (g.shape.at(axis) ?? 2) : 2;
    const start: unknown =
      g.bad && g.rng.chance(0.5) ? g.rng.pick([0.5, Number.NaN, "1"]) : g.rng.int(-n - 1, n + 1);
    const end: unknown = g.rng.chance(0.3) ? undefined : g.rng.int(-n - 1, n + 1);
    const args = end === undefined ? [axis, start] : [axis, start, end];
    return {
      op: "slice",
      text: `x.slice(${args.map(fmt).join(", ")})`,
      lib: (x) => (x.slice as (...a: unknown[]) => Tensor)(...args),
      ref: (x) => sliceRef(x, axis, start, end),
      exact: true,
    };
  },
  pad: (g) => {
    const axis = axisArg(g, g.shape.length);
    const before: unknown = g.bad && g.rng.chance(0.5) ? g.rng.pick([-1, 0.5, Number.NaN]) : g.rng.int(0, 2);
    const after = g.rng.int(0, 2);
    return {
      op: "pad",
      text: `x.pad(${fmt(axis)}, ${fmt(before)}, ${after})`,
      lib: (x) => x.pad(axis as number, before as number, after),
      ref: (x) => padRef(x, axis, before, after),
      exact: true,
    };
  },
  concat: (g) => {
    const { rng } = g;
    const nd = g.shape.length;
    const axis = g.bad && rng.chance(0.4) ? axisArg(g, nd) : nd === 0 ? 0 : rng.int(-nd, nd - 1);
    const ax = typeof axis === "number" && Number.isInteger(axis) && nd > 0 ? (axis + nd) % nd : 0;
    const shape = g.shape.slice();
    if (nd > 0) shape[ax] = rng.int(0, 3);
    if (g.bad && nd > 1) shape[(ax + 1) % nd] += 1;
    const other = constant(g, shape, otherDtype(g));
    const first = rng.chance(0.5);
    const single = !g.bad && rng.chance(0.1);
    const text = single
      ? `concat([x], ${fmt(axis)})`
      : first
        ? `concat([x, ${describeRef(other)}], ${fmt(axis)})`
        : `concat([${describeRef(other)}, x], ${fmt(axis)})`;
    return {
      op: "concat",
      text,
      lib: (x) =>
        ag.concat(single ? [x] : first ? [x, toTensor(other)] : [toTensor(other), x], axis as number),
      ref: (x) => concatRef(single ? [x] : first ? [x, other] : [other, x], axis),
      exact: true,
    };
  },
  stack: (g) => {
    const { rng } = g;
    const nd = g.shape.length;
    const axis = g.bad && rng.chance(0.5) ? rng.pick<unknown>([nd + 1, 0.5, "0"]) : rng.int(-nd - 1, nd);
    const shape = g.bad && nd > 0 ? g.shape.map((d, i) => (i === 0 ? d + 1 : d)) : g.shape.slice();
    const other = constant(g, shape, otherDtype(g));
    return {
      op: "stack",
      text: `stack([x, ${describeRef(other)}], ${fmt(axis)})`,
      lib: (x) => ag.stack([x, toTensor(other)], axis as number),
      ref: (x) => stackRef([x, other], axis),
      exact: true,
    };
  },
  gather: (g) => {
    const nd = g.shape.length;
    const axis = g.bad && g.rng.chance(0.3) ? axisArg(g, nd) : nd === 0 ? 0 : g.rng.int(-nd, nd - 1);
    const n = nd > 0 && typeof axis === "number" && Number.isInteger(axis) ? (g.shape.at(axis) ?? 0) : 0;
    const idx = indicesFor(g, n, g.rng.int(0, 4));
    const useDefault = axis === 0 && g.rng.chance(0.3);
    return {
      op: "gather",
      text: `x.gather(${idx.text}${useDefault ? "" : `, ${fmt(axis)}`})`,
      lib: (x) =>
        useDefault
          ? x.gather(live(idx.value) as number[])
          : x.gather(live(idx.value) as number[], axis as number),
      ref: (x) => gatherRef(x, idx.ind, useDefault ? undefined : axis),
      exact: true,
    };
  },
  scatterAdd: (g) => {
    const { rng } = g;
    const nd = g.shape.length;
    const axis = g.bad && rng.chance(0.2) ? axisArg(g, nd) : nd === 0 ? 0 : rng.int(-nd, nd - 1);
    const len = nd > 0 && typeof axis === "number" && Number.isInteger(axis) ? (g.shape.at(axis) ?? 0) : 0;
    let size: unknown = rng.int(len > 0 ? 1 : 0, 4);
    const sub = { ...g, bad: false };
    const idx = indicesFor(sub, size as number, len);
    if (g.bad) size = rng.pick<unknown>([-1, 2.5, Number.NaN, "3", len === 0 ? -1 : 0.5]);
    return {
      op: "scatterAdd",
      text: `x.scatterAdd(${idx.text}, ${fmt(axis)}, ${fmt(size)})`,
      lib: (x) => x.scatterAdd(live(idx.value) as number[], axis as number, size as number),
      ref: (x) => scatterAddRef(x, idx.ind, axis, size),
      exact: true,
    };
  },
  cast: (g) => {
    const dtype: unknown = g.bad ? g.rng.pick<unknown>(["float16", undefined, 32]) : g.rng.pick(DTYPES);
    return {
      op: "cast",
      text: `x.cast(${fmt(dtype)})`,
      lib: (x) => x.cast(dtype as DType),
      ref: (x) => castOpRef(x, dtype),
      exact: true,
    };
  },
  detach: () => ({ op: "detach", text: "x.detach()", lib: (x) => x.detach(), ref: (x) => x, exact: true }),
};

const otherResolvers: Record<string, Resolver> = {
  sign: () => ({ op: "sign", text: "x.sign()", lib: (x) => x.sign(), ref: signRef, exact: true }),
  leakyRelu: (g) => {
    const alpha: unknown = g.bad
      ? g.rng.pick<unknown>([Number.NaN, Number.POSITIVE_INFINITY, "0.1", null])
      : g.rng.pick([undefined, 0.01, 0.2, -1, 0]);
    return {
      op: "leakyRelu",
      text: `x.leakyRelu(${alpha === undefined ? "" : fmt(alpha)})`,
      lib: (x) => (alpha === undefined ? x.leakyRelu() : x.leakyRelu(alpha as number)),
      ref: (x) => leakyReluRef(x, alpha === undefined ? 0.01 : alpha),
      exact: true,
    };
  },
  clamp: (g) => {
    const { rng } = g;
    const draw = (): number =>
      g.dtype === "int32" && !g.bad
        ? rng.int(-5, 5)
        : rng.pick([-1, -0.5, 0, 0.25, 1, 2, -3e38, Number.NEGATIVE_INFINITY, 1e300]);
    let lo: unknown = draw();
    let hi: unknown = draw();
    if ((lo as number) > (hi as number) && !g.bad) [lo, hi] = [hi, lo];
    if (g.bad && rng.chance(0.4)) lo = rng.pick<unknown>([Number.NaN, "0", undefined]);
    const method = rng.chance(0.5);
    return {
      op: "clamp",
      text: method ? `x.clamp(${fmt(lo)}, ${fmt(hi)})` : `clamp(x, ${fmt(lo)}, ${fmt(hi)})`,
      lib: (x) => (method ? x.clamp(lo as number, hi as number) : ag.clamp(x, lo as number, hi as number)),
      ref: (x) => clampRef(x, lo, hi),
      exact: true,
    };
  },
  where: (g) => {
    const { rng } = g;
    const form = rng.int(0, 2);
    const o = operand(g);
    const condRef: Ref = { ...constant(g, shapeLike({ ...g, bad: false }), otherDtype(g)) };
    condRef.data = condRef.data.map((v) => (rng.chance(0.5) ? 0 : v));
    const text =
      form === 0
        ? `where(${describeRef(condRef)}, x, ${o.text})`
        : form === 1
          ? `where(${describeRef(condRef)}, ${o.text}, x)`
          : `where(x, ${o.text}, ${o.text})`;
    return {
      op: "where",
      text,
      lib: (x) => {
        const other = live(o.value) as Tensor;
        if (form === 0) return ag.where(toTensor(condRef), x, other);
        if (form === 1) return ag.where(toTensor(condRef), other, x);
        return ag.where(x, other, live(o.value) as Tensor);
      },
      ref: (x) => {
        const other = checkedOperand(o.operand);
        if (form === 0) return whereRef(condRef, { ref: x }, other);
        if (form === 1) return whereRef(condRef, other, { ref: x });
        return whereRef(x, other, other);
      },
      exact: true,
    };
  },
};

const reductions = ["sum", "mean", "max", "min", "logsumexp"] as const;

export const RESOLVERS: Record<string, Resolver> = {
  ...unaryResolvers,
  ...Object.fromEntries(BINARY_OPS.map((op) => [op, binaryResolver(op)])),
  ...Object.fromEntries(reductions.map((op) => [op, reductionResolver(op)])),
  argmax: argResolver("argmax"),
  argmin: argResolver("argmin"),
  softmax: softmaxResolver("softmax"),
  logSoftmax: softmaxResolver("logSoftmax"),
  matmul: matmulResolver,
  ...layoutResolvers,
  ...otherResolvers,
};

export const ALL_OPS = Object.keys(RESOLVERS);

/** Differentiable and smooth on moderate float64 values (no kinks, no poles, no overflow there). */
export const SMOOTH_OPS = [
  "add",
  "sub",
  "mul",
  "tanh",
  "sigmoid",
  "softplus",
  "erf",
  "gelu",
  "square",
  "exp",
  "sum",
  "mean",
  "logsumexp",
  "softmax",
  "logSoftmax",
  "matmul",
  "reshape",
  "transpose",
  "T",
  "broadcastTo",
  "squeeze",
  "unsqueeze",
  "slice",
  "pad",
  "concat",
  "stack",
  "gather",
  "scatterAdd",
  "where",
];

export function resolve(op: string, rng: StepRng, shape: number[], dtype: DType, mode: Mode): Call {
  const bad = mode === "any" && rng.chance(0.15);
  return RESOLVERS[op]({ rng, shape, dtype, mode, bad });
}
