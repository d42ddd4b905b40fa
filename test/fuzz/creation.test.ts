/**
 * Fuzzing the ways a tensor comes into being: tensor(), full/zeros/ones, arange, eye and the Tensor
 * constructor, with random (valid and invalid) shapes, values and dtypes; and calls whose result
 * cannot be allocated. The model here says what each call must give or that it must fail with a
 * tapegrad error naming the function; known defects are excused only through known-issues.ts.
 */
import * as ag from "@tapegrad/autograd";
import { TapegradError, Tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { expect, it, vi } from "vitest";
import { compareValues } from "./chain.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "./config.js";
import { describeFinding, type Finding, knownIssue } from "./known-issues.js";
import { type DType, INT32_MAX, INT32_MIN, Invalid, invalid, type Ref, round } from "./model.js";

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });

const dtypeArb = fc.constantFrom<DType | undefined>("float32", "float64", "int32", undefined);
const valueArb = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(
    1.5,
    -0.5,
    3e9,
    -3e9,
    INT32_MAX,
    INT32_MIN,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    -0,
    1e-320,
    3.5e38,
  ),
  fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
);
const dimArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, 1.5, Number.NaN, "2", null) },
);
const shapeArb = fc.array(dimArb, { maxLength: 4 });

/** The values a dtype can hold exactly: int32 takes integers in range only (issue 9.5: no wrapping, no truncation). */
function store(values: number[], dtype: DType): number[] {
  if (dtype === "int32") {
    for (const v of values) {
      if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) invalid(`${v} does not fit int32`);
    }
  }
  return values.map((v) => round(dtype, v));
}

function dims(shape: unknown): number[] {
  if (!Array.isArray(shape)) invalid("shape must be an array");
  for (const d of shape)
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) invalid(`bad dimension ${String(d)}`);
  return shape as number[];
}

const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** Runs `lib`, compares with `model` (a Ref or Invalid), returns the finding if any. */
function check(
  op: string,
  dtype: DType | undefined,
  text: string,
  lib: () => Tensor,
  model: () => Ref,
): Finding | null {
  let want: Ref | Invalid;
  try {
    want = model();
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    want = e;
  }
  const base = { op, dtype, text };
  const reason = want instanceof Invalid ? want.message : "the model expects a result";
  let got: Tensor;
  try {
    got = lib();
  } catch (error) {
    if (!(error instanceof TapegradError)) return { ...base, kind: "raw-error", detail: reason, error };
    if (!error.message.includes(`${op}:`)) return { ...base, kind: "wrong-name", detail: reason, error };
    if (!(want instanceof Invalid)) return { ...base, kind: "unexpected-error", detail: reason, error };
    return null;
  }
  if (want instanceof Invalid) return { ...base, kind: "no-error", detail: want.message };
  if (got.shape.join() !== want.shape.join() || got.ndim !== want.shape.length) {
    return { ...base, kind: "shape", detail: `got [${got.shape}], expected [${want.shape}]` };
  }
  if (got.dtype !== want.dtype)
    return { ...base, kind: "dtype", detail: `got ${got.dtype}, expected ${want.dtype}` };
  const diff = compareValues(
    { shape: got.shape.slice(), dtype: got.dtype, data: Array.from(got.data) },
    want,
  );
  return diff === null ? null : { ...base, kind: "value", detail: diff };
}

function assertNoUnknown(f: Finding | null): void {
  if (f !== null && knownIssue(f) === undefined) throw new Error(describeFinding(f));
}

