import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  elementwiseKernelStats,
  getKernelBackend,
  type KernelBackend,
  resetKernelStats,
  setKernelBackend,
  wasmAvailable,
} from "../backend.js";
import { activationGrad, type BinaryOp, binary, type GradOp } from "../binary.js";
import { permute } from "../layout.js";
import type { NumericArray } from "../types.js";
import { type UnaryOp, unary } from "../unary.js";

/** WASM kernels against the JS loops they replace (the reference), with the backend forced per call. */

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const DTYPES: readonly Ctor[] = [Float32Array, Float64Array];

const SPECIAL = [
  Number.NaN,
  Infinity,
  -Infinity,
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  1e-45,
  -1e-45,
  5e-324,
  1e-310,
  1e-8,
  3.4e38,
  -3.4e38,
  1e308,
  -1e308,
  88.72,
  88.73,
  -87.3,
  -103.9,
  -104,
  709.78,
  709.79,
  -708.4,
  -745.1,
  -745.2,
  -746,
  20,
  -20,
];

/** Distance in units in the last place between two floats of the dtype (0 for two NaNs). */
function ulps(a: number, b: number, f32: boolean): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (a === b) return 0;
  if (f32) {
    const i = new Int32Array(new Float32Array([a, b]).buffer);
    const key = (v: number) => (v < 0 ? -2147483648 - v : v);
    return Math.abs(key(i[0]!) - key(i[1]!));
  }
  const i = new BigInt64Array(new Float64Array([a, b]).buffer);
  const key = (v: bigint) => (v < 0n ? -(2n ** 63n) - v : v);
  const d = key(i[0]!) - key(i[1]!);
  return Number(d < 0n ? -d : d);
}

function maxUlps(a: ArrayLike<number>, b: ArrayLike<number>, f32: boolean): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, ulps(a[i]!, b[i]!, f32));
  return worst;
}

function expectSame(wasm: ArrayLike<number>, js: ArrayLike<number>, what: string): void {
  expect(wasm.length).toBe(js.length);
  for (let i = 0; i < js.length; i++) {
    if (!Object.is(wasm[i], js[i]) && !(Number.isNaN(wasm[i]) && Number.isNaN(js[i]))) {
      expect.fail(`${what}: element ${i} is ${wasm[i]} on WASM, ${js[i]} in JS`);
    }
  }
}

/** Runs `kernel` on the JS backend into a fresh output, then on WASM, asserting that WASM ran. */
function both<T extends NumericArray>(
  make: () => T,
  kernel: (out: T) => void,
  expectWasm = true,
): { js: T; wasm: T } {
  const js = make();
  setKernelBackend("js");
  kernel(js);
  const wasm = make();
  setKernelBackend("wasm");
  resetKernelStats();
  kernel(wasm);
  const stats = elementwiseKernelStats();
  expect(stats).toEqual(expectWasm ? { js: 0, wasm: 1 } : { js: 1, wasm: 0 });
  return { js, wasm };
}

const value = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 4, arbitrary: fc.double({ min: -30, max: 30, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ noNaN: false }) },
);
const length = fc.oneof(fc.constantFrom(0, 1, 3, 5, 7, 1023), fc.integer({ min: 0, max: 300 }));
const dtype = fc.constantFrom(...DTYPES);

/** An array of `shape`'s size from a seeded LCG: values in [-4, 4), every 7th-ish one from SPECIAL. */
function seededFill(T: (typeof DTYPES)[number], shape: number[], seed: number): Float32Array | Float64Array {
  const n = shape.reduce((p, q) => p * q, 1);
  const arr = new T(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    arr[i] = s % 7 === 0 ? SPECIAL[s % SPECIAL.length]! : (s / 2 ** 32 - 0.5) * 8;
  }
  return arr;
}

let saved: KernelBackend;
beforeEach(() => {
  saved = getKernelBackend();
});
afterEach(() => {
  setKernelBackend(saved);
});

