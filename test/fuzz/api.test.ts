/**
 * The API fuzz suite: random chains of public ops on random tensors (0-size dims, scalars, rank <= 5,
 * float32/float64/int32, extremes and NaN/±Inf), with valid and invalid arguments, checked against
 * the reference model in model.ts, then differentiated. Seeded and bounded: see config.ts for
 * FUZZ_SEED and FUZZ_RUNS. Known defects of issue 9 are excused only through known-issues.ts.
 */
import * as ag from "@tapegrad/autograd";
import { type KernelBackend, TapegradError, type Tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  applyCalls,
  checkCall,
  type ForwardRun,
  type Program,
  programArb,
  report,
  runForward,
  sameBits,
  shapeArb,
  startRef,
} from "./chain.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "./config.js";
import { describeFinding, knownIssue } from "./known-issues.js";
import type { DType, Ref } from "./model.js";
import { StepRng } from "./random.js";
import { ALL_OPS, resolve, toRef, toTensor } from "./steps.js";

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });

let previous: KernelBackend;
beforeAll(() => {
  previous = ag.getKernelBackend();
  ag.setKernelBackend("js");
  ag.resetKernelStats();
});
afterAll(() => ag.setKernelBackend(previous));

function withBackend<T>(b: KernelBackend, fn: () => T): T {
  const before = ag.getKernelBackend();
  ag.setKernelBackend(b);
  try {
    return fn();
  } finally {
    ag.setKernelBackend(before);
  }
}

/** A fixed random weighting of the result, so the scalar loss depends on every element differently. */
function weights(p: Program, out: Tensor): Tensor {
  const rng = new StepRng(p.valueSeed ^ 0x5bd1e995);
  const w = ag.tensor(
    Array.from({ length: out.size }, () => Math.round((rng.next() * 2 - 1) * 8) / 8),
    { dtype: out.dtype },
  );
  return w.reshape(out.shape as number[]);
}

/**
 * Elementwise closeness: NaN positions and infinities equal, finite values within tol of the larger
 * magnitude in the array, plus `floor` (gradients: a 1-ulp difference in sigmoid(x) ≈ 1 is an
 * absolute error in y·(1 − y), whatever the size of the gradient).
 */
function closeEnough(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol: number,
  floor = 0,
  sums = false,
): string | null {
  let big = 0;
  for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i])) big = Math.max(big, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) {
      // In a sum of products (GEMM), once a partial result overflows the order of operations decides
      // between ±Inf and NaN (-Inf + Inf in one order, -Inf + finite in another): both must be non-finite.
      if (sums && !Number.isFinite(a[i]) && !Number.isFinite(b[i])) continue;
      if (!(Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i]))))
        return `element ${i}: ${a[i]} vs ${b[i]}`;
    } else if (Math.abs(a[i] - b[i]) > tol * (Math.abs(a[i]) + Math.abs(b[i]) + big) + floor)
      return `element ${i}: ${a[i]} vs ${b[i]}`;
  }
  return null;
}

/** Expects fn to throw a tapegrad error naming `op`. */
function expectNamedError(op: string, fn: () => unknown, context: () => string): void {
  let error: unknown = null;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, `${op} should have failed${context()}`).toBeInstanceOf(TapegradError);
  expect((error as Error).message, context()).toContain(`${op}:`);
}

/** item(), toArray() and the requiresGrad setter on whatever tensor a chain produced. */
function checkTerminalMethods(t: Tensor, context: () => string): void {
  const ctx = () => `\n${context()}`;
  if (t.size === 1) expect(Object.is(t.item(), t.data[0]) || Number.isNaN(t.item())).toBe(true);
  else expectNamedError("item", () => t.item(), ctx);
  // toArray nests by the shape and holds the data in order.
  const nested = t.toArray();
  const flat = t.ndim === 0 ? [nested] : (nested as unknown[]).flat(t.ndim);
  expect(sameBits(flat as number[], t.data), `toArray${ctx()}`).toBeNull();
  let level: unknown = nested;
  for (const d of t.shape) {
    expect(Array.isArray(level) && level.length === d, `toArray nesting${ctx()}`).toBe(true);
    level = (level as unknown[])[0];
    if (d === 0) break;
  }
  if (t.dtype === "int32") expectNamedError("requiresGrad", () => (t.detach().requiresGrad = true), ctx);
}

interface GradRun {
  value: Tensor;
  loss: Tensor | null;
  grad: Tensor | null;
}

