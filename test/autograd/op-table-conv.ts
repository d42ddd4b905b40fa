/**
 * Op-table entries for convolution and pooling (spread into opTable in op-table.ts), each checked
 * against the naive direct references in test/support/reference.ts.
 */

import * as ag from "@tapegrad/autograd";
import fc from "fast-check";
import { conv2dRef, convTranspose2dRef, poolRef, type WindowRef } from "../support/reference.js";
import type { OpInfo, RefTensor } from "./op-table.js";

const wide = { min: -2, max: 2 };
/**
 * Sums of many products of mixed signs can cancel to ~1e-12, where the reference's different
 * summation order alone exceeds the forward check's 1e-11 relative bound: these linear ops are
 * sampled with positive inputs and weights (the bias, added last, stays signed).
 */
const positive = { min: 0.2, max: 2 };
const convDomain = [positive, positive, wide];

interface ConvCase {
  n: number;
  groups: number;
  cg: number;
  og: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  bias: boolean;
}

const small = (min: number, max: number) => fc.integer({ min, max });
const convSpec = fc.record({
  n: small(1, 2),
  groups: small(1, 2),
  cg: small(1, 2),
  og: small(1, 2),
  h: small(2, 5),
  w: small(2, 5),
  kh: small(1, 3),
  kw: small(1, 3),
  sh: small(1, 2),
  sw: small(1, 2),
  ph: small(0, 1),
  pw: small(0, 1),
  dh: small(1, 2),
  dw: small(1, 2),
  bias: fc.boolean(),
});

const fits = (size: number, pad: number, k: number, d: number) => size + 2 * pad - d * (k - 1) - 1 >= 0;
const convShapes = (s: ConvCase) => {
  const shapes = [
    [s.n, s.cg * s.groups, s.h, s.w],
    [s.og * s.groups, s.cg, s.kh, s.kw],
  ];
  if (s.bias) shapes.push([s.og * s.groups]);
  return shapes;
};
const windowOf = (s: ConvCase): WindowRef => ({
  stride: [s.sh, s.sw],
  padding: [
    [s.ph, s.ph],
    [s.pw, s.pw],
  ],
  dilation: [s.dh, s.dw],
});

/** 'same' padding: total d·(k − 1), the odd one after (as torch). */
const samePadding = (k: number, d: number): [number, number] => {
  const total = d * (k - 1);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
};

const maxOf = (v: number[]) => Math.max(...v);

/** torch's pooled length with ceil mode (the last window must start inside the input or left padding). */
const pooled = (size: number, k: number, s: number, p: number, d: number, ceil: boolean): number => {
  const room = size + 2 * p - d * (k - 1) - 1;
  let n = (ceil ? Math.ceil(room / s) : Math.floor(room / s)) + 1;
  if (ceil && (n - 1) * s >= size + p) n--;
  return n;
};

const poolSpec = fc
  .record({
    n: small(1, 2),
    c: small(1, 2),
    h: small(2, 6),
    w: small(2, 6),
    kh: small(1, 3),
    kw: small(1, 3),
    sh: small(1, 3),
    sw: small(1, 3),
    ph: small(0, 1),
    pw: small(0, 1),
    dh: small(1, 2),
    dw: small(1, 2),
    ceil: fc.boolean(),
    includePad: fc.boolean(),
  })
  .filter(
    (s) => 2 * s.ph <= s.kh && 2 * s.pw <= s.kw && fits(s.h, s.ph, s.kh, s.dh) && fits(s.w, s.pw, s.kw, s.dw),
  );
type PoolCase = typeof poolSpec extends fc.Arbitrary<infer T> ? T : never;

const poolSizes = (s: PoolCase, dilated: boolean): [number, number] => [
  pooled(s.h, s.kh, s.sh, s.ph, dilated ? s.dh : 1, s.ceil),
  pooled(s.w, s.kw, s.sw, s.pw, dilated ? s.dw : 1, s.ceil),
];