describe("elementwise WASM kernels", () => {
  it("run here (SIMD available)", () => {
    expect(wasmAvailable()).toBe(true);
  });

  // Dense sweeps over the whole range where exp/sigmoid are neither 0 nor Infinity nor 1, and beyond.
  // Max observed in 2,000,001-point sweeps: exp float32 1 ulp, float64 2 ulp; sigmoid 2 ulp.
  for (const [op, bound32, bound64] of [
    ["exp", 1, 2],
    ["sigmoid", 2, 2],
  ] as const) {
    it(`${op}: within ${bound32} ulp (float32) / ${bound64} ulp (float64) of the JS loop over a dense sweep`, () => {
      for (const T of DTYPES) {
        const f32 = T === Float32Array;
        const [lo, hi] = f32 ? [-110, 100] : [-750, 712];
        const n = 200_001;
        const x = new T(n);
        for (let i = 0; i < n; i++) x[i] = lo + ((hi - lo) * i) / (n - 1);
        const { js, wasm } = both(
          () => new T(n),
          (out) => unary(op, x, out),
        );
        const worst = maxUlps(wasm, js, f32);
        expect(worst, `${op} ${T.name}`).toBeLessThanOrEqual(f32 ? bound32 : bound64);
        // Special values: NaN, infinities, zeros, overflow, subnormal results.
        const s = new T(SPECIAL);
        const sp = both(
          () => new T(s.length),
          (out) => unary(op, s, out),
        );
        expect(maxUlps(sp.wasm, sp.js, f32), `${op} ${T.name} special values`).toBeLessThanOrEqual(
          f32 ? bound32 : bound64,
        );
        for (let i = 0; i < s.length; i++) {
          const v = s[i]!;
          if (Number.isNaN(v)) expect(sp.wasm[i]).toBeNaN();
          if (v === Infinity) expect(sp.wasm[i]).toBe(op === "exp" ? Infinity : 1);
          if (v === -Infinity) expect(sp.wasm[i]).toBe(0);
          if (v === 0) expect(sp.wasm[i]).toBe(op === "exp" ? 1 : 0.5);
        }
      }
    });
  }

  it("unary ops match the JS loops (exact, or within 2 ulp for exp and sigmoid) on random lengths and values", () => {
    const ops: UnaryOp[] = ["exp", "sigmoid", "relu", "neg", "abs", "square", "sqrt"];
    fc.assert(
      fc.property(
        dtype,
        fc.constantFrom(...ops),
        length.chain((n) => fc.array(value, { minLength: n, maxLength: n })),
        (T, op, xs) => {
          const x = new T(xs);
          const { js, wasm } = both(
            () => new T(x.length),
            (out) => unary(op, x, out),
            x.length > 0,
          );
          if (op === "exp" || op === "sigmoid")
            expect(maxUlps(wasm, js, T === Float32Array), `${op} ${T.name}`).toBeLessThanOrEqual(2);
          else expectSame(wasm, js, `${op} ${T.name}`);
        },
      ),
      { seed: 42, numRuns: 150 },
    );
  });

  it("activation gradients match activationGrad's JS loops bit for bit", () => {
    const ops: GradOp[] = ["sigmoidGrad", "tanhGrad", "reluGrad"];
    fc.assert(
      fc.property(
        dtype,
        fc.constantFrom(...ops),
        length.chain((n) =>
          fc.tuple(
            fc.array(value, { minLength: n, maxLength: n }),
            fc.array(value, { minLength: n, maxLength: n }),
          ),
        ),
        (T, op, [ys, gs]) => {
          // Saved activations in their natural range half the time (tanh near ±1, sigmoid near 0/1).
          const y = new T(ys.map((v, i) => (i % 2 === 0 && Number.isFinite(v) ? Math.tanh(v) : v)));
          const g = new T(gs);
          const { js, wasm } = both(
            () => new T(y.length),
            (out) => activationGrad(op, y, g, out),
            y.length > 0,
          );
          expectSame(wasm, js, `${op} ${T.name}`);
        },
      ),
      { seed: 42, numRuns: 150 },
    );
  });

  it("binary ops match the JS loops bit for bit: same shape, scalar operands, row and trailing-block broadcasts", () => {
    const ops: BinaryOp[] = ["add", "sub", "mul", "div", "maximum", "minimum"];
    const dims = fc.oneof(fc.constantFrom(1, 3, 5, 7), fc.integer({ min: 1, max: 40 }));
    const cases = [
      "same",
      "bScalar",
      "aScalar",
      "bRow",
      "aRow",
      "bRowFlat",
      "aRow3d",
      "bBlock3d",
      "aBlock3d",
    ] as const;
    fc.assert(
      fc.property(
        dtype,
        fc.constantFrom(...ops),
        fc.constantFrom(...cases),
        dims,
        dims,
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (T, op, kind, rows, cols, seed) => {
          const outShape = kind.endsWith("3d") ? [2, rows, cols] : [rows, cols];
          const full = outShape.reduce((p, q) => p * q, 1);
          const shapes: Record<(typeof cases)[number], [number[], number[]]> = {
            same: [outShape, outShape],
            bScalar: [outShape, []],
            aScalar: [[1], outShape],
            bRow: [outShape, [1, cols]],
            aRow: [[1, cols], outShape],
            bRowFlat: [outShape, [cols]],
            aRow3d: [[cols], outShape],
            // a trailing block repeated over the leading axis: attention's [T, T] mask over [B, H, T, T]
            bBlock3d: [outShape, [1, rows, cols]],
            aBlock3d: [[rows, cols], outShape],
          };
          const [aShape, bShape] = shapes[kind];
          const a = seededFill(T, aShape, seed ^ 1);
          const b = seededFill(T, bShape, seed ^ 2);
          const { js, wasm } = both(
            () => new T(full),
            (out) => binary(op, a, aShape, b, bShape, out, outShape),
          );
          expectSame(wasm, js, `${op} ${T.name} ${kind} [${aShape}] [${bShape}]`);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it("column broadcasts (a value per row: NCHW's channels, a [B, T, 1] statistic) match the JS loops bit for bit, either side", () => {
    const ops: BinaryOp[] = ["add", "sub", "mul", "div", "maximum", "minimum"];
    const small = fc.integer({ min: 1, max: 4 });
    const side = fc.integer({ min: 1, max: 9 });
    fc.assert(
      fc.property(
        dtype,
        fc.constantFrom(...ops),
        fc.constantFrom("channel", "channelPerSample", "channelRank3", "rowStat"),
        fc.boolean(),
        small,
        small,
        side,
        side,
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (T, op, kind, colIsB, n, c, h, w, seed) => {
          fc.pre(h * w >= 8);
          const outShape = kind === "rowStat" ? [n, c, h * w] : [n, c, h, w];
          const colShape = {
            channel: [1, c, 1, 1],
            channelPerSample: [n, c, 1, 1],
            channelRank3: [c, 1, 1],
            rowStat: [n, c, 1],
          }[kind];
          const full = seededFill(T, outShape, seed ^ 1);
          const col = seededFill(T, colShape, seed ^ 2);
          const [a, aShape, b, bShape] = colIsB
            ? [full, outShape, col, colShape]
            : [col, colShape, full, outShape];
          const { js, wasm } = both(
            () => new T(full.length),
            (out) => binary(op, a, aShape, b, bShape, out, outShape),
          );
          expectSame(wasm, js, `${op} ${T.name} [${aShape}] [${bShape}]`);
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it("NaN propagates through maximum/minimum from either side, and equal values give b as in JS", () => {
    for (const T of DTYPES) {
      const a = new T([Number.NaN, 1, 0, -0, 2, Number.NaN, -Infinity]);
      const b = new T([1, Number.NaN, -0, 0, 2, Number.NaN, Infinity]);
      for (const op of ["maximum", "minimum"] as const) {
        const { js, wasm } = both(
          () => new T(a.length),
          (out) => binary(op, a, [7], b, [7], out, [7]),
        );
        expectSame(wasm, js, `${op} ${T.name}`);
        expect(Number.isNaN(wasm[0]!) && Number.isNaN(wasm[1]!)).toBe(true);
      }
    }
  });

  it("leaves other broadcasts, int32 arrays and mixed dtypes to JS even on the 'wasm' backend", () => {
    const col = new Float32Array([1, 2, 3]);
    const m = new Float32Array(12).map((_, i) => i);
    const { js, wasm } = both(
      () => new Float32Array(12),
      (out) => binary("add", m, [3, 4], col, [3, 1], out, [3, 4]),
      false,
    );
    expectSame(wasm, js, "column broadcast");
    const ints = new Int32Array([-3, 0, 5, 7]);
    const r = both(
      () => new Int32Array(4),
      (out) => unary("neg", ints, out),
      false,
    );
    expectSame(r.wasm, r.js, "int32 neg");
    const mixed = both(
      () => new Float32Array(4),
      (out) => binary("mul", new Float64Array([1, 2, 3, 4]), [4], new Float32Array(4).fill(3), [4], out, [4]),
      false,
    );
    expectSame(mixed.wasm, mixed.js, "mixed dtypes");
  });

  it("2-D transpose matches the JS kernel on random shapes, float32 and float64", () => {
    const dim = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 8), fc.integer({ min: 1, max: 70 }));
    fc.assert(
      fc.property(dtype, dim, dim, (T, rows, cols) => {
        const x = new T(rows * cols).map((_, i) => i * 0.5 - 3);
        const { js, wasm } = both(
          () => new T(rows * cols),
          (out) => permute(x, [rows, cols], [1, 0], out),
        );
        expectSame(wasm, js, `transpose ${T.name} [${rows}, ${cols}]`);
      }),
      { seed: 42, numRuns: 120 },
    );
    // Batched: the last two axes swapped, leading axes kept.
    fc.assert(
      fc.property(
        dtype,
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        dim,
        dim,
        (T, b0, b1, rows, cols) => {
          const shape = [b0, b1, rows, cols];
          const x = new T(b0 * b1 * rows * cols).map((_, i) => i - 7.25);
          const { js, wasm } = both(
            () => new T(x.length),
            (out) => permute(x, shape, [0, 1, 3, 2], out),
          );
          expectSame(wasm, js, `batched transpose ${T.name} [${shape}]`);
        },
      ),
      { seed: 42, numRuns: 60 },
    );
    for (const T of DTYPES) {
      const x = new T(784 * 256).map((_, i) => i);
      const { js, wasm } = both(
        () => new T(784 * 256),
        (out) => permute(x, [784, 256], [1, 0], out),
      );
      expectSame(wasm, js, `transpose ${T.name} [784, 256]`);
    }
  });

  it("'auto' runs small cheap ops in JS and large ones (and exp from a few dozen elements) on WASM", () => {
    setKernelBackend("auto");
    const small = new Float32Array(8).fill(0.5);
    const large = new Float32Array(32768).fill(0.5);
    const runs = (fn: () => void) => {
      resetKernelStats();
      fn();
      return elementwiseKernelStats();
    };
    expect(runs(() => unary("relu", small, new Float32Array(8)))).toEqual({ js: 1, wasm: 0 });
    expect(runs(() => unary("relu", large, new Float32Array(32768)))).toEqual({ js: 0, wasm: 1 });
    expect(runs(() => unary("exp", new Float32Array(300), new Float32Array(300)))).toEqual({
      js: 0,
      wasm: 1,
    });
    expect(
      runs(() =>
        binary("add", large, [128, 256], small.subarray(0, 1), [1], new Float32Array(32768), [128, 256]),
      ),
    ).toEqual({ js: 0, wasm: 1 });
  });
});