/** Forward through the calls from a fresh leaf, then loss.backward(); grad is the leaf's .grad. */
function forwardBackward(p: Program, run: ForwardRun): GradRun {
  const x = toTensor(startRef(p, "any"));
  if (x.dtype !== "int32") x.requiresGrad = true;
  // Every intermediate, with a copy of its values: tensors are values, so neither later ops nor
  // backward (which reuses buffers) may change them.
  const seen: [Tensor, Float64Array][] = [[x, Float64Array.from(x.data)]];
  let value = x;
  for (const c of run.calls) {
    value = c.lib(value);
    seen.push([value, Float64Array.from(value.data)]);
  }
  const unchanged = (when: string): void => {
    for (const [t, copy] of seen) {
      const diff = sameBits(t.data, copy);
      if (diff !== null)
        throw new Error(`a tensor of shape [${t.shape}] changed ${when}: ${diff}\n${report(run)}`);
    }
  };
  unchanged("during the forward pass");
  if (value.dtype === "int32" || !value.requiresGrad) return { value, loss: null, grad: null };
  const loss = value.mul(weights(p, value)).sum();
  loss.backward();
  unchanged("in backward()");
  return { value, loss, grad: x.grad };
}

/** True when every intermediate of the chain is finite and below 1e6 in magnitude at x0. */
function moderate(run: ForwardRun, x0: Ref): boolean {
  let t = toTensor(x0);
  for (const c of run.calls) {
    t = ag.noGrad(() => c.lib(t));
    for (let i = 0; i < t.size; i++) if (!(Math.abs(t.data[i]) < 1e6)) return false;
  }
  return true;
}

function lossFn(p: Program, run: ForwardRun): (x: Tensor) => Tensor {
  return (x) => {
    const value = applyCalls(run.calls, x);
    return value.mul(weights(p, value)).sum();
  };
}

const anyPrograms = programArb("any", 8);

