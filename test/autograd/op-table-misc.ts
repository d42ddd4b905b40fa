/**
 * Op-table entries for the ops added for custom architectures (issue 10): trigonometry, log1p/expm1,
 * statistics (var, std, norm, prod, cumsum), takeAlongAxis and its transpose, sort/topk, the
 * rearranging composites and einsum. Spread into the op table in op-table.ts, so both backends run them.
 * Only types come from op-table.ts (it imports this file).
 */

import type { Tensor } from "@tapegrad/autograd";
import * as ag from "@tapegrad/autograd";
import fc from "fast-check";
import {
  cumsumRef,
  einsumRef,
  mapLines,
  mapN,
  reduceRef,
  remapRef,
  scatterAddAlongRef,
  size,
  sortRef,
  takeAlongRef,
} from "../support/reference.js";
import type { Case, Domain, OpInfo } from "./op-table.js";

const dim = fc.integer({ min: 1, max: 4 });
const shapeArb = (minRank = 0, maxRank = 3): fc.Arbitrary<number[]> =>
  fc.array(dim, { minLength: minRank, maxLength: maxRank });

const wide: Domain = { min: -2, max: 2 };
const awayFromZero: Domain = { min: -2, max: 2, kinks: [0], gap: 0.05 };

const axisCase = (minRank = 1): fc.Arbitrary<{ shape: number[]; axis: number }> =>
  shapeArb(minRank, 3).chain((shape) =>
    fc.integer({ min: 0, max: shape.length - 1 }).map((axis) => ({ shape, axis })),
  );

interface Reduction {
  axes: number[];
  keepdims: boolean;
}

const reductionArb: fc.Arbitrary<{ shape: number[]; r: Reduction }> = shapeArb(1, 3).chain((shape) =>
  fc
    .tuple(
      fc.subarray(
        Array.from({ length: shape.length }, (_, i) => i),
        { minLength: 1 },
      ),
      fc.boolean(),
    )
    .map(([axes, keepdims]) => ({ shape, r: { axes, keepdims } })),
);

const reducedCount = (shape: number[], axes: number[]): number => axes.reduce((n, a) => n * shape[a], 1);

function unary(name: string, fn: (x: Tensor) => Tensor, f: (x: number) => number, domain: Domain): OpInfo {
  return {
    name,
    covers: [name as ag.Primitive],
    cases: shapeArb().map((s) => ({ shapes: [s] })),
    domain,
    fn: (_a, x) => fn(x),
    ref: (_a, x) => mapN(f, [x]),
    smooth: true,
  };
}

function reduction(
  name: string,
  covers: ag.Primitive[],
  fn: (x: Tensor, r: Reduction & Record<string, unknown>) => Tensor,
  combine: (values: number[], r: Reduction & Record<string, unknown>) => number,
  opts: {
    domain: Domain;
    smooth: boolean;
    distinct?: boolean;
    extra?: fc.Arbitrary<Record<string, unknown>>;
    minCount?: number;
  },
): OpInfo {
  const extra = opts.extra ?? fc.constant({});
  return {
    name,
    covers,
    cases: fc
      .tuple(reductionArb, extra)
      .filter(([{ shape, r }]) => reducedCount(shape, r.axes) >= (opts.minCount ?? 1))
      .map(([{ shape, r }, more]) => ({ shapes: [shape], args: { ...r, ...more } })),
    domain: opts.domain,
    distinct: opts.distinct,
    fn: (args, x) => fn(x, args as Reduction & Record<string, unknown>),
    ref: (args, x) => {
      const r = args as Reduction & Record<string, unknown>;
      return reduceRef(x.data, x.shape, r.axes, r.keepdims, (v) => combine(v, r));
    },
    smooth: opts.smooth,
  };
}

const meanOf = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const varianceOf = (v: number[], correction: number) => {
  const m = meanOf(v);
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(0, v.length - correction);
};
const correctionArb = fc.record({ correction: fc.constantFrom(0, 1) });