export const convOpTable: OpInfo[] = [
  {
    name: "conv2d",
    covers: ["conv", "convInputGrad", "convWeightGrad"],
    cases: convSpec
      .filter((s) => fits(s.h, s.ph, s.kh, s.dh) && fits(s.w, s.pw, s.kw, s.dw))
      .map((s) => ({ shapes: convShapes(s), args: s })),
    domain: convDomain,
    fn: (args, x, w, b) => {
      const s = args as ConvCase;
      return ag.conv2d(x, w, b ?? null, {
        stride: [s.sh, s.sw],
        padding: [s.ph, s.pw],
        dilation: [s.dh, s.dw],
        groups: s.groups,
      });
    },
    ref: (args, x, w, b) => {
      const s = args as ConvCase;
      return conv2dRef(x, w, b === undefined ? null : b.data, windowOf(s), s.groups);
    },
    smooth: true,
  },
  {
    name: "conv2d-same",
    covers: ["conv", "convInputGrad", "convWeightGrad"],
    cases: convSpec.map((s) => ({ shapes: convShapes(s), args: s })),
    domain: convDomain,
    fn: (args, x, w, b) => {
      const s = args as ConvCase;
      return ag.conv2d(x, w, b ?? null, { padding: "same", dilation: [s.dh, s.dw], groups: s.groups });
    },
    ref: (args, x, w, b) => {
      const s = args as ConvCase;
      return conv2dRef(
        x,
        w,
        b === undefined ? null : b.data,
        {
          stride: [1, 1],
          padding: [samePadding(s.kh, s.dh), samePadding(s.kw, s.dw)],
          dilation: [s.dh, s.dw],
        },
        s.groups,
      );
    },
    smooth: true,
  },
  {
    name: "conv1d",
    covers: ["conv", "convInputGrad", "convWeightGrad"],
    cases: convSpec
      .filter((s) => fits(s.w, s.pw, s.kw, s.dw))
      .map((s) => {
        const [x, w, b] = convShapes(s);
        return { shapes: [[x[0], x[1], x[3]], [w[0], w[1], w[3]], ...(b ? [b] : [])], args: s };
      }),
    domain: convDomain,
    fn: (args, x, w, b) => {
      const s = args as ConvCase;
      return ag.conv1d(x, w, b ?? null, { stride: s.sw, padding: s.pw, dilation: s.dw, groups: s.groups });
    },
    ref: (args, x, w, b) => {
      const s = args as ConvCase;
      const as4 = (t: RefTensor) => ({ data: t.data, shape: [t.shape[0], t.shape[1], 1, t.shape[2]] });
      const out = conv2dRef(
        as4(x),
        as4(w),
        b === undefined ? null : b.data,
        {
          stride: [1, s.sw],
          padding: [
            [0, 0],
            [s.pw, s.pw],
          ],
          dilation: [1, s.dw],
        },
        s.groups,
      );
      return { data: out.data, shape: [out.shape[0], out.shape[1], out.shape[3]] };
    },
    smooth: true,
  },
  {
    name: "convTranspose2d",
    covers: ["convInputGrad", "conv", "convWeightGrad"],
    cases: convSpec
      .chain((s) =>
        fc
          .tuple(small(0, Math.max(s.sh, s.dh) - 1), small(0, Math.max(s.sw, s.dw) - 1))
          .map(([oph, opw]) => ({ s, oph, opw })),
      )
      .filter(
        ({ s, oph, opw }) =>
          (s.h - 1) * s.sh - 2 * s.ph + s.dh * (s.kh - 1) + oph >= 0 &&
          (s.w - 1) * s.sw - 2 * s.pw + s.dw * (s.kw - 1) + opw >= 0,
      )
      .map(({ s, oph, opw }) => {
        const shapes = [
          [s.n, s.cg * s.groups, s.h, s.w],
          [s.cg * s.groups, s.og, s.kh, s.kw],
        ];
        if (s.bias) shapes.push([s.og * s.groups]);
        return { shapes, args: { s, oph, opw } };
      }),
    domain: convDomain,
    fn: (args, x, w, b) => {
      const { s, oph, opw } = args as { s: ConvCase; oph: number; opw: number };
      return ag.convTranspose2d(x, w, b ?? null, {
        stride: [s.sh, s.sw],
        padding: [s.ph, s.pw],
        outputPadding: [oph, opw],
        dilation: [s.dh, s.dw],
        groups: s.groups,
      });
    },
    ref: (args, x, w, b) => {
      const { s, oph, opw } = args as { s: ConvCase; oph: number; opw: number };
      return convTranspose2dRef(
        x,
        w,
        b === undefined ? null : b.data,
        [s.sh, s.sw],
        [s.ph, s.pw],
        [oph, opw],
        [s.dh, s.dw],
        s.groups,
      );
    },
    smooth: true,
  },
  {
    name: "unfold",
    covers: ["conv", "convInputGrad", "convWeightGrad"],
    cases: convSpec
      .filter((s) => fits(s.h, s.ph, s.kh, s.dh) && fits(s.w, s.pw, s.kw, s.dw))
      .map((s) => ({ shapes: [[s.n, s.cg, s.h, s.w]], args: s })),
    domain: wide,
    fn: (args, x) => {
      const s = args as ConvCase;
      return ag.unfold(x, [s.kh, s.kw], {
        stride: [s.sh, s.sw],
        padding: [s.ph, s.pw],
        dilation: [s.dh, s.dw],
      });
    },
    ref: (args, x) => {
      // unfold is a convolution with one-hot weights: output row (c, ki, kj) picks x[c] at (ki, kj).
      const s = args as ConvCase;
      const K = s.kh * s.kw;
      const w = new Array<number>(s.cg * K * s.cg * K).fill(0);
      for (let r = 0; r < s.cg * K; r++) w[r * s.cg * K + r] = 1;
      const out = conv2dRef(x, { data: w, shape: [s.cg * K, s.cg, s.kh, s.kw] }, null, windowOf(s), 1);
      return { data: out.data, shape: [out.shape[0], out.shape[1], out.shape[2] * out.shape[3]] };
    },
    smooth: true,
  },
  {
    name: "maxPool2d",
    covers: ["takeAlongAxis", "scatterAddAlongAxis"],
    cases: poolSpec.map((s) => ({ shapes: [[s.n, s.c, s.h, s.w]], args: s })),
    domain: { min: -3, max: 3 },
    distinct: true,
    fn: (args, x) => {
      const s = args as PoolCase;
      return ag.maxPool2d(x, [s.kh, s.kw], {
        stride: [s.sh, s.sw],
        padding: [s.ph, s.pw],
        dilation: [s.dh, s.dw],
        ceilMode: s.ceil,
      });
    },
    ref: (args, x) => {
      const s = args as PoolCase;
      return poolRef(x, [s.kh, s.kw], [s.sh, s.sw], [s.ph, s.pw], [s.dh, s.dw], poolSizes(s, true), maxOf);
    },
    // Piecewise linear, and the samples are tie-free: the gradient is a fixed gather near each sample.
    smooth: true,
  },
  {
    name: "avgPool2d",
    covers: ["conv", "convInputGrad", "convWeightGrad"],
    cases: poolSpec.map((s) => ({ shapes: [[s.n, s.c, s.h, s.w]], args: s })),
    domain: wide,
    fn: (args, x) => {
      const s = args as PoolCase;
      return ag.avgPool2d(x, [s.kh, s.kw], {
        stride: [s.sh, s.sw],
        padding: [s.ph, s.pw],
        ceilMode: s.ceil,
        countIncludePad: s.includePad,
      });
    },
    ref: (args, x) => {
      const s = args as PoolCase;
      // Divisor: the window clipped to the padded input (includePad) or to the input itself.
      const clip = (start: number, k: number, size: number, pad: number) =>
        s.includePad
          ? Math.min(start + k, size + pad) - start
          : Math.min(start + k, size) - Math.max(start, 0);
      return poolRef(
        x,
        [s.kh, s.kw],
        [s.sh, s.sw],
        [s.ph, s.pw],
        [1, 1],
        poolSizes(s, false),
        (v, oy, ox) => {
          const div = clip(oy * s.sh - s.ph, s.kh, s.h, s.ph) * clip(ox * s.sw - s.pw, s.kw, s.w, s.pw);
          return v.reduce((a, b) => a + b, 0) / div;
        },
      );
    },
    smooth: true,
  },
  {
    name: "adaptiveAvgPool2d",
    covers: ["matmul", "sum"],
    cases: fc
      .record({
        n: small(1, 2),
        c: small(1, 2),
        h: small(1, 6),
        w: small(1, 6),
        oh: small(1, 4),
        ow: small(1, 4),
      })
      .map((s) => ({ shapes: [[s.n, s.c, s.h, s.w]], args: s })),
    domain: wide,
    fn: (args, x) => {
      const s = args as { oh: number; ow: number };
      return ag.adaptiveAvgPool2d(x, [s.oh, s.ow]);
    },
    ref: (args, x) => {
      const s = args as { n: number; c: number; h: number; w: number; oh: number; ow: number };
      const data: number[] = [];
      for (let p = 0; p < s.n * s.c; p++) {
        for (let i = 0; i < s.oh; i++) {
          for (let j = 0; j < s.ow; j++) {
            const y0 = Math.floor((i * s.h) / s.oh);
            const y1 = Math.ceil(((i + 1) * s.h) / s.oh);
            const x0 = Math.floor((j * s.w) / s.ow);
            const x1 = Math.ceil(((j + 1) * s.w) / s.ow);
            let acc = 0;
            for (let y = y0; y < y1; y++)
              for (let xx = x0; xx < x1; xx++) acc += x.data[(p * s.h + y) * s.w + xx];
            data.push(acc / ((y1 - y0) * (x1 - x0)));
          }
        }
      }
      return { data, shape: [s.n, s.c, s.oh, s.ow] };
    },
    smooth: true,
  },
];
