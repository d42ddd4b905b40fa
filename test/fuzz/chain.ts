/**
 * Runs a fuzz program (a start tensor and a chain of op calls) against the library and the reference
 * model, one step at a time: each step's outcome (error or result) is checked against the model's
 * prediction computed from the library's own input to that step, so a rounding difference never
 * carries over into later steps.
 */
import { TapegradError, type Tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { describeFinding, type Finding, knownIssue } from "./known-issues.js";
import { type DType, Invalid, type Ref } from "./model.js";
import { drawUniform, drawValues, StepRng } from "./random.js";
import { ALL_OPS, type Call, DTYPES, type Mode, resolve, SMOOTH_OPS, toRef, toTensor } from "./steps.js";

export interface Step {
  op: string;
  seed: number;
}

export interface Program {
  shape: number[];
  dtype: DType;
  valueSeed: number;
  /** Fraction of extreme and non-finite values in the start tensor. */
  special: number;
  steps: Step[];
}

/** Shapes of rank <= 5 with 0-size dims and scalars, at most 48 elements (a 0-size dim allows more dims). */
export const shapeArb: fc.Arbitrary<number[]> = fc
  .array(
    fc.oneof(
      { weight: 1, arbitrary: fc.constant(0) },
      { weight: 2, arbitrary: fc.constant(1) },
      { weight: 6, arbitrary: fc.integer({ min: 2, max: 4 }) },
    ),
    {
      maxLength: 5,
    },
  )
  .filter((s) => s.reduce((a, b) => a * b, 1) <= 48);

export function programArb(mode: Mode, maxSteps: number): fc.Arbitrary<Program> {
  const ops = mode === "any" ? ALL_OPS : SMOOTH_OPS;
  return fc.record({
    shape: shapeArb,
    dtype: mode === "any" ? fc.constantFrom(...DTYPES) : fc.constant<DType>("float64"),
    valueSeed: fc.integer({ min: 1, max: 0x7fffffff }),
    special: mode === "any" ? fc.constantFrom(0, 0.05, 0.2) : fc.constant(0),
    steps: fc.array(
      fc.record({ op: fc.constantFrom(...ops), seed: fc.integer({ min: 1, max: 0x7fffffff }) }),
      {
        minLength: 1,
        maxLength: maxSteps,
      },
    ),
  });
}

export function startRef(p: Program, mode: Mode): Ref {
  const rng = new StepRng(p.valueSeed);
  const n = p.shape.reduce((a, b) => a * b, 1);
  const data = mode === "smooth" ? drawUniform(rng, n, -2, 2) : drawValues(rng, p.dtype, n, p.special);
  return { shape: p.shape.slice(), dtype: p.dtype, data };
}

const TOL = { float64: 1e-12, float32: 1e-5, int32: 0 } as const;
/** Absolute floor: a few units of the smallest subnormal, where relative precision runs out. */
const FLOOR = { float64: 2e-323, float32: 6e-45, int32: 0 } as const;
/** Above this an element's terms may overflow in one summation order and not another: not compared. */
const LIMIT = { float64: 1e306, float32: 1e37, int32: Number.POSITIVE_INFINITY } as const;

/** null if `got` equals the model's `want` within the dtype's tolerance, NaN positions and infinities included. */
export function compareValues(got: Ref, want: Ref): string | null {
  const tol = TOL[want.dtype];
  const limit = LIMIT[want.dtype];
  for (let i = 0; i < want.data.length; i++) {
    const a = got.data[i];
    const b = want.data[i];
    const sc = want.scale?.[i] ?? 0;
    if (!(sc <= limit)) continue;
    if (Number.isNaN(a) || Number.isNaN(b)) {
      if (Number.isNaN(a) !== Number.isNaN(b)) return `element ${i}: got ${a}, expected ${b}`;
      continue;
    }
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      if (a !== b) return `element ${i}: got ${a}, expected ${b}`;
      continue;
    }
    if (Math.abs(a - b) > tol * (Math.abs(b) + sc) + FLOOR[want.dtype]) {
      return `element ${i}: got ${a}, expected ${b} (tolerance ${tol}, scale ${sc})`;
    }
  }
  return null;
}

