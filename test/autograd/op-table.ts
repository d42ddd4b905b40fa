/**
 * The op table: one entry per public op (like PyTorch's OpInfo), driving the generic property tests
 * in ops.test.ts. Each entry says which primitives it exercises, how to draw input shapes and values
 * (away from kinks where finite differences mean nothing), the op itself and a reference result.
 */

import type { Primitive, Tensor } from "@tapegrad/autograd";
import * as ag from "@tapegrad/autograd";
import fc from "fast-check";
import {
  broadcastShape,
  erfRef,
  mapN,
  matmulRef,
  reduceRef,
  type Shape,
  size,
  unravel,
} from "../support/reference.js";
import { convOpTable } from "./op-table-conv.js";
import { miscOpTable } from "./op-table-misc.js";

export interface RefTensor {
  data: ArrayLike<number>;
  shape: Shape;
}

export interface Domain {
  min: number;
  max: number;
  /** Keep |x − k| ≥ gap for every kink k. */
  kinks?: number[];
  gap?: number;
}

export interface Case {
  shapes: number[][];
  /** Extra op arguments (axes, indices, ...), drawn with the shapes. */
  args?: unknown;
}

export interface OpInfo {
  name: string;
  covers: Primitive[];
  cases: fc.Arbitrary<Case>;
  domain: Domain | Domain[];
  fn: (args: unknown, ...xs: Tensor[]) => Tensor;
  ref: (args: unknown, ...xs: RefTensor[]) => { data: ArrayLike<number>; shape: Shape };
  /** Twice differentiable on the domain: also checked with gradgradcheck. */
  smooth: boolean;
  /** Values must all be distinct (max/min ties). */
  distinct?: boolean;
}

const dim = fc.integer({ min: 1, max: 4 });
export const shapeArb = (minRank = 0, maxRank = 3): fc.Arbitrary<number[]> =>
  fc.array(dim, { minLength: minRank, maxLength: maxRank });

/** Two shapes that broadcast: each is the output shape with some leading dims dropped and some dims set to 1. */
const broadcastPair = (n = 2): fc.Arbitrary<number[][]> =>
  shapeArb(0, 3).chain((out) =>
    fc
      .tuple(
        ...Array.from({ length: n }, () =>
          fc.tuple(
            fc.integer({ min: 0, max: out.length }),
            fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
          ),
        ),
      )
      .map((specs) => specs.map(([drop, ones]) => out.map((d, i) => (ones[i] ? 1 : d)).slice(drop))),
  );

const single = (minRank = 0, maxRank = 3): fc.Arbitrary<Case> =>
  shapeArb(minRank, maxRank).map((s) => ({ shapes: [s] }));

const unaryRef = (f: (x: number) => number) => (_: unknown, x: RefTensor) => mapN(f, [x]);
const binaryRef = (f: (a: number, b: number) => number) => (_: unknown, a: RefTensor, b: RefTensor) =>
  mapN(f, [a, b]);

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function unaryOp(
  name: string,
  covers: Primitive[],
  fn: (x: Tensor) => Tensor,
  f: (x: number) => number,
  domain: Domain,
  smooth = true,
): OpInfo {
  return { name, covers, cases: single(), domain, fn: (_a, x) => fn(x), ref: unaryRef(f), smooth };
}

function binaryOp(
  name: string,
  covers: Primitive[],
  fn: (a: Tensor, b: Tensor) => Tensor,
  f: (a: number, b: number) => number,
  domain: Domain | Domain[],
  smooth = true,
): OpInfo {
  return {
    name,
    covers,
    cases: broadcastPair().map((shapes) => ({ shapes })),
    domain,
    fn: (_a, a, b) => fn(a, b),
    ref: binaryRef(f),
    smooth,
  };
}

/** Axes subset + keepdims for a reduction over a shape of rank >= 1. */
const reductionCase: fc.Arbitrary<Case> = shapeArb(1, 3).chain((shape) =>
  fc
    .tuple(
      fc.subarray(
        Array.from({ length: shape.length }, (_, i) => i),
        { minLength: 1 },
      ),
      fc.boolean(),
      fc.boolean(),
    )
    .map(([axes, keepdims, negative]) => ({
      shapes: [shape],
      args: { axes: negative ? axes.map((a) => a - shape.length) : axes, keepdims },
    })),
);

