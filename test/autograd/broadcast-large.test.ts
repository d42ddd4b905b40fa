import {
  add,
  div,
  equal,
  getKernelBackend,
  greater,
  greaterEqual,
  less,
  lessEqual,
  maximum,
  mul,
  notEqual,
  setKernelBackend,
  sub,
  type Tensor,
  tensor,
  where,
} from "@tapegrad/autograd";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { mapN, size } from "../support/reference.js";

/**
 * Elementwise ops above the sizes where the kernels take their fast paths (merged broadcast runs,
 * a fixed operand per run, branch-free comparisons, bitwise where): every broadcast layout the
 * small op-table cases also cover, on both backends, with NaN, ±Inf and -0 among the values.
 */
const SPECIALS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1, -2.5];

const layouts: [number[], number[]][] = [
  [
    [16, 9, 12],
    [16, 9, 12],
  ], // same shape
  [[16, 9, 12], []], // a scalar
  [[], [16, 9, 12]],
  [
    [16, 9, 12],
    [16, 9, 1],
  ], // a row max: one value per run
  [
    [16, 1, 12],
    [16, 9, 1],
  ], // an outer product
  [
    [8, 6, 5, 7],
    [1, 6, 1, 1],
  ], // a channel bias over NCHW
  [[6, 5, 7], [7]], // a bias row
  [
    [2, 1, 9, 12],
    [3, 9, 1],
  ],
];

function values(shape: number[], seed: number, dtype: "float32" | "float64" | "int32"): Tensor {
  const n = size(shape);
  const data = Array.from({ length: n }, (_, i) => {
    const r = Math.sin(seed * 977 + i * 131) * 4;
    if (dtype === "int32") return Math.round(r);
    return i % 11 === 0 ? SPECIALS[(i / 11 + seed) % SPECIALS.length] : Math.round(r * 4) / 4;
  });
  return tensor(data, { shape, dtype });
}

function expectSame(t: Tensor, ref: { data: number[]; shape: number[] }): void {
  expect(t.shape).toEqual(ref.shape);
  const cast =
    t.dtype === "float32" ? Math.fround : t.dtype === "int32" ? (v: number) => v | 0 : (v: number) => v;
  ref.data.forEach((v, i) => {
    expect(Object.is(t.data[i], cast(v)) || (Number.isNaN(v) && Number.isNaN(t.data[i]))).toBe(true);
  });
}

const previous = getKernelBackend();
afterAll(() => setKernelBackend(previous));

describe.each(["js", "auto"] as const)(
  "elementwise ops on large broadcast operands (%s backend)",
  (backend) => {
    const binaries: [string, (a: Tensor, b: Tensor) => Tensor, (x: number, y: number) => number][] = [
      ["add", add, (x, y) => x + y],
      ["sub", sub, (x, y) => x - y],
      ["mul", mul, (x, y) => x * y],
      ["div", div, (x, y) => x / y],
      ["maximum", maximum, (x, y) => (x > y || Number.isNaN(x) ? x : y)],
      ["greater", greater, (x, y) => +(x > y)],
      ["greaterEqual", greaterEqual, (x, y) => +(x >= y)],
      ["less", less, (x, y) => +(x < y)],
      ["lessEqual", lessEqual, (x, y) => +(x <= y)],
      ["equal", equal, (x, y) => +(x === y)],
      ["notEqual", notEqual, (x, y) => +(x !== y)],
    ];

    it.each(binaries)("%s matches the per-element reference in every layout and dtype", (_, op, f) => {
      setKernelBackend(backend);
      for (const dtype of ["float32", "float64"] as const) {
        for (const [sa, sb] of layouts) {
          const a = values(sa, 1, dtype);
          const b = values(sb, 2, dtype);
          expectSame(op(a, b), mapN(f, [a, b]));
        }
      }
    });

    it("where picks bit-exact values (NaN, ±Inf, -0) in every layout, float32, float64 and int32", () => {
      setKernelBackend(backend);
      fc.assert(
        fc.property(
          fc.constantFrom(...layouts),
          fc.constantFrom("float32" as const, "float64" as const, "int32" as const),
          fc.integer({ min: 0, max: 50 }),
          ([sa, sb], dtype, seed) => {
            const a = values(sa, seed, dtype);
            const b = values(sb, seed + 1, dtype);
            // A mask whose own layout is the third broadcast operand, with NaN and -0 among its values.
            const condShape = sa.length >= sb.length ? sb : sa;
            const cond = values(condShape, seed + 2, "float32");
            const out = where(cond, a, b);
            expectSame(
              out,
              mapN((c, x, y) => (c !== 0 ? x : y), [cond, a, b]),
            );
          },
        ),
        { numRuns: 40 },
      );
    });
  },
);
