import fc from "fast-check";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { DTypeError, ShapeError, ValueError } from "../errors.js";
import { resetKernelStats, setKernelBackend, updateKernelStats } from "./backend.js";
import type { FloatArray } from "./types.js";
import {
  type AdamStep,
  adamUpdate,
  adamUpdateJs,
  type SgdStep,
  setUpdateChunkElements,
  sgdUpdate,
  sgdUpdateJs,
  WASM_MIN_ELEMENTS,
} from "./update.js";

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

/** mulberry32: a small seeded generator, so fast-check only has to pick the seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIALS = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 0, -0];

/** Values in [lo, hi); with `specials`, about 1 in 50 is ±∞, NaN or ±0. */
function fill(
  Arr: Ctor,
  n: number,
  next: () => number,
  lo: number,
  hi: number,
  specials = false,
): FloatArray {
  const a = new Arr(n);
  for (let i = 0; i < n; i++) {
    a[i] =
      specials && next() < 0.02 ? SPECIALS[Math.floor(next() * SPECIALS.length)]! : lo + (hi - lo) * next();
  }
  return a;
}

/** Lengths that fill no SIMD vector, odd tails, and a few thousand elements. */
const lengthArb = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 8, 9, 1023),
  fc.integer({ min: 0, max: 2100 }),
);
/** 0 keeps the default chunk (64 KB per array); small chunks run the chunk loop many times. */
const chunkArb = fc.constantFrom(0, 0, 1, 3, 64);
const maybeZero = (arb: fc.Arbitrary<number>) => fc.oneof(fc.constant(0), arb);

const sgdArb: fc.Arbitrary<Omit<SgdStep, "buffer">> = fc
  .record({
    lr: maybeZero(fc.double({ min: 1e-4, max: 1, noNaN: true })),
    weightDecay: maybeZero(fc.double({ min: 1e-4, max: 0.5, noNaN: true })),
    momentum: maybeZero(fc.double({ min: 0.1, max: 0.99, noNaN: true })),
    dampening: maybeZero(fc.double({ min: 0.01, max: 1, noNaN: true })),
    nesterov: fc.boolean(),
    firstStep: fc.boolean(),
  })
  // PyTorch's rule: Nesterov needs momentum and no dampening.
  .map((o) => (o.nesterov ? { ...o, momentum: o.momentum || 0.9, dampening: 0 } : o));

const adamArb = fc.record({
  lr: fc.double({ min: 1e-5, max: 0.5, noNaN: true }),
  beta1: maybeZero(fc.double({ min: 0.5, max: 0.99, noNaN: true })),
  beta2: maybeZero(fc.double({ min: 0.9, max: 0.9999, noNaN: true })),
  eps: fc.constantFrom(1e-8, 1e-6, 0.1),
  weightDecay: maybeZero(fc.double({ min: 1e-4, max: 0.5, noNaN: true })),
  decoupled: fc.boolean(),
  amsgrad: fc.boolean(),
  step: fc.integer({ min: 1, max: 2000 }),
});

interface SgdCase {
  p: FloatArray;
  g: FloatArray;
  buffer: FloatArray | null;
  o: SgdStep;
}

function sgdCase(
  Arr: Ctor,
  n: number,
  seed: number,
  opts: Omit<SgdStep, "buffer">,
  specials: boolean,
): SgdCase {
  const next = rng(seed);
  const p = fill(Arr, n, next, -2, 2, specials);
  const g = fill(Arr, n, next, -1, 1, specials);
  const buffer = opts.momentum ? fill(Arr, n, next, -1, 1) : null;
  return { p, g, buffer, o: { ...opts, buffer } };
}

interface AdamCase {
  p: FloatArray;
  g: FloatArray;
  o: AdamStep;
}

function adamCase(
  Arr: Ctor,
  n: number,
  seed: number,
  opts: Omit<AdamStep, "m" | "v" | "vMax"> & { amsgrad: boolean },
  specials: boolean,
  sameSign = false,
): AdamCase {
  const next = rng(seed);
  const { amsgrad, ...rest } = opts;
  const p = fill(Arr, n, next, -2, 2, specials);
  const g = fill(Arr, n, next, -1, 1, specials);
  // Gradients with the parameter's sign: g + λθ cannot cancel (see the float32 test).
  if (sameSign) for (let i = 0; i < n; i++) g[i] = Math.sign(p[i]!) * Math.abs(g[i]!);
  return {
    p,
    g,
    o: {
      ...rest,
      m: fill(Arr, n, next, -0.5, 0.5),
      v: fill(Arr, n, next, 0, 0.5),
      vMax: amsgrad ? fill(Arr, n, next, 0, 0.5) : null,
    },
  };
}