describe("API fuzz: chains of public ops with random arguments", () => {
  it("only tapegrad errors escape, each naming the op called; shapes, dtypes and values match the reference model", () => {
    const tally = new Map<string, { ok: number; error: number }>(
      ALL_OPS.map((op) => [op, { ok: 0, error: 0 }]),
    );
    fc.assert(
      fc.property(anyPrograms, (p) => {
        const run = runForward(p, "any");
        if (run.failures.length > 0) throw new Error(report(run));
        checkTerminalMethods(run.final, () => report(run));
        for (const o of run.outcomes) {
          const t = tally.get(o.op) as { ok: number; error: number };
          if (o.ok) t.ok++;
          else t.error++;
        }
      }),
      fuzzParams(3000, 1),
    );
    // The search reached every op, both with a result and with the error its arguments called for.
    for (const [op, t] of tally) {
      expect(t.ok, `${op} never gave a result`).toBeGreaterThan(0);
      if (op !== "detach" && op !== "sign") expect(t.error, `${op} never raised an error`).toBeGreaterThan(0);
    }
  });

  it("composites and activations at the extremes of each dtype: no intermediate overflow, values as the model's", () => {
    const extremes = fc.record({
      dtype: fc.constantFrom<DType>("float32", "float64"),
      values: fc.array(
        fc.oneof(
          fc.constantFrom(3e38, -3e38, 1.7e308, -1.7e308, 1e30, -1e30, 88.8, -104, 710, -745, 1e-45, 5e-324),
          fc.double({ min: -50, max: 50, noNaN: true }),
        ),
        {
          minLength: 1,
          maxLength: 6,
        },
      ),
      op: fc.constantFrom(
        "gelu",
        "leakyRelu",
        "clamp",
        "softmax",
        "logSoftmax",
        "logsumexp",
        "softplus",
        "sigmoid",
        "tanh",
        "erf",
        "exp",
        "square",
        "sum",
        "mean",
        "max",
        "min",
        "relu",
        "abs",
      ),
      seed: fc.integer({ min: 1, max: 0x7fffffff }),
    });
    fc.assert(
      fc.property(extremes, ({ dtype, values, op, seed }) => {
        const data = values.map((v) => (dtype === "float32" ? Math.fround(v) : v)).filter(Number.isFinite);
        if (data.length === 0) return;
        const x = toTensor({ shape: [data.length], dtype, data });
        const call = resolve(op, new StepRng(seed), x.shape.slice(), dtype, "any");
        const { finding } = checkCall(call, x);
        if (finding !== null && knownIssue(finding) === undefined) throw new Error(describeFinding(finding));
      }),
      fuzzParams(2000, 5),
    );
  });

  it("backward() and grads() give the same gradient, and no error but a tapegrad one", () => {
    fc.assert(
      fc.property(anyPrograms, (p) => {
        const run = runForward(p, "any");
        if (run.failures.length > 0) return; // reported by the test above
        const first = forwardBackward(p, run);
        if (first.loss === null) return;
        // backward on the non-scalar result itself needs a seed of its shape: a named error otherwise.
        if (first.value.size !== 1)
          expectNamedError(
            "backward",
            () => first.value.backward(),
            () => `\n${report(run)}`,
          );
        expectNamedError(
          "backward",
          () => first.value.backward(ag.zeros([first.value.size + 1])),
          () => `\n${report(run)}`,
        );
        const x = toTensor(startRef(p, "any"));
        x.requiresGrad = true;
        const [g] = ag.grads(lossFn(p, run))(x);
        const context = () => `\n${report(run)}`;
        expect(g === null, `grads() null iff .grad null${context()}`).toBe(first.grad === null);
        if (g === null || first.grad === null) return;
        expect(g.dtype).toBe(x.dtype);
        expect(g.shape).toEqual(x.shape);
        expect(sameBits(g.data, first.grad.data), `backward vs grads${context()}`).toBeNull();
        // A retained graph runs backward again and .grad accumulates (g + g is exactly 2g); after a
        // backward that frees it, a third is a named GraphError.
        const x2 = toTensor(startRef(p, "any"));
        x2.requiresGrad = true;
        const loss = lossFn(p, run)(x2);
        loss.backward(undefined, { retainGraph: true });
        loss.backward();
        const twice = Array.from(g.data, (u) => (g.dtype === "float32" ? Math.fround(2 * u) : 2 * u));
        expect(sameBits((x2.grad as Tensor).data, twice), `accumulated .grad${context()}`).toBeNull();
        expectNamedError("backward", () => loss.backward(), context);
      }),
      fuzzParams(1500, 2),
    );
  });

  it("the WASM and JS backends agree bit for bit on chains without exp-based or rounding-order-dependent GEMM kernels", () => {
    let compared = 0;
    fc.assert(
      fc.property(anyPrograms, (p) => {
        const run = runForward(p, "any");
        if (run.failures.length > 0 || !run.calls.every((c) => c.exact)) return;
        const js = withBackend("js", () => forwardBackward(p, run));
        const wasm = withBackend("wasm", () => forwardBackward(p, run));
        const context = () => `\n${report(run)}`;
        expect(sameBits(wasm.value.data, js.value.data), `forward${context()}`).toBeNull();
        if (js.grad !== null && wasm.grad !== null) {
          expect(sameBits(wasm.grad.data, js.grad.data), `gradient${context()}`).toBeNull();
        } else expect(wasm.grad === null).toBe(js.grad === null);
        compared++;
      }),
      fuzzParams(1500, 3),
    );
    expect(compared).toBeGreaterThan(0);
    // The comparison is only worth something if WASM kernels ran.
    expect(ag.elementwiseKernelStats().wasm).toBeGreaterThan(0);
  });

  it("the WASM and JS backends agree within a few ulp on single exp-based ops and float32 products", () => {
    const single = fc.record({
      shape: shapeArb,
      dtype: fc.constantFrom<DType>("float32", "float64"),
      valueSeed: fc.integer({ min: 1, max: 0x7fffffff }),
      special: fc.constantFrom(0, 0.05),
      steps: fc.tuple(
        fc.record({
          op: fc.constantFrom(
            "exp",
            "sigmoid",
            "softplus",
            "erf",
            "gelu",
            "softmax",
            "logSoftmax",
            "logsumexp",
            "matmul",
          ),
          seed: fc.integer({ min: 1, max: 0x7fffffff }),
        }),
      ),
    });
    fc.assert(
      fc.property(single, (p) => {
        const run = runForward(p as Program, "any");
        if (run.failures.length > 0 || run.calls.length === 0) return;
        const js = withBackend("js", () => forwardBackward(p as Program, run));
        const wasm = withBackend("wasm", () => forwardBackward(p as Program, run));
        const tol = p.dtype === "float64" ? 1e-13 : 2e-5;
        const context = () => `\n${report(run)}`;
        const sums = p.steps[0].op === "matmul";
        expect(closeEnough(wasm.value.data, js.value.data, tol, 0, sums), `forward${context()}`).toBeNull();
        if (js.grad !== null && wasm.grad !== null) {
          expect(
            closeEnough(wasm.grad.data, js.grad.data, tol, tol, sums),
            `gradient${context()}`,
          ).toBeNull();
        }
      }),
      fuzzParams(1000, 6),
    );
    expect(ag.kernelStats().wasm).toBeGreaterThan(0);
  });
});