it("tensor(), full(), zeros(), ones(), eye(), arange(): valid calls give the model's tensor, invalid ones a named error", () => {
  const call = fc.oneof(
    fc.record({
      fn: fc.constant("tensor" as const),
      values: fc.array(valueArb, { maxLength: 6 }),
      dtype: dtypeArb,
      shape: fc.option(shapeArb, { nil: undefined }),
      typed: fc.constantFrom<DType | null>(null, "float32", "float64", "int32"),
    }),
    fc.record({
      fn: fc.constantFrom("full" as const, "zeros" as const, "ones" as const),
      shape: shapeArb,
      value: valueArb,
      dtype: dtypeArb,
    }),
    fc.record({
      fn: fc.constant("eye" as const),
      n: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom(-1, 1.5, Number.NaN)),
      dtype: dtypeArb,
    }),
    fc.record({
      fn: fc.constant("arange" as const),
      start: fc.integer({ min: -4, max: 4 }),
      stop: fc.integer({ min: -4, max: 8 }),
      step: fc.constantFrom(1, 2, -1, 0.5, 0, Number.NaN),
      dtype: dtypeArb,
    }),
  );
  fc.assert(
    fc.property(call, (c) => {
      const opts = c.dtype === undefined ? {} : { dtype: c.dtype };
      const dtype: DType = c.dtype ?? "float32";
      let f: Finding | null;
      if (c.fn === "tensor") {
        const arrays = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;
        // A typed array holds only what its own dtype holds; what tensor() must then do is the model's business.
        const source = c.typed === null ? c.values : Array.from(arrays[c.typed].from(c.values));
        const data = c.typed === null ? c.values : arrays[c.typed].from(c.values);
        const shape = c.shape;
        f = check(
          "tensor",
          dtype,
          `tensor(${c.typed ?? "[...]"} ${JSON.stringify(source)}, ${JSON.stringify({ ...opts, shape })})`,
          () => ag.tensor(data, { ...opts, ...(shape === undefined ? {} : { shape: shape as number[] }) }),
          () => {
            const s = shape === undefined ? [source.length] : dims(shape);
            if (size(s) !== source.length) invalid("values do not fill the shape");
            const own: DType = c.dtype ?? (c.typed === null ? "float32" : c.typed);
            return { shape: s, dtype: own, data: store(source, own) };
          },
        );
      } else if (c.fn === "eye") {
        f = check(
          "eye",
          dtype,
          `eye(${c.n}, ${JSON.stringify(opts)})`,
          () => ag.eye(c.n, opts),
          () => {
            if (!Number.isInteger(c.n) || c.n < 0) invalid("n");
            return {
              shape: [c.n, c.n],
              dtype,
              data: Array.from({ length: c.n * c.n }, (_, i) => (i % (c.n + 1) === 0 ? 1 : 0)),
            };
          },
        );
      } else if (c.fn === "arange") {
        f = check(
          "arange",
          dtype,
          `arange(${c.start}, ${c.stop}, ${c.step}, ${JSON.stringify(opts)})`,
          () => ag.arange(c.start, c.stop, c.step, opts),
          () => {
            if (!Number.isFinite(c.step) || c.step === 0) invalid("step");
            const n = Math.max(0, Math.ceil((c.stop - c.start) / c.step));
            return {
              shape: [n],
              dtype,
              data: store(
                Array.from({ length: n }, (_, i) => c.start + i * c.step),
                dtype,
              ),
            };
          },
        );
      } else {
        const value = c.fn === "full" ? c.value : c.fn === "ones" ? 1 : 0;
        const lib =
          c.fn === "full"
            ? () => ag.full(c.shape as number[], value, opts)
            : c.fn === "zeros"
              ? () => ag.zeros(c.shape as number[], opts)
              : () => ag.ones(c.shape as number[], opts);
        f = check(
          c.fn,
          dtype,
          `${c.fn}(${JSON.stringify(c.shape)}${c.fn === "full" ? `, ${value}` : ""}, ${JSON.stringify(opts)})`,
          lib,
          () => {
            const s = dims(c.shape);
            store([value], dtype); // the fill value must fit the dtype even when there are no elements
            return { shape: s, dtype, data: store(new Array(size(s)).fill(value), dtype) };
          },
        );
      }
      assertNoUnknown(f);
    }),
    fuzzParams(3000, 11),
  );
});

it("new Tensor(data, shape) accepts exactly the shapes of non-negative integers whose product is data.length", () => {
  const arb = fc.record({
    n: fc.integer({ min: 0, max: 6 }),
    shape: fc.oneof(shapeArb, fc.constantFrom<unknown>(undefined, "3", 3)),
  });
  fc.assert(
    fc.property(arb, ({ n, shape }) => {
      const data = new Float64Array(n).map((_, i) => i);
      assertNoUnknown(
        check(
          "Tensor",
          "float64",
          `new Tensor(Float64Array(${n}), ${JSON.stringify(shape)})`,
          () => new Tensor(data, shape as number[]),
          () => {
            const s = dims(shape);
            if (size(s) !== n) invalid("shape product differs from data.length");
            return { shape: s, dtype: "float64", data: Array.from(data) };
          },
        ),
      );
    }),
    fuzzParams(1000, 12),
  );
});