const copy = <T extends FloatArray | null | undefined>(a: T): T => (a ? (a.slice() as T) : a);
const cloneSgd = (c: SgdCase): SgdCase => {
  const buffer = copy(c.buffer);
  return { p: copy(c.p), g: c.g, buffer, o: { ...c.o, buffer } };
};
const cloneAdam = (c: AdamCase): AdamCase => ({
  p: copy(c.p),
  g: c.g,
  o: { ...c.o, m: copy(c.o.m), v: copy(c.o.v), vMax: copy(c.o.vMax) },
});

/** Index of the first element whose bits differ (NaN equals NaN, +0 differs from -0), or -1. */
function firstDifference(a: FloatArray, b: FloatArray): number {
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/** Index of the first element with |a − b| > tol·scale[i], or -1 (NaN only matches NaN). */
function firstBeyond(a: FloatArray, b: FloatArray, scale: ArrayLike<number>, tol: number): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return i;
    } else if (x !== y && !(Math.abs(x - y) <= tol * scale[i]!)) return i;
  }
  return -1;
}

/**
 * float32 tolerance: 8 float32 ulps (2⁻²³ each) of the magnitude scale of each result, the formula
 * evaluated on absolute values (the sum of the magnitudes its rounding errors are relative to).
 */
const F32_TOL = 8 * 2 ** -23;

function sgdScales(c: SgdCase): { p: Float64Array; b: Float64Array } {
  const n = c.p.length;
  const { lr, weightDecay: wd = 0, momentum: mu = 0, dampening = 0, nesterov, firstStep } = c.o;
  const keep = 1 - dampening;
  const p = new Float64Array(n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = Math.abs(c.g[i]!) + wd * Math.abs(c.p[i]!);
    const bi = mu === 0 ? d : firstStep ? d : mu * Math.abs(c.buffer![i]!) + keep * d;
    b[i] = bi;
    p[i] = Math.abs(c.p[i]!) + lr * (mu === 0 ? d : nesterov ? d + mu * bi : bi);
  }
  return { p, b };
}

function adamScales(c: AdamCase): { p: Float64Array; m: Float64Array; v: Float64Array } {
  const n = c.p.length;
  const { lr, beta1: b1, beta2: b2, eps, weightDecay, decoupled, step: t } = c.o;
  const shrink = decoupled ? Math.abs(1 - lr * weightDecay) : 1;
  const l2 = decoupled ? 0 : weightDecay;
  const stepSize = lr / (1 - b1 ** t);
  const sqrtBc2 = Math.sqrt(1 - b2 ** t);
  const p = new Float64Array(n);
  const m = new Float64Array(n);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const pi = Math.abs(c.p[i]!) * shrink;
    const d = Math.abs(c.g[i]!) + l2 * pi;
    m[i] = b1 * Math.abs(c.o.m[i]!) + (1 - b1) * d;
    v[i] = b2 * c.o.v[i]! + (1 - b2) * d * d;
    const vi = c.o.vMax ? Math.max(v[i]!, c.o.vMax[i]!) : v[i]!;
    p[i] = pi + (stepSize * m[i]!) / (Math.sqrt(vi) / sqrtBc2 + eps);
  }
  return { p, m, v };
}

/**
 * float32 arithmetic as the kernels do it: every operation rounded to float32 (Math.fround of a double
 * operation on float32 values is the float32 operation, for + − × ÷ √), the scalars rounded to float32
 * once, in the kernels' order. WASM float32 must match these bit for bit.
 */
const fr = Math.fround;

function sgdFloat32(p: FloatArray, g: FloatArray, o: SgdStep): void {
  const lr = fr(o.lr);
  const wd = fr(o.weightDecay ?? 0);
  const mu = fr(o.momentum ?? 0);
  const keep = fr(1 - (o.dampening ?? 0));
  const buf = o.buffer;
  for (let i = 0; i < p.length; i++) {
    if (!buf) {
      const d = o.weightDecay ? fr(g[i]! + fr(wd * p[i]!)) : g[i]!;
      p[i] = fr(p[i]! - fr(lr * d));
      continue;
    }
    const d = fr(g[i]! + fr(wd * p[i]!));
    const b = o.firstStep ? d : fr(fr(mu * buf[i]!) + fr(keep * d));
    buf[i] = b;
    p[i] = fr(p[i]! - fr(lr * (o.nesterov ? fr(d + fr(mu * b)) : b)));
  }
}