describe("API fuzz: NaN inputs and gradients", () => {
  it("a NaN input that makes the output NaN never gets a silently zero gradient from a selection op", () => {
    const arb = fc.record({
      shape: shapeArb.filter((s) => s.length > 0 && s.every((d) => d > 0)),
      dtype: fc.constantFrom<DType>("float32", "float64"),
      valueSeed: fc.integer({ min: 1, max: 0x7fffffff }),
      op: fc.constantFrom("maximum", "minimum", "max", "min", "clamp", "relu", "abs"),
      seed: fc.integer({ min: 1, max: 0x7fffffff }),
    });
    fc.assert(
      fc.property(arb, ({ shape, dtype, valueSeed, op, seed }) => {
        const rng = new StepRng(valueSeed);
        const n = shape.reduce((a, b) => a * b, 1);
        const data = Array.from({ length: n }, (_, i) =>
          i === 0 || rng.chance(0.3) ? Number.NaN : rng.normal(),
        );
        const call = resolve(op, new StepRng(seed), shape, dtype, "smooth");
        const x = toTensor({ shape, dtype, data });
        x.requiresGrad = true;
        const { out: y, finding } = checkCall(call, x);
        if (finding !== null && knownIssue(finding) === undefined) throw new Error(describeFinding(finding));
        if (y === null || y.size === 0 || !y.requiresGrad) return;
        y.sum().backward();
        const g = x.grad as Tensor;
        for (let i = 0; i < n; i++) {
          if (!Number.isNaN(data[i]) || g.data[i] !== 0) continue;
          const finding = {
            kind: "zero-grad" as const,
            op,
            dtype,
            text: call.text,
            detail: `x[${i}] is NaN and its gradient is 0; x = ${x}`,
          };
          if (knownIssue(finding) === undefined) throw new Error(describeFinding(finding));
        }
      }),
      fuzzParams(1000, 7),
    );
  });
});

describe("API fuzz: gradients of max and min", () => {
  it("split the cotangent evenly among tied extremes, as torch.amax does, over random axes", () => {
    const arb = fc.record({
      shape: shapeArb,
      dtype: fc.constantFrom<DType>("float32", "float64"),
      valueSeed: fc.integer({ min: 1, max: 0x7fffffff }),
      op: fc.constantFrom("max", "min"),
      seed: fc.integer({ min: 1, max: 0x7fffffff }),
    });
    fc.assert(
      fc.property(arb, ({ shape, dtype, valueSeed, op, seed }) => {
        const rng = new StepRng(valueSeed);
        // few distinct values, so that ties are common
        const data = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.int(-2, 2));
        const call = resolve(op, new StepRng(seed), shape, dtype, "smooth");
        const x = toTensor({ shape, dtype, data });
        x.requiresGrad = true;
        const { out: y, finding } = checkCall(call, x);
        if (finding !== null) throw new Error(describeFinding(finding));
        if (y === null || !y.requiresGrad) return;
        y.sum().backward();
        const g = x.grad as Tensor;
        // The model: which elements are extremes of their group, and how many share each group's extreme.
        const yKept = toRef(y);
        for (let i = 0; i < data.length; i++) {
          const expected = expectedShare(x.shape as number[], data, i, yKept, call.ref);
          expect(Math.abs(g.data[i] - expected), `x.grad[${i}] of ${call.text} on ${x}`).toBeLessThanOrEqual(
            1e-6,
          );
        }
      }),
      fuzzParams(400, 9),
    );
  });
});

/**
 * d sum(reduce(x)) / d x[i]: 1/count if x[i] equals its group's extreme (count = ties in the group),
 * else 0. The group of x[i] is found by perturbing: the reduced outputs that change when x[i] moves.
 */
function expectedShare(shape: number[], data: number[], i: number, y: Ref, ref: (x: Ref) => Ref): number {
  const bumped = data.slice();
  bumped[i] += 1000;
  const up = ref({ shape, dtype: "float64", data: bumped });
  bumped[i] -= 2000;
  const down = ref({ shape, dtype: "float64", data: bumped });
  let group = -1;
  for (let o = 0; o < y.data.length; o++)
    if (up.data[o] !== y.data[o] || down.data[o] !== y.data[o]) group = o;
  if (group === -1 || data[i] !== y.data[group]) return 0;
  // count the tied members of that group: elements j whose bump also moves output `group`
  let ties = 0;
  for (let j = 0; j < data.length; j++) {
    if (data[j] !== y.data[group]) continue;
    const b = data.slice();
    b[j] += 1000;
    const u = ref({ shape, dtype: "float64", data: b });
    b[j] -= 2000;
    const d = ref({ shape, dtype: "float64", data: b });
    if (u.data[group] !== y.data[group] || d.data[group] !== y.data[group]) ties++;
  }
  return 1 / ties;
}