export interface StepOutcome {
  /** The step's result when the model and the library agree it is valid. */
  out: Tensor | null;
  finding: Finding | null;
}

/** Runs one call on `input` and checks it against the model. */
export function checkCall(call: Call, input: Tensor): StepOutcome {
  let want: Ref | Invalid;
  try {
    want = call.ref(toRef(input));
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    want = e;
  }
  let got: Tensor | null = null;
  let error: unknown = null;
  try {
    got = call.lib(input);
  } catch (e) {
    error = e ?? new Error("threw a falsy value");
  }
  const base = { op: call.op, dtype: input.dtype, text: call.text };
  const modelSays = want instanceof Invalid ? want.message : "the model expects a result";
  if (error !== null) {
    if (!(error instanceof TapegradError))
      return { out: null, finding: { ...base, kind: "raw-error", detail: modelSays, error } };
    if (!error.message.includes(`${call.op}:`))
      return { out: null, finding: { ...base, kind: "wrong-name", detail: modelSays, error } };
    if (!(want instanceof Invalid))
      return { out: null, finding: { ...base, kind: "unexpected-error", detail: modelSays, error } };
    return { out: null, finding: null };
  }
  if (want instanceof Invalid)
    return { out: null, finding: { ...base, kind: "no-error", detail: want.message } };
  const res = got as Tensor;
  if (res.shape.join() !== want.shape.join() || res.shape.length !== want.shape.length) {
    return {
      out: null,
      finding: { ...base, kind: "shape", detail: `got [${res.shape}], expected [${want.shape}]` },
    };
  }
  if (res.dtype !== want.dtype)
    return {
      out: null,
      finding: { ...base, kind: "dtype", detail: `got ${res.dtype}, expected ${want.dtype}` },
    };
  const diff = compareValues(toRef(res), want);
  if (diff !== null) return { out: res, finding: { ...base, kind: "value", detail: diff } };
  return { out: res, finding: null };
}

export interface ForwardRun {
  /** The calls that were valid and succeeded, in order (a function of the start tensor). */
  calls: Call[];
  trace: string[];
  /** Findings no known issue excuses. */
  failures: Finding[];
  /** Issue numbers of the known findings met. */
  known: string[];
  /** Per step: the op and whether it gave a result ("ok") or the error the model expected ("error"). */
  outcomes: { op: string; ok: boolean }[];
  final: Tensor;
}

/**
 * Resolves and checks the program's steps in order. A step that fails is recorded and skipped, so one
 * program reports its first unexpected finding; known ones are counted and the chain goes on.
 */
export function runForward(p: Program, mode: Mode): ForwardRun {
  let x = toTensor(startRef(p, mode));
  const calls: Call[] = [];
  const trace = [`x = ${x.toString()}`];
  const failures: Finding[] = [];
  const known: string[] = [];
  const outcomes: { op: string; ok: boolean }[] = [];
  for (const step of p.steps) {
    const call = resolve(step.op, new StepRng(step.seed), x.shape.slice(), x.dtype, mode);
    const { out, finding } = checkCall(call, x);
    trace.push(
      `${call.text}${finding ? `  <-- ${finding.kind}` : out === null ? "  (error, as expected)" : `  -> [${out.shape}] ${out.dtype}`}`,
    );
    if (finding !== null) {
      const k = knownIssue(finding);
      if (k === undefined) {
        failures.push(finding);
        break;
      }
      known.push(k.issue);
      continue;
    }
    outcomes.push({ op: step.op, ok: out !== null });
    if (out !== null) {
      calls.push(call);
      x = out;
    }
  }
  return { calls, trace, failures, known, outcomes, final: x };
}

export function report(run: { trace: string[]; failures: Finding[] }): string {
  return [...run.failures.map(describeFinding), "program:", ...run.trace.map((l) => `  ${l}`)].join("\n");
}

/** Applies the calls to x, in order. */
export function applyCalls(calls: readonly Call[], x: Tensor): Tensor {
  let t = x;
  for (const c of calls) t = c.lib(t);
  return t;
}

/** Bitwise equality of two arrays (all NaNs equal; +0 and -0 differ). */
export function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (!(Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i]))))
      return `element ${i}: ${a[i]} vs ${b[i]}`;
  }
  return null;
}