function adamFloat32(p: FloatArray, g: FloatArray, o: AdamStep): void {
  const t = o.step;
  const stepSize = fr(o.lr / (1 - o.beta1 ** t));
  const sqrtBc2 = fr(Math.sqrt(1 - o.beta2 ** t));
  const [b1, c1, b2, c2, eps] = [o.beta1, 1 - o.beta1, o.beta2, 1 - o.beta2, o.eps].map(fr) as number[];
  const l2 = fr(o.decoupled ? 0 : o.weightDecay);
  const shrink = fr(o.decoupled && o.weightDecay !== 0 ? 1 - o.lr * o.weightDecay : 1);
  const { m, v } = o;
  const vMax = o.vMax ?? null;
  for (let i = 0; i < p.length; i++) {
    const pi = fr(p[i]! * shrink!);
    const d = fr(g[i]! + fr(l2 * pi));
    const mi = fr(fr(b1! * m[i]!) + fr(c1! * d));
    let vi = fr(fr(b2! * v[i]!) + fr(fr(c2! * d) * d));
    m[i] = mi;
    v[i] = vi;
    if (vMax !== null) {
      vi = vi < vMax[i]! ? vMax[i]! : vi;
      vMax[i] = vi;
    }
    p[i] = fr(pi - fr(fr(stepSize * mi) / fr(fr(fr(Math.sqrt(vi)) / sqrtBc2) + eps!)));
  }
}

beforeEach(() => resetKernelStats());
afterEach(() => {
  setUpdateChunkElements(0);
  setKernelBackend("auto");
});
afterAll(() => setKernelBackend("auto"));

describe("sgdUpdate on wasm against the JS loops", () => {
  it("float64: bit-identical for every option combination, length and chunk size, ±∞ and NaN included", () => {
    setKernelBackend("wasm");
    let calls = 0;
    fc.assert(
      fc.property(lengthArb, chunkArb, sgdArb, fc.integer(), (n, chunk, opts, seed) => {
        const ref = sgdCase(Float64Array, n, seed, opts, true);
        const got = cloneSgd(ref);
        setUpdateChunkElements(chunk);
        sgdUpdate(got.p, got.g, got.o);
        calls++;
        sgdUpdateJs(ref.p, ref.g, ref.o);
        expect(firstDifference(got.p, ref.p), "parameter").toBe(-1);
        if (ref.buffer) expect(firstDifference(got.buffer!, ref.buffer), "momentum buffer").toBe(-1);
      }),
      { seed: 42, numRuns: 300 },
    );
    expect(updateKernelStats()).toEqual({ js: 0, wasm: calls });
  });

  it("float32: float32 arithmetic bit for bit, and within 8 ulps of each result's magnitude of the JS loops", () => {
    setKernelBackend("wasm");
    let calls = 0;
    fc.assert(
      fc.property(lengthArb, chunkArb, sgdArb, fc.integer(), (n, chunk, opts, seed) => {
        const ref = sgdCase(Float32Array, n, seed, opts, false);
        const scale = sgdScales(ref);
        const got = cloneSgd(ref);
        const f32 = cloneSgd(ref);
        setUpdateChunkElements(chunk);
        sgdUpdate(got.p, got.g, got.o);
        calls++;
        sgdFloat32(f32.p, f32.g, f32.o);
        expect(firstDifference(got.p, f32.p), "parameter, float32 arithmetic").toBe(-1);
        if (ref.buffer)
          expect(firstDifference(got.buffer!, f32.buffer!), "buffer, float32 arithmetic").toBe(-1);
        sgdUpdateJs(ref.p, ref.g, ref.o);
        expect(firstBeyond(got.p, ref.p, scale.p, F32_TOL), "parameter").toBe(-1);
        if (ref.buffer) expect(firstBeyond(got.buffer!, ref.buffer, scale.b, F32_TOL), "buffer").toBe(-1);
      }),
      { seed: 43, numRuns: 300 },
    );
    expect(updateKernelStats()).toEqual({ js: 0, wasm: calls });
  });
});