const axisCase = (minRank = 1): fc.Arbitrary<Case> =>
  shapeArb(minRank, 3).chain((shape) =>
    fc.integer({ min: 0, max: shape.length - 1 }).map((axis) => ({ shapes: [shape], args: axis })),
  );

function normAxes(axes: number[], rank: number): number[] {
  return axes.map((a) => (a < 0 ? a + rank : a));
}

const wide: Domain = { min: -2, max: 2 };
const positive: Domain = { min: 0.2, max: 3 };
const awayFromZero: Domain = { min: -2, max: 2, kinks: [0], gap: 0.05 };

export const opTable: OpInfo[] = [
  unaryOp("neg", ["neg"], ag.neg, (x) => -x, wide),
  unaryOp("exp", ["exp"], ag.exp, Math.exp, wide),
  unaryOp("log", ["log"], ag.log, Math.log, positive),
  unaryOp("sqrt", ["sqrt"], ag.sqrt, Math.sqrt, positive),
  unaryOp("abs", ["abs"], ag.abs, Math.abs, awayFromZero, false),
  unaryOp("square", ["square"], ag.square, (x) => x * x, wide),
  unaryOp("tanh", ["tanh", "tanhGrad"], ag.tanh, Math.tanh, wide),
  unaryOp("sigmoid", ["sigmoid", "sigmoidGrad"], ag.sigmoid, sigmoid, { min: -4, max: 4 }),
  unaryOp("relu", ["relu", "reluGrad"], ag.relu, (x) => Math.max(x, 0), awayFromZero, false),
  unaryOp("softplus", ["softplus"], ag.softplus, (x) => Math.log(1 + Math.exp(x)), { min: -4, max: 4 }),
  unaryOp("erf", ["erf"], ag.erf, erfRef, { min: -3, max: 3 }),
  unaryOp("gelu", ["erf", "mul", "add"], ag.gelu, (x) => 0.5 * x * (1 + erfRef(x / Math.SQRT2)), {
    min: -3,
    max: 3,
  }),
  unaryOp(
    "leakyRelu",
    ["where"],
    (x) => ag.leakyRelu(x, 0.2),
    (x) => (x > 0 ? x : 0.2 * x),
    awayFromZero,
    false,
  ),
  unaryOp(
    "clamp",
    ["where"],
    (x) => ag.clamp(x, -0.5, 0.7),
    (x) => Math.min(0.7, Math.max(-0.5, x)),
    { min: -2, max: 2, kinks: [-0.5, 0.7], gap: 0.05 },
    false,
  ),
  unaryOp(
    "pow-scalar",
    ["pow"],
    (x) => ag.pow(x, 3),
    (x) => x ** 3,
    wide,
  ),

  binaryOp("add", ["add"], ag.add, (a, b) => a + b, wide),
  binaryOp("sub", ["sub"], ag.sub, (a, b) => a - b, wide),
  binaryOp("mul", ["mul"], ag.mul, (a, b) => a * b, wide),
  binaryOp("div", ["div"], ag.div, (a, b) => a / b, [wide, { min: 0.5, max: 2 }]),
  binaryOp("pow", ["pow"], ag.pow, (a, b) => a ** b, [
    { min: 0.5, max: 2 },
    { min: -2, max: 2 },
  ]),
  { ...binaryOp("maximum", ["maximum"], ag.maximum, Math.max, wide, false), distinct: true },
  { ...binaryOp("minimum", ["minimum"], ag.minimum, Math.min, wide, false), distinct: true },
  {
    name: "where",
    covers: ["where"],
    cases: broadcastPair(3).map((shapes) => ({ shapes })),
    domain: [awayFromZero, wide, wide],
    // The condition is a constant mask derived from the first input.
    fn: (_a, c, a, b) => ag.where(c.detach().greater(0), a, b),
    ref: (_a, c, a, b) => mapN((cv, av, bv) => (cv > 0 ? av : bv), [c, a, b]),
    smooth: true,
  },

  {
    name: "matmul",
    covers: ["matmul"],
    cases: fc
      .tuple(
        dim,
        dim,
        dim,
        fc.constantFrom("2d", "vec-mat", "mat-vec", "vec-vec", "batched", "broadcast-batch"),
        dim,
      )
      .map(([m, k, n, kind, b]) => {
        const shapes: Record<string, number[][]> = {
          "2d": [
            [m, k],
            [k, n],
          ],
          "vec-mat": [[k], [k, n]],
          "mat-vec": [[m, k], [k]],
          "vec-vec": [[k], [k]],
          batched: [
            [b, m, k],
            [b, k, n],
          ],
          "broadcast-batch": [
            [2, 1, m, k],
            [b, k, n],
          ],
        };
        return { shapes: shapes[kind] };
      }),
    domain: wide,
    fn: (_a, a, b) => ag.matmul(a, b),
    ref: (_a, a, b) => {
      const a2 = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
      const b2 = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
      const r = matmulRef(a.data, a2, b.data, b2);
      let shape = r.shape;
      if (a.shape.length === 1) shape = [...shape.slice(0, -2), shape[shape.length - 1]];
      if (b.shape.length === 1) shape = shape.slice(0, -1);
      return { data: r.data, shape };
    },
    smooth: true,
  },

  {
    name: "sum",
    covers: ["sum", "broadcastTo"],
    cases: reductionCase,
    domain: wide,
    fn: (args, x) => {
      const { axes, keepdims } = args as { axes: number[]; keepdims: boolean };
      return ag.sum(x, axes, keepdims);
    },
    ref: (args, x) => {
      const { axes, keepdims } = args as { axes: number[]; keepdims: boolean };
      return reduceRef(x.data, x.shape, normAxes(axes, x.shape.length), keepdims, (v) =>
        v.reduce((s, t) => s + t, 0),
      );
    },
    smooth: true,
  },
  {
    name: "sum-all",
    covers: ["sum"],
    cases: single(),
    domain: wide,
    fn: (_a, x) => ag.sum(x),
    ref: (_a, x) => ({ data: [Array.from(x.data).reduce((s, t) => s + t, 0)], shape: [] }),
    smooth: true,
  },
  {
    name: "mean",
    covers: ["sum", "div"],
    cases: reductionCase,
    domain: wide,
    fn: (args, x) => {
      const { axes, keepdims } = args as { axes: number[]; keepdims: boolean };
      return ag.mean(x, axes, keepdims);
    },
    ref: (args, x) => {
      const { axes, keepdims } = args as { axes: number[]; keepdims: boolean };
      return reduceRef(
        x.data,
        x.shape,
        normAxes(axes, x.shape.length),
        keepdims,
        (v) => v.reduce((s, t) => s + t, 0) / v.length,
      );
    },
    smooth: true,
  },
  ...(["max", "min"] as const).map(
    (op): OpInfo => ({
      name: op,
      covers: [op],
      cases: reductionCase,
      domain: wide,
      distinct: true,
      fn: (args, x) => {
        const { axes, keepdims } = args as { axes: number[]; keepdims: boolean };
        // biome-ignore lint/performance/noDynamicNamespaceImportAccess: a test table, never bundled
        return ag[op](x, axes, keepdims);
      },
      ref: (args, x) => {
        const { axes, keepdims } = args as { axes: number[]; keepdims: boolean };
        return reduceRef(x.data, x.shape, normAxes(axes, x.shape.length), keepdims, (v) => Math[op](...v));
      },
      smooth: false,
    }),
  ),
  {
    name: "logsumexp",
    covers: ["max", "exp", "sum", "log", "sub", "add"],
    cases: reductionCase,
    domain: { min: -5, max: 5 },
    fn: (args, x) => {
      const { axes, keepdims } = args as { axes: number[]; keepdims: boolean };
      return ag.logsumexp(x, axes, keepdims);
    },
    ref: (args, x) => {
      const { axes, keepdims } = args as { axes: number[]; keepdims: boolean };
      return reduceRef(x.data, x.shape, normAxes(axes, x.shape.length), keepdims, (v) =>
        Math.log(v.reduce((s, t) => s + Math.exp(t), 0)),
      );
    },
    smooth: true,
  },
  // Logits near 1e4: exp overflows unless shifted, and float32 keeps only ~1e-3 absolute there, so
  // logSoftmax must subtract the log-sum from the shifted logits to stay accurate.
  ...(["softmax", "logSoftmax"] as const).map(
    (op): OpInfo => ({
      name: `${op}-large-logits`,
      covers: ["max", "exp", "sum", "sub"],
      cases: axisCase(),
      domain: { min: 1e4 - 4, max: 1e4 + 4 },
      fn: (axis, x) => (op === "softmax" ? ag.softmax : ag.logSoftmax)(x, axis as number),
      ref: (axis, x) => {
        const ax = axis as number;
        const shape = x.shape;
        const data: number[] = [];
        for (let i = 0; i < size(shape); i++) {
          const idx = unravel(i, shape);
          const row: number[] = [];
          for (let j = 0; j < shape[ax]; j++) {
            const other = idx.slice();
            other[ax] = j;
            let flat = 0;
            for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + other[d];
            row.push(x.data[flat]);
          }
          const m = Math.max(...row);
          const logSum = Math.log(row.reduce((t, v) => t + Math.exp(v - m), 0));
          const v = x.data[i] - m - logSum;
          data.push(op === "softmax" ? Math.exp(v) : v);
        }
        return { data, shape };
      },
      smooth: true,
    }),
  ),
  ...(["softmax", "logSoftmax"] as const).map(
    (op): OpInfo => ({
      name: op,
      covers: ["exp", "sum", "div", "sub"],
      cases: axisCase(),
      domain: { min: -4, max: 4 },
      // biome-ignore lint/performance/noDynamicNamespaceImportAccess: a test table, never bundled
      fn: (axis, x) => ag[op](x, axis as number),
      ref: (axis, x) => {
        const ax = axis as number;
        const shape = x.shape;
        const data: number[] = [];
        for (let i = 0; i < size(shape); i++) {
          const idx = unravel(i, shape);
          let total = 0;
          for (let j = 0; j < shape[ax]; j++) {
            const other = idx.slice();
            other[ax] = j;
            let flat = 0;
            for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + other[d];
            total += Math.exp(x.data[flat]);
          }
          data.push(op === "softmax" ? Math.exp(x.data[i]) / total : x.data[i] - Math.log(total));
        }
        return { data, shape };
      },
      smooth: true,
    }),
  ),

  {
    name: "reshape",
    covers: ["reshape"],
    cases: shapeArb(0, 3).chain((s) =>
      fc.constantFrom("flat", "split", "infer").map((kind) => {
        const n = size(s);
        const target = kind === "flat" ? [n] : kind === "split" ? [1, n, 1] : [-1, 1];
        return { shapes: [s], args: target };
      }),
    ),
    domain: wide,
    fn: (target, x) => ag.reshape(x, target as number[]),
    ref: (target, x) => {
      const t = (target as number[]).map((d) => (d === -1 ? size(x.shape) : d));
      return { data: x.data, shape: t };
    },
    smooth: true,
  },
  {
    name: "transpose",
    covers: ["transpose"],
    cases: shapeArb(0, 4).chain((s) =>
      fc
        .shuffledSubarray(
          Array.from({ length: s.length }, (_, i) => i),
          { minLength: s.length, maxLength: s.length },
        )
        .map((perm) => ({
          shapes: [s],
          args: perm,
        })),
    ),
    domain: wide,
    fn: (perm, x) => ag.transpose(x, perm as number[]),
    ref: (perm, x) => {
      const p = perm as number[];
      const shape = p.map((i) => x.shape[i]);
      const data: number[] = [];
      for (let i = 0; i < size(shape); i++) {
        const idx = unravel(i, shape);
        const src = new Array<number>(p.length);
        p.forEach((axis, k) => {
          src[axis] = idx[k];
        });
        let flat = 0;
        for (let d = 0; d < x.shape.length; d++) flat = flat * x.shape[d] + src[d];
        data.push(x.data[flat]);
      }
      return { data, shape };
    },
    smooth: true,
  },
  {
    name: "broadcastTo",
    covers: ["broadcastTo"],
    cases: broadcastPair(1).chain(([s]) =>
      fc.tuple(fc.integer({ min: 0, max: 2 }), dim).map(([extra, d]) => {
        const target = [...Array.from({ length: extra }, () => d), ...s.map((v) => (v === 1 ? d : v))];
        return { shapes: [s], args: target };
      }),
    ),
    domain: wide,
    fn: (target, x) => ag.broadcastTo(x, target as number[]),
    ref: (target, x) =>
      mapN((v) => v, [x, { data: new Float64Array(size(target as number[])), shape: target as number[] }]),
    smooth: true,
  },
  {
    name: "slice",
    covers: ["slice", "pad"],
    cases: axisCase().chain(({ shapes: [s], args }) => {
      const axis = args as number;
      return fc
        .tuple(fc.integer({ min: -s[axis], max: s[axis] - 1 }), fc.integer({ min: 1, max: s[axis] }))
        .map(([start, len]) => ({ shapes: [s], args: { axis, start, len } }));
    }),
    domain: wide,
    fn: (args, x) => {
      const { axis, start, len } = args as { axis: number; start: number; len: number };
      return ag.slice(x, axis, start, (start < 0 ? start + x.shape[axis] : start) + len);
    },
    ref: (args, x) => {
      const { axis, start, len } = args as { axis: number; start: number; len: number };
      const s0 = start < 0 ? start + x.shape[axis] : start;
      const e0 = Math.min(x.shape[axis], s0 + len);
      const shape = x.shape.slice();
      shape[axis] = e0 - s0;
      const data: number[] = [];
      for (let i = 0; i < size(shape); i++) {
        const idx = unravel(i, shape);
        idx[axis] += s0;
        let flat = 0;
        for (let d = 0; d < x.shape.length; d++) flat = flat * x.shape[d] + idx[d];
        data.push(x.data[flat]);
      }
      return { data, shape };
    },
    smooth: true,
  },
  {
    name: "concat",
    covers: ["concat", "slice"],
    cases: axisCase().chain(({ shapes: [s], args }) =>
      fc.tuple(dim, dim).map(([d1, d2]) => {
        const axis = args as number;
        const a = s.slice();
        const b = s.slice();
        const c = s.slice();
        b[axis] = d1;
        c[axis] = d2;
        return { shapes: [a, b, c], args: axis };
      }),
    ),
    domain: wide,
    fn: (axis, ...xs) => ag.concat(xs, axis as number),
    ref: (axis, ...xs) => {
      const ax = axis as number;
      const shape = xs[0].shape.slice();
      shape[ax] = xs.reduce((t, x) => t + x.shape[ax], 0);
      const data: number[] = [];
      for (let i = 0; i < size(shape); i++) {
        const idx = unravel(i, shape);
        let k = 0;
        let pos = idx[ax];
        while (pos >= xs[k].shape[ax]) pos -= xs[k++].shape[ax];
        const own = idx.slice();
        own[ax] = pos;
        let flat = 0;
        for (let d = 0; d < own.length; d++) flat = flat * xs[k].shape[d] + own[d];
        data.push(xs[k].data[flat]);
      }
      return { data, shape };
    },
    smooth: true,
  },
  {
    name: "stack",
    covers: ["concat", "reshape"],
    cases: shapeArb(0, 2).chain((s) =>
      fc.integer({ min: 0, max: s.length }).map((axis) => ({ shapes: [s, s], args: axis })),
    ),
    domain: wide,
    fn: (axis, a, b) => ag.stack([a, b], axis as number),
    ref: (axis, a, b) => {
      const ax = axis as number;
      const shape = a.shape.slice();
      shape.splice(ax, 0, 2);
      const data: number[] = [];
      for (let i = 0; i < size(shape); i++) {
        const idx = unravel(i, shape);
        const which = idx[ax];
        idx.splice(ax, 1);
        let flat = 0;
        for (let d = 0; d < idx.length; d++) flat = flat * a.shape[d] + idx[d];
        data.push((which === 0 ? a : b).data[flat]);
      }
      return { data, shape };
    },
    smooth: true,
  },
  {
    name: "squeeze-unsqueeze",
    covers: ["reshape"],
    cases: shapeArb(0, 3).chain((s) =>
      fc.integer({ min: 0, max: s.length }).map((axis) => ({ shapes: [s], args: axis })),
    ),
    domain: wide,
    fn: (axis, x) =>
      ag
        .unsqueeze(x, axis as number)
        .tanh()
        .squeeze(axis as number),
    ref: (_a, x) => mapN(Math.tanh, [x]),
    smooth: true,
  },
  {
    name: "gather",
    covers: ["gather", "scatterAdd"],
    cases: axisCase().chain(({ shapes: [s], args }) =>
      fc
        .array(fc.integer({ min: -s[args as number], max: s[args as number] - 1 }), {
          minLength: 1,
          maxLength: 6,
        })
        .map((indices) => ({ shapes: [s], args: { axis: args, indices } })),
    ),
    domain: wide,
    fn: (args, x) => {
      const { axis, indices } = args as { axis: number; indices: number[] };
      return ag.gather(x, indices, axis);
    },
    ref: (args, x) => {
      const { axis, indices } = args as { axis: number; indices: number[] };
      const shape = x.shape.slice();
      shape[axis] = indices.length;
      const data: number[] = [];
      for (let i = 0; i < size(shape); i++) {
        const idx = unravel(i, shape);
        const j = indices[idx[axis]];
        idx[axis] = j < 0 ? j + x.shape[axis] : j;
        let flat = 0;
        for (let d = 0; d < idx.length; d++) flat = flat * x.shape[d] + idx[d];
        data.push(x.data[flat]);
      }
      return { data, shape };
    },
    smooth: true,
  },
  {
    name: "scatterAdd",
    covers: ["scatterAdd", "gather"],
    cases: axisCase().chain(({ shapes: [s], args }) =>
      fc
        .array(fc.integer({ min: 0, max: 4 }), { minLength: s[args as number], maxLength: s[args as number] })
        .map((indices) => ({ shapes: [s], args: { axis: args, indices } })),
    ),
    domain: wide,
    fn: (args, g) => {
      const { axis, indices } = args as { axis: number; indices: number[] };
      return ag.scatterAdd(g, indices, axis, 5);
    },
    ref: (args, g) => {
      const { axis, indices } = args as { axis: number; indices: number[] };
      const shape = g.shape.slice();
      shape[axis] = 5;
      const data = new Array<number>(size(shape)).fill(0);
      for (let i = 0; i < size(g.shape); i++) {
        const idx = unravel(i, g.shape);
        idx[axis] = indices[idx[axis]];
        let flat = 0;
        for (let d = 0; d < idx.length; d++) flat = flat * shape[d] + idx[d];
        data[flat] += g.data[i];
      }
      return { data, shape };
    },
    smooth: true,
  },
  {
    name: "pad",
    covers: ["pad", "slice"],
    cases: axisCase().chain(({ shapes: [s], args }) =>
      fc
        .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }))
        .map(([before, after]) => ({ shapes: [s], args: { axis: args, before, after } })),
    ),
    domain: wide,
    fn: (args, x) => {
      const { axis, before, after } = args as { axis: number; before: number; after: number };
      return ag.pad(x, axis, before, after);
    },
    ref: (args, x) => {
      const { axis, before, after } = args as { axis: number; before: number; after: number };
      const shape = x.shape.slice();
      shape[axis] += before + after;
      const data: number[] = [];
      for (let i = 0; i < size(shape); i++) {
        const idx = unravel(i, shape);
        const p = idx[axis] - before;
        if (p < 0 || p >= x.shape[axis]) {
          data.push(0);
          continue;
        }
        idx[axis] = p;
        let flat = 0;
        for (let d = 0; d < idx.length; d++) flat = flat * x.shape[d] + idx[d];
        data.push(x.data[flat]);
      }
      return { data, shape };
    },
    smooth: true,
  },
  // sin/cos, log1p/expm1, var/std/norm/prod/cumsum, takeAlongAxis, sort/topk, split/chunk, flip/roll,
  // tril/triu, strided slice, einsum (issue 10)
  ...miscOpTable,
  ...convOpTable,
];

export { broadcastShape };