/** Index tensors drawn for takeAlongAxis / scatterAddAlongAxis: x's rank, no larger off the axis. */
const alongCase: fc.Arbitrary<Case> = axisCase().chain(({ shape, axis }) =>
  fc
    .tuple(
      fc.tuple(
        ...shape.map((d, i) =>
          i === axis ? fc.integer({ min: 1, max: 5 }) : fc.integer({ min: 1, max: d }),
        ),
      ),
      fc.boolean(),
    )
    .chain(([indexShape, negative]) =>
      fc
        .array(fc.integer({ min: 0, max: shape[axis] - 1 }), {
          minLength: size(indexShape),
          maxLength: size(indexShape),
        })
        .map((values) => ({
          shapes: [shape],
          args: {
            axis,
            indexShape,
            index: negative ? values.map((v) => v - shape[axis]) : values,
          },
        })),
    ),
);

interface AlongArgs {
  axis: number;
  indexShape: number[];
  index: number[];
}

const indexTensor = (a: AlongArgs) => ag.tensor(Int32Array.from(a.index), { shape: a.indexShape });

/** Applies a different scale to each part so that a mix-up of parts shows in the values. */
function scaleParts(parts: Tensor[], axis: number): Tensor {
  return ag.concat(
    parts.map((p, i) => p.mul(i + 1)),
    axis,
  );
}

function scalePartsRef(
  x: { data: ArrayLike<number>; shape: readonly number[] },
  axis: number,
  sizes: number[],
) {
  return mapLines(x.data, x.shape, axis, (v) => {
    const out: number[] = [];
    let at = 0;
    sizes.forEach((s, i) => {
      for (let j = 0; j < s; j++) out.push(v[at + j] * (i + 1));
      at += s;
    });
    return out;
  });
}

/** Specs for einsum with the letter-only spec the brute-force reference evaluates. */
const einsumSpecs: { spec: string; ref: string; shapes: (d: number[]) => number[][] }[] = [
  {
    spec: "ij,jk->ik",
    ref: "ij,jk->ik",
    shapes: ([a, b, c]) => [
      [a, b],
      [b, c],
    ],
  },
  {
    spec: "ij,jk",
    ref: "ij,jk->ik",
    shapes: ([a, b, c]) => [
      [a, b],
      [b, c],
    ],
  },
  {
    spec: "bij,bjk->bik",
    ref: "bij,bjk->bik",
    shapes: ([a, b, c, d]) => [
      [d, a, b],
      [d, b, c],
    ],
  },
  {
    spec: "ij,kj->ik",
    ref: "ij,kj->ik",
    shapes: ([a, b, c]) => [
      [a, b],
      [c, b],
    ],
  },
  {
    spec: "ji,jk->ik",
    ref: "ji,jk->ik",
    shapes: ([a, b, c]) => [
      [b, a],
      [b, c],
    ],
  },
  { spec: "ii->i", ref: "ii->i", shapes: ([a]) => [[a, a]] },
  { spec: "ii", ref: "ii->", shapes: ([a]) => [[a, a]] },
  { spec: "iji->j", ref: "iji->j", shapes: ([a, b]) => [[a, b, a]] },
  { spec: "ij->ji", ref: "ij->ji", shapes: ([a, b]) => [[a, b]] },
  { spec: "ijk->", ref: "ijk->", shapes: ([a, b, c]) => [[a, b, c]] },
  { spec: "i,j->ij", ref: "i,j->ij", shapes: ([a, b]) => [[a], [b]] },
  { spec: "i,i->", ref: "i,i->", shapes: ([a]) => [[a], [a]] },
  {
    spec: "ij,ij->ij",
    ref: "ij,ij->ij",
    shapes: ([a, b]) => [
      [a, b],
      [a, b],
    ],
  },
  {
    spec: "bhqd,bhkd->bhqk",
    ref: "bhqd,bhkd->bhqk",
    shapes: ([a, b, c, d]) => [
      [2, a, b, d],
      [2, a, c, d],
    ],
  },
  {
    spec: "ij,jk,kl->il",
    ref: "ij,jk,kl->il",
    shapes: ([a, b, c, d]) => [
      [a, b],
      [b, c],
      [c, d],
    ],
  },
  {
    spec: "ijk,jl->lik",
    ref: "ijk,jl->lik",
    shapes: ([a, b, c, d]) => [
      [a, b, c],
      [b, d],
    ],
  },
  {
    spec: "...ij,...jk->...ik",
    ref: "xij,xjk->xik",
    shapes: ([a, b, c, d]) => [
      [d, a, b],
      [d, b, c],
    ],
  },
  {
    spec: "...ij,jk",
    ref: "xyij,jk->xyik",
    shapes: ([a, b, c, d]) => [
      [2, d, a, b],
      [b, c],
    ],
  },
  {
    spec: "i...,i...->...",
    ref: "ix,ix->x",
    shapes: ([a, b]) => [
      [a, b],
      [a, b],
    ],
  },
  { spec: "ij,j->i", ref: "ij,j->i", shapes: ([a, b]) => [[a, b], [b]] },
  { spec: "bi,i->b", ref: "bi,i->b", shapes: ([a, b]) => [[a, b], [1]] },
];