describe("adamUpdate on wasm against the JS loops", () => {
  it("float64: bit-identical for Adam, AdamW and AMSGrad, every length and chunk size, ±∞ and NaN included", () => {
    setKernelBackend("wasm");
    let calls = 0;
    fc.assert(
      fc.property(lengthArb, chunkArb, adamArb, fc.integer(), (n, chunk, opts, seed) => {
        const ref = adamCase(Float64Array, n, seed, opts, true);
        const got = cloneAdam(ref);
        setUpdateChunkElements(chunk);
        adamUpdate(got.p, got.g, got.o);
        calls++;
        adamUpdateJs(ref.p, ref.g, ref.o);
        expect(firstDifference(got.p, ref.p), "parameter").toBe(-1);
        expect(firstDifference(got.o.m, ref.o.m), "m").toBe(-1);
        expect(firstDifference(got.o.v, ref.o.v), "v").toBe(-1);
        if (ref.o.vMax) expect(firstDifference(got.o.vMax!, ref.o.vMax), "vMax").toBe(-1);
      }),
      { seed: 44, numRuns: 300 },
    );
    expect(updateKernelStats()).toEqual({ js: 0, wasm: calls });
  });

  it("float32: float32 arithmetic bit for bit for Adam, AdamW and AMSGrad", () => {
    setKernelBackend("wasm");
    let calls = 0;
    fc.assert(
      fc.property(lengthArb, chunkArb, adamArb, fc.integer(), (n, chunk, opts, seed) => {
        const f32 = adamCase(Float32Array, n, seed, opts, false);
        const got = cloneAdam(f32);
        setUpdateChunkElements(chunk);
        adamUpdate(got.p, got.g, got.o);
        calls++;
        adamFloat32(f32.p, f32.g, f32.o);
        expect(firstDifference(got.p, f32.p), "parameter").toBe(-1);
        expect(firstDifference(got.o.m, f32.o.m), "m").toBe(-1);
        expect(firstDifference(got.o.v, f32.o.v), "v").toBe(-1);
        if (f32.o.vMax) expect(firstDifference(got.o.vMax!, f32.o.vMax), "vMax").toBe(-1);
      }),
      { seed: 45, numRuns: 300 },
    );
    expect(updateKernelStats()).toEqual({ js: 0, wasm: calls });
  });

  it("float32: within 8 ulps of each result's magnitude of the JS loops (double arithmetic)", () => {
    // Where g + λθ cancels, m/(√v + ε) amplifies the float32 rounding of g + λθ by up to |g|/ε (the
    // JS loops keep g + λθ in double): an honest difference between float32 and float64 arithmetic,
    // not a kernel error. Gradients here carry their parameter's sign, so the sum cannot cancel.
    setKernelBackend("wasm");
    fc.assert(
      fc.property(lengthArb, chunkArb, adamArb, fc.integer(), (n, chunk, opts, seed) => {
        const ref = adamCase(Float32Array, n, seed, opts, false, true);
        const scale = adamScales(ref);
        const got = cloneAdam(ref);
        setUpdateChunkElements(chunk);
        adamUpdate(got.p, got.g, got.o);
        adamUpdateJs(ref.p, ref.g, ref.o);
        expect(firstBeyond(got.p, ref.p, scale.p, F32_TOL), "parameter").toBe(-1);
        expect(firstBeyond(got.o.m, ref.o.m, scale.m, F32_TOL), "m").toBe(-1);
        expect(firstBeyond(got.o.v, ref.o.v, scale.v, F32_TOL), "v").toBe(-1);
        if (ref.o.vMax) expect(firstBeyond(got.o.vMax!, ref.o.vMax, scale.v, F32_TOL), "vMax").toBe(-1);
      }),
      { seed: 46, numRuns: 300 },
    );
  });

  it("runs several default-size chunks (float32 and float64) and stays bit-identical in float64", () => {
    setKernelBackend("wasm");
    for (const [Arr, n] of [
      [Float32Array, 3 * 16_384 + 5],
      [Float64Array, 2 * 8_192 + 3],
    ] as const) {
      const opts = {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0.01,
        decoupled: true,
        step: 7,
      };
      const ref = adamCase(Arr, n, 11, { ...opts, amsgrad: true }, false);
      const scale = adamScales(ref);
      const got = cloneAdam(ref);
      adamUpdate(got.p, got.g, got.o);
      adamUpdateJs(ref.p, ref.g, ref.o);
      if (Arr === Float64Array) expect(firstDifference(got.p, ref.p)).toBe(-1);
      else expect(firstBeyond(got.p, ref.p, scale.p, F32_TOL)).toBe(-1);
      const sgd = sgdCase(
        Arr,
        n,
        12,
        { lr: 0.1, momentum: 0.9, weightDecay: 0.001, firstStep: false },
        false,
      );
      const sgdScale = sgdScales(sgd);
      const sgdGot = cloneSgd(sgd);
      sgdUpdate(sgdGot.p, sgdGot.g, sgdGot.o);
      sgdUpdateJs(sgd.p, sgd.g, sgd.o);
      if (Arr === Float64Array) expect(firstDifference(sgdGot.p, sgd.p)).toBe(-1);
      else expect(firstBeyond(sgdGot.p, sgd.p, sgdScale.p, F32_TOL)).toBe(-1);
    }
    expect(updateKernelStats()).toEqual({ js: 0, wasm: 4 });
  });

  it("the float32 tolerance is tight enough to catch a wrong operation", () => {
    // The same case with a slightly different beta2 must fail the check the kernels pass.
    const opts = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 3 };
    const ref = adamCase(Float32Array, 64, 5, { ...opts, amsgrad: false }, false);
    const scale = adamScales(ref);
    const got = cloneAdam(ref);
    adamUpdateJs(got.p, got.g, { ...got.o, beta2: 0.998 });
    adamUpdateJs(ref.p, ref.g, ref.o);
    expect(firstBeyond(got.p, ref.p, scale.p, F32_TOL)).not.toBe(-1);
  });
});