describe("API fuzz: smooth float64 chains", () => {
  const smooth = programArb("smooth", 6);

  it("gradients are finite where the loss is finite and match central finite differences", () => {
    fc.assert(
      fc.property(smooth, (p) => {
        const run = runForward(p, "smooth");
        if (run.failures.length > 0) throw new Error(report(run));
        const f = lossFn(p, run);
        const x0 = startRef(p, "smooth");
        const x = toTensor(x0);
        x.requiresGrad = true;
        const loss = f(x);
        if (!Number.isFinite(loss.item()) || Math.abs(loss.item()) > 1e8) return;
        // "Where the forward is finite": every intermediate, not only the loss (erf(exp(exp(exp(x))))
        // is finite while exp overflowed, and its gradient 0·Inf is rightly NaN).
        if (!moderate(run, x0)) return;
        const [g] = ag.grads(f)(x);
        if (g === null) return;
        const context = () => `\n${report(run)}`;
        for (let i = 0; i < g.size; i++)
          expect(Number.isFinite(g.data[i]), `finite gradient${context()}`).toBe(true);
        const rng = new StepRng(p.valueSeed);
        for (let t = 0; t < Math.min(3, g.size); t++) {
          const i = rng.int(0, g.size - 1);
          const h = 1e-5;
          const at = (d: number): number => {
            const data = x0.data.slice();
            data[i] += d;
            return ag.noGrad(() => f(toTensor({ ...x0, data })).item());
          };
          const fd = (at(h) - at(-h)) / (2 * h);
          const tol = 1e-5 * Math.max(1, Math.abs(fd), Math.abs(loss.item()));
          expect(
            Math.abs(g.data[i] - fd),
            `d loss / d x[${i}]: ${g.data[i]} vs FD ${fd}${context()}`,
          ).toBeLessThanOrEqual(tol);
        }
      }),
      fuzzParams(1000, 4),
    );
  });

  it("second derivatives: grad of (grad(f) · v) matches central differences of grad(f) along v", () => {
    fc.assert(
      fc.property(smooth, (p) => {
        const run = runForward(p, "smooth");
        if (run.failures.length > 0) throw new Error(report(run));
        const f = lossFn(p, run);
        const x0 = startRef(p, "smooth");
        const rng = new StepRng(p.valueSeed ^ 0x2545f491);
        const v = x0.data.map(() => rng.next() * 2 - 1);
        const vt = toTensor({ ...x0, data: v });
        if (!moderate(run, x0)) return;
        const gradAt = (data: number[]): Tensor | null => ag.grad(f)(toTensor({ ...x0, data }));
        const g0 = gradAt(x0.data);
        if (g0 === null || !g0.data.every(Number.isFinite) || g0.data.some((u) => Math.abs(u) > 1e6)) return;
        const hv = ag.grad((x: Tensor) => {
          const g = ag.grad(f)(x);
          return g === null ? x.mul(0).sum() : g.mul(vt).sum();
        })(toTensor(x0));
        if (hv === null) return;
        const h = 1e-5;
        const plus = gradAt(x0.data.map((u, i) => u + h * v[i]));
        const minus = gradAt(x0.data.map((u, i) => u - h * v[i]));
        if (plus === null || minus === null) return;
        const context = () => `\n${report(run)}`;
        for (let i = 0; i < hv.size; i++) {
          const fd = (plus.data[i] - minus.data[i]) / (2 * h);
          const tol = 1e-4 * Math.max(1, Math.abs(fd));
          expect(
            Math.abs(hv.data[i] - fd),
            `(H·v)[${i}]: ${hv.data[i]} vs FD ${fd}${context()}`,
          ).toBeLessThanOrEqual(tol);
        }
      }),
      fuzzParams(300, 8),
    );
  });
});

describe("API fuzz: errors", () => {
  it("a tapegrad error is an instance of the exported classes", () => {
    // Sanity of the oracle itself: the error classes the suite accepts are the package's own.
    expect(new ag.ShapeError("x: y")).toBeInstanceOf(TapegradError);
  });
});