it("a result too large to allocate is a tapegrad error naming the op, never a raw RangeError", () => {
  // 2^34 or more elements: beyond any typed array, so these fail at once and never touch memory.
  const huge = 2 ** 17;
  const cases: [string, () => Tensor][] = [
    ["zeros", () => ag.zeros([huge, huge])],
    ["full", () => ag.full([huge, huge, 2], 1)],
    ["add", () => ag.zeros([huge, 1]).add(ag.zeros([1, huge]))],
    ["mul", () => ag.mul(ag.ones([huge, 1, 1]), ag.ones([1, huge, 1]))],
    ["broadcastTo", () => ag.zeros([1]).broadcastTo([huge, huge])],
    ["pad", () => ag.zeros([2]).pad(0, 0, 2 ** 34)],
    ["matmul", () => ag.zeros([huge, 1]).matmul(ag.zeros([1, huge]))],
    ["scatterAdd", () => ag.zeros([1, 2]).scatterAdd([0], 0, 2 ** 34)],
  ];
  // Each failed attempt costs tens of milliseconds, so every case runs once rather than at random.
  for (const [op, run] of cases)
    assertNoUnknown(
      check(op, "float32", `${op}(... 2^34 elements ...)`, run, () => invalid("cannot allocate")),
    );
  expect(cases.length).toBe(8);
});

it("configuration, random and transform functions with random arguments: a result or an error naming the function", () => {
  const junk = fc.constantFrom<unknown>(
    undefined,
    null,
    "x",
    1.5,
    -1,
    Number.NaN,
    {},
    [],
    [2, 3],
    "float64",
    "js",
    true,
    0,
    2,
    () => ag.ones([1]).sum(),
  );
  const calls: [string, (v: unknown) => unknown][] = [
    ["setDefaultDtype", (v) => ag.setDefaultDtype(v as never)],
    ["setKernelBackend", (v) => ag.setKernelBackend(v as never)],
    ["setKernelThreads", (v) => ag.setKernelThreads(v as never)],
    ["setStorageOptions", (v) => ag.setStorageOptions(v as never)],
    ["setAnomalyMode", (v) => ag.setAnomalyMode(v as never)],
    ["manualSeed", (v) => ag.manualSeed(v as never)],
    ["rand", (v) => ag.rand(v as never)],
    ["rand", (v) => ag.rand([2], v as never)],
    ["randn", (v) => ag.randn([2], { std: 1, seed: v } as never)],
    ["Rng", (v) => new ag.Rng(v as never)],
    ["onesLike", (v) => ag.onesLike(v as never)],
    ["zerosLike", (v) => ag.zerosLike(ag.ones([1]), v as never)],
    ["noGrad", (v) => ag.noGrad(v as never)],
    ["enableGrad", (v) => ag.enableGrad(v as never)],
    ["record", (v) => ag.record(v as never)],
    ["scope", (v) => ag.scope("s", v as never)],
    ["grads", (v) => ag.grads(v as never)(ag.ones([1]))],
    ["grad", (v) => ag.grad((x: Tensor) => x.sum())(v as never)],
    ["valueAndGrad", (v) => ag.valueAndGrad(v as never)(ag.ones([1]))],
    ["gradcheck", (v) => ag.gradcheck((...xs: Tensor[]) => (xs[0] ?? ag.ones([1])).sum(), v as never)],
    ["gradgradcheck", (v) => ag.gradgradcheck(v as never, [ag.ones([1], { dtype: "float64" })])],
  ];
  const saved = {
    dtype: ag.getDefaultDtype(),
    backend: ag.getKernelBackend(),
    threads: ag.getKernelThreads(),
    storage: ag.getStorageOptions(),
    anomaly: ag.isAnomalyModeEnabled(),
  };
  try {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: calls.length - 1 }), junk, (i, v) => {
        const [op, run] = calls[i];
        try {
          run(v);
        } catch (e) {
          if (!(e instanceof TapegradError))
            throw new Error(`${op}(${String(v)}): raw ${(e as Error)?.name}: ${(e as Error)?.message}`);
          if (!e.message.includes(`${op}:`))
            throw new Error(`${op}(${String(v)}): the error does not name ${op}: ${e.message}`);
        } finally {
          ag.setDefaultDtype(saved.dtype);
          ag.setKernelBackend(saved.backend);
          ag.setKernelThreads(saved.threads);
          ag.setStorageOptions(saved.storage);
          ag.setAnomalyMode(saved.anomaly);
        }
      }),
      fuzzParams(600, 14),
    );
  } finally {
    ag.manualSeed(0);
  }
});