describe("every option combination, both dtypes, lengths 0, 1, 3, 5 and 1023", () => {
  const lengths = [0, 1, 3, 5, 1023];
  const bools = [false, true];

  it("SGD: momentum, weight decay, dampening, Nesterov, first step", () => {
    setKernelBackend("wasm");
    let calls = 0;
    for (const Arr of [Float32Array, Float64Array])
      for (const n of lengths)
        for (const momentum of [0, 0.9])
          for (const weightDecay of [0, 0.01])
            for (const dampening of [0, 0.3])
              for (const nesterov of bools)
                for (const firstStep of bools) {
                  if (nesterov && (momentum === 0 || dampening !== 0)) continue;
                  const opts = { lr: 0.05, momentum, weightDecay, dampening, nesterov, firstStep };
                  const ref = sgdCase(Arr, n, calls + 1, opts, false);
                  const got = cloneSgd(ref);
                  const f32 = cloneSgd(ref);
                  sgdUpdate(got.p, got.g, got.o);
                  calls++;
                  sgdUpdateJs(ref.p, ref.g, ref.o);
                  const what = `${Arr.name} n=${n} ${JSON.stringify(opts)}`;
                  if (Arr === Float64Array) {
                    expect(firstDifference(got.p, ref.p), what).toBe(-1);
                    if (ref.buffer) expect(firstDifference(got.buffer!, ref.buffer), what).toBe(-1);
                  } else {
                    sgdFloat32(f32.p, f32.g, f32.o);
                    expect(firstDifference(got.p, f32.p), what).toBe(-1);
                    if (ref.buffer) expect(firstDifference(got.buffer!, f32.buffer!), what).toBe(-1);
                    expect(firstBeyond(got.p, ref.p, sgdScales(ref).p, F32_TOL), what).toBe(-1);
                  }
                }
    expect(updateKernelStats()).toEqual({ js: 0, wasm: calls });
  });

  it("Adam: decoupled (AdamW) or L2, weight decay, AMSGrad", () => {
    setKernelBackend("wasm");
    let calls = 0;
    for (const Arr of [Float32Array, Float64Array])
      for (const n of lengths)
        for (const decoupled of bools)
          for (const weightDecay of [0, 0.05])
            for (const amsgrad of bools) {
              const opts = {
                lr: 0.01,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weightDecay,
                decoupled,
                step: 4,
                amsgrad,
              };
              const ref = adamCase(Arr, n, calls + 1, opts, false, true);
              const got = cloneAdam(ref);
              const f32 = cloneAdam(ref);
              const scale = adamScales(ref);
              adamUpdate(got.p, got.g, got.o);
              calls++;
              adamUpdateJs(ref.p, ref.g, ref.o);
              const what = `${Arr.name} n=${n} ${JSON.stringify(opts)}`;
              if (Arr === Float64Array) {
                expect(firstDifference(got.p, ref.p), what).toBe(-1);
                expect(firstDifference(got.o.m, ref.o.m), what).toBe(-1);
                expect(firstDifference(got.o.v, ref.o.v), what).toBe(-1);
                if (ref.o.vMax) expect(firstDifference(got.o.vMax!, ref.o.vMax), what).toBe(-1);
              } else {
                adamFloat32(f32.p, f32.g, f32.o);
                expect(firstDifference(got.p, f32.p), what).toBe(-1);
                expect(firstDifference(got.o.m, f32.o.m), what).toBe(-1);
                expect(firstDifference(got.o.v, f32.o.v), what).toBe(-1);
                if (ref.o.vMax) expect(firstDifference(got.o.vMax!, f32.o.vMax!), what).toBe(-1);
                expect(firstBeyond(got.p, ref.p, scale.p, F32_TOL), what).toBe(-1);
              }
            }
    expect(updateKernelStats()).toEqual({ js: 0, wasm: calls });
  });
});