export const miscOpTable: OpInfo[] = [
  unary("sin", ag.sin, Math.sin, { min: -4, max: 4 }),
  unary("cos", ag.cos, Math.cos, { min: -4, max: 4 }),
  unary("log1p", ag.log1p, Math.log1p, { min: -0.6, max: 3 }),
  unary("expm1", ag.expm1, Math.expm1, wide),

  reduction(
    "var",
    ["sum", "sub", "square", "div"],
    (x, r) => ag.var(x, r.axes, { correction: r.correction as number, keepdims: r.keepdims }),
    (v, r) => varianceOf(v, r.correction as number),
    { domain: wide, smooth: true, extra: correctionArb, minCount: 2 },
  ),
  reduction(
    "std",
    ["sum", "sub", "square", "div", "sqrt"],
    (x, r) => ag.std(x, r.axes, { correction: r.correction as number, keepdims: r.keepdims }),
    (v, r) => Math.sqrt(varianceOf(v, r.correction as number)),
    // distinct values keep the variance away from 0, where the square root has its kink
    { domain: wide, smooth: true, distinct: true, extra: correctionArb, minCount: 2 },
  ),
  reduction(
    "norm",
    ["sum", "square", "sqrt", "pow", "abs", "where"],
    (x, r) => ag.norm(x, r.p as number, r.axes, r.keepdims),
    (v, r) => {
      const p = r.p as number;
      return v.reduce((a, b) => a + Math.abs(b) ** p, 0) ** (1 / p);
    },
    { domain: awayFromZero, smooth: true, extra: fc.record({ p: fc.constantFrom(2, 3, 1.5, 0.5) }) },
  ),
  reduction(
    "norm-1-inf",
    ["abs", "sum", "max"],
    (x, r) => ag.norm(x, r.p as number, r.axes, r.keepdims),
    (v, r) => (r.p === 1 ? v.reduce((a, b) => a + Math.abs(b), 0) : Math.max(...v.map(Math.abs))),
    {
      domain: { min: 0.1, max: 2 }, // positive and distinct: no kink of |x|, no tie for the max
      smooth: false,
      distinct: true,
      extra: fc.record({ p: fc.constantFrom(1, Number.POSITIVE_INFINITY) }),
    },
  ),
  reduction(
    "prod",
    ["prod"],
    (x, r) => ag.prod(x, r.axes, r.keepdims),
    (v) => v.reduce((a, b) => a * b, 1),
    { domain: { min: -1.6, max: 1.6, kinks: [0], gap: 0.2 }, smooth: true },
  ),
  {
    name: "cumsum",
    covers: ["cumsum"],
    cases: axisCase().map(({ shape, axis }) => ({ shapes: [shape], args: axis })),
    domain: wide,
    fn: (axis, x) => ag.cumsum(x, axis as number),
    ref: (axis, x) => cumsumRef(x.data, x.shape, axis as number),
    smooth: true,
  },
  {
    name: "cumsum-flat",
    covers: ["cumsum", "reshape"],
    cases: shapeArb().map((s) => ({ shapes: [s] })),
    domain: wide,
    fn: (_a, x) => x.cumsum(),
    ref: (_a, x) => cumsumRef(x.data, [size(x.shape)], 0),
    smooth: true,
  },
  {
    name: "takeAlongAxis",
    covers: ["takeAlongAxis", "scatterAddAlongAxis"],
    cases: alongCase,
    domain: wide,
    fn: (args, x) => ag.takeAlongAxis(x, indexTensor(args as AlongArgs), (args as AlongArgs).axis),
    ref: (args, x) => {
      const a = args as AlongArgs;
      return takeAlongRef(x.data, x.shape, a.index, a.indexShape, a.axis);
    },
    smooth: true,
  },
  {
    name: "scatterAddAlongAxis",
    covers: ["scatterAddAlongAxis", "takeAlongAxis"],
    // src has the index shape; the target is the shape the indices were drawn for.
    cases: alongCase.map((c) => ({
      shapes: [(c.args as AlongArgs).indexShape],
      args: { ...(c.args as AlongArgs), target: c.shapes[0] },
    })),
    domain: wide,
    fn: (args, src) => {
      const a = args as AlongArgs & { target: number[] };
      return ag.scatterAddAlongAxis(src, indexTensor(a), a.axis, a.target);
    },
    ref: (args, src) => {
      const a = args as AlongArgs & { target: number[] };
      return scatterAddAlongRef(src.data, a.index, a.indexShape, a.axis, a.target);
    },
    smooth: true,
  },
  {
    name: "sort",
    covers: ["takeAlongAxis", "scatterAddAlongAxis"],
    cases: fc
      .tuple(axisCase(), fc.boolean())
      .map(([{ shape, axis }, descending]) => ({ shapes: [shape], args: { axis, descending } })),
    domain: wide,
    distinct: true,
    fn: (args, x) => {
      const { axis, descending } = args as { axis: number; descending: boolean };
      return ag.sort(x, axis, { descending }).values;
    },
    ref: (args, x) => {
      const { axis, descending } = args as { axis: number; descending: boolean };
      return sortRef(x.data, x.shape, axis, descending);
    },
    smooth: true,
  },
  {
    name: "topk",
    covers: ["takeAlongAxis", "slice"],
    cases: fc
      .tuple(axisCase(), fc.boolean(), fc.integer({ min: 0, max: 100 }))
      .map(([{ shape, axis }, largest, r]) => ({
        shapes: [shape],
        args: { axis, largest, k: 1 + (r % shape[axis]) },
      })),
    domain: wide,
    distinct: true,
    fn: (args, x) => {
      const { axis, largest, k } = args as { axis: number; largest: boolean; k: number };
      return ag.topk(x, k, axis, { largest }).values;
    },
    ref: (args, x) => {
      const { axis, largest, k } = args as { axis: number; largest: boolean; k: number };
      const sorted = sortRef(x.data, x.shape, axis, largest);
      const shape = x.shape.slice();
      shape[axis] = k;
      return remapRef(sorted.data, x.shape, shape, (idx) => idx);
    },
    smooth: true,
  },
  {
    name: "split",
    covers: ["slice", "concat"],
    cases: axisCase().chain(({ shape, axis }) =>
      fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }).map((extra) => {
        // sizes adding up to the axis length (zero-length parts included)
        const s = shape.slice();
        s[axis] = extra.reduce((a, b) => a + b, 0) + 1;
        const sizes = [...extra.slice(0, -1), extra[extra.length - 1] + 1];
        return { shapes: [s], args: { axis, sizes } };
      }),
    ),
    domain: wide,
    fn: (args, x) => {
      const { axis, sizes } = args as { axis: number; sizes: number[] };
      return scaleParts(ag.split(x, sizes, axis), axis);
    },
    ref: (args, x) => {
      const { axis, sizes } = args as { axis: number; sizes: number[] };
      return scalePartsRef(x, axis, sizes);
    },
    smooth: true,
  },
  {
    name: "chunk",
    covers: ["slice", "concat"],
    cases: fc
      .tuple(axisCase(), fc.integer({ min: 1, max: 5 }))
      .map(([{ shape, axis }, n]) => ({ shapes: [shape], args: { axis, n } })),
    domain: wide,
    fn: (args, x) => {
      const { axis, n } = args as { axis: number; n: number };
      return scaleParts(ag.chunk(x, n, axis), axis);
    },
    ref: (args, x) => {
      const { axis, n } = args as { axis: number; n: number };
      const len = x.shape[axis];
      const step = Math.ceil(len / n);
      const sizes: number[] = [];
      for (let at = 0; at < len; at += step) sizes.push(Math.min(step, len - at));
      return scalePartsRef(x, axis, sizes);
    },
    smooth: true,
  },
  {
    name: "flip",
    covers: ["gather", "scatterAdd"],
    cases: shapeArb(0, 3).chain((shape) =>
      fc
        .subarray(Array.from({ length: shape.length }, (_, i) => i))
        .map((axes) => ({ shapes: [shape], args: axes })),
    ),
    domain: wide,
    fn: (axes, x) => ag.flip(x, axes as number[]),
    ref: (axes, x) =>
      remapRef(x.data, x.shape, x.shape, (idx) =>
        idx.map((v, d) => ((axes as number[]).includes(d) ? x.shape[d] - 1 - v : v)),
      ),
    smooth: true,
  },
  {
    name: "roll",
    covers: ["slice", "concat"],
    cases: fc
      .tuple(axisCase(), fc.integer({ min: -6, max: 6 }), fc.boolean())
      .map(([{ shape, axis }, shift, flat]) => ({
        shapes: [shape],
        args: { axis: flat ? undefined : axis, shift },
      })),
    domain: wide,
    fn: (args, x) => {
      const { axis, shift } = args as { axis: number | undefined; shift: number };
      return ag.roll(x, shift, axis);
    },
    ref: (args, x) => {
      const { axis, shift } = args as { axis: number | undefined; shift: number };
      if (axis === undefined) {
        const n = size(x.shape);
        const data = Array.from({ length: n }, (_, i) => x.data[(((i - shift) % n) + n) % n]);
        return { data, shape: x.shape.slice() };
      }
      const n = x.shape[axis];
      return remapRef(x.data, x.shape, x.shape, (idx) =>
        idx.map((v, d) => (d === axis ? (((v - shift) % n) + n) % n : v)),
      );
    },
    smooth: true,
  },
  ...(["tril", "triu"] as const).map(
    (op): OpInfo => ({
      name: op,
      covers: ["where"],
      cases: fc
        .tuple(shapeArb(2, 3), fc.integer({ min: -2, max: 2 }))
        .map(([shape, k]) => ({ shapes: [shape], args: k })),
      domain: wide,
      fn: (k, x) => (op === "tril" ? ag.tril(x, k as number) : ag.triu(x, k as number)),
      ref: (k, x) =>
        remapRef(x.data, x.shape, x.shape, (idx) => {
          const [r, c] = idx.slice(-2);
          const keep = op === "tril" ? c - r <= (k as number) : c - r >= (k as number);
          return keep ? idx : null;
        }),
      smooth: true,
    }),
  ),
  {
    name: "slice-step",
    covers: ["slice", "pad", "reshape"],
    cases: axisCase().chain(({ shape, axis }) =>
      fc
        .tuple(
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: -shape[axis], max: shape[axis] - 1 }),
          fc.option(fc.integer({ min: -shape[axis], max: shape[axis] + 1 })),
          fc.integer({ min: 1, max: 4 }),
        )
        .map(([grow, start, end, step]) => {
          const s = shape.slice();
          s[axis] += grow; // longer axes give strides room
          return { shapes: [s], args: { axis, start, end: end ?? undefined, step } };
        }),
    ),
    domain: wide,
    fn: (args, x) => {
      const { axis, start, end, step } = args as { axis: number; start: number; end?: number; step: number };
      return x.slice(axis, start, end, step);
    },
    ref: (args, x) => {
      const { axis, start, end, step } = args as { axis: number; start: number; end?: number; step: number };
      const n = x.shape[axis];
      const clamp = (i: number) => Math.min(n, Math.max(0, i < 0 ? i + n : i));
      const positions: number[] = [];
      for (let i = clamp(start); i < (end === undefined ? n : clamp(end)); i += step) positions.push(i);
      const shape = x.shape.slice();
      shape[axis] = positions.length;
      return remapRef(x.data, x.shape, shape, (idx) => idx.map((v, d) => (d === axis ? positions[v] : v)));
    },
    smooth: true,
  },
  {
    name: "einsum",
    covers: ["matmul", "transpose", "reshape", "sum", "gather"],
    cases: fc
      .tuple(fc.integer({ min: 0, max: einsumSpecs.length - 1 }), fc.tuple(dim, dim, dim, dim))
      .map(([i, dims]) => ({ shapes: einsumSpecs[i].shapes(dims), args: i })),
    domain: wide,
    fn: (i, ...xs) => ag.einsum(einsumSpecs[i as number].spec, ...xs),
    ref: (i, ...xs) => einsumRef(einsumSpecs[i as number].ref, ...xs),
    smooth: true,
  },
];