describe("backend selection and argument checks", () => {
  const sgdArgs = (Arr: Ctor, n: number) => ({ p: new Arr(n).fill(1), g: new Arr(n).fill(0.5) });

  it("'js' runs the JS loops, 'auto' switches to wasm at WASM_MIN_ELEMENTS, 'wasm' even for one element", () => {
    setKernelBackend("js");
    const big = sgdArgs(Float32Array, 4 * WASM_MIN_ELEMENTS);
    sgdUpdate(big.p, big.g, { lr: 0.1 });
    expect(updateKernelStats()).toEqual({ js: 1, wasm: 0 });
    setKernelBackend("auto");
    const small = sgdArgs(Float32Array, WASM_MIN_ELEMENTS - 1);
    sgdUpdate(small.p, small.g, { lr: 0.1 });
    expect(updateKernelStats()).toEqual({ js: 2, wasm: 0 });
    const edge = sgdArgs(Float64Array, WASM_MIN_ELEMENTS);
    sgdUpdate(edge.p, edge.g, { lr: 0.1 });
    expect(updateKernelStats()).toEqual({ js: 2, wasm: 1 });
    expect(edge.p[WASM_MIN_ELEMENTS - 1]).toBe(1 - 0.1 * 0.5);
    setKernelBackend("wasm");
    const one = sgdArgs(Float64Array, 1);
    const m = new Float64Array(1);
    const v = new Float64Array(1);
    adamUpdate(one.p, one.g, {
      lr: 0.1,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      decoupled: false,
      step: 1,
      m,
      v,
    });
    expect(updateKernelStats()).toEqual({ js: 2, wasm: 2 });
    // First Adam step: m̂/√v̂ = g/|g|, so θ moves by lr·sign(g) up to eps.
    expect(one.p[0]).toBeCloseTo(1 - 0.1, 6);
    expect(m[0]).toBeCloseTo(0.05, 15);
  });

  it("rejects mismatched lengths, dtypes, a missing momentum buffer and a bad step count", () => {
    const p = new Float32Array(4);
    expect(() => sgdUpdate(p, new Float32Array(3), { lr: 0.1 })).toThrow(ShapeError);
    expect(() => sgdUpdate(p, new Float32Array(4), { lr: 0.1, momentum: 0.9 })).toThrow(ValueError);
    expect(() =>
      sgdUpdate(p, new Float32Array(4), { lr: 0.1, momentum: 0.9, buffer: new Float64Array(4) }),
    ).toThrow(DTypeError);
    const o = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false };
    expect(() =>
      adamUpdate(p, new Float32Array(4), { ...o, step: 1, m: new Float32Array(4), v: new Float32Array(5) }),
    ).toThrow(/adamUpdate: v has 5 elements, the parameter 4/);
    expect(() =>
      adamUpdate(p, new Float32Array(4), { ...o, step: 0, m: new Float32Array(4), v: new Float32Array(4) }),
    ).toThrow(/step must be an integer >= 1/);
    expect(updateKernelStats()).toEqual({ js: 0, wasm: 0 });
  });
});
