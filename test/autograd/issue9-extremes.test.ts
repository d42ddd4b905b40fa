import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ag from "@tapegrad/autograd";
import {
  type DType,
  grads,
  type KernelBackend,
  setKernelBackend,
  Tensor,
  wasmAvailable,
} from "@tapegrad/autograd";
import { afterAll, describe, expect, it } from "vitest";

/** Written by test/fixtures/torch/gen_issue9_extremes.py (torch 1.13); see there for the encoding. */
interface Case {
  op: string;
  dtype: "float32" | "float64";
  inputs: string[][];
  shapes?: number[][];
  out: string[];
  grads: string[][];
}
const here = dirname(fileURLToPath(import.meta.url));
const fixture = {
  cases: readFileSync(join(here, "../fixtures/torch/issue9_extremes.jsonl"), "utf8")
    .trim()
    .split("\n")
    .slice(1) // the first line names the torch version
    .map((line) => JSON.parse(line) as Case),
};

const decode = (s: string): number =>
  s === "nan" ? Number.NaN : s === "inf" ? Infinity : s === "-inf" ? -Infinity : Number(s);

const ops: Record<string, (...xs: Tensor[]) => Tensor> = {
  gelu: (x) => ag.gelu(x),
  leakyRelu: (x) => ag.leakyRelu(x, 0.01),
  softplus: (x) => ag.softplus(x),
  sigmoid: (x) => ag.sigmoid(x),
  tanh: (x) => ag.tanh(x),
  erf: (x) => ag.erf(x),
  relu: (x) => ag.relu(x),
  clamp: (x) => ag.clamp(x, -1, 1),
  square: (x) => ag.square(x),
  exp: (x) => ag.exp(x),
  abs: (x) => ag.abs(x),
  sqrt: (x) => ag.sqrt(x),
  pow2: (x) => ag.pow(x, 2),
  pow3: (x) => ag.pow(x, 3),
  powMinus1: (x) => ag.pow(x, -1),
  log: (x) => ag.log(x),
  mean: (x) => ag.mean(x),
  sum: (x) => ag.sum(x),
  logsumexp: (x) => ag.logsumexp(x, 0),
  softmax: (x) => ag.softmax(x, 0),
  logSoftmax: (x) => ag.logSoftmax(x, 0),
  max: (x) => ag.max(x),
  min: (x) => ag.min(x),
  maximum: (a, b) => ag.maximum(a, b),
  minimum: (a, b) => ag.minimum(a, b),
};

function make(values: string[], dtype: DType, shape: number[]): Tensor {
  const data = values.map(decode);
  return new Tensor(dtype === "float32" ? Float32Array.from(data) : Float64Array.from(data), shape);
}

/**
 * Equal as torch computes them: same NaN-ness, same infinities, else within `ulps` of the dtype.
 * Values get 4 ulps; gradients 256, since composites (gelu = ½·x·(1 + erf(x/√2))) lose a few bits to
 * cancellation and to rounding x/√2 before squaring it: the point here is overflow and NaN, which no
 * tolerance hides.
 */
function close(got: number, want: number, dtype: DType, ulps: number): boolean {
  if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got);
  if (!Number.isFinite(want) || !Number.isFinite(got)) return got === want;
  const eps = dtype === "float32" ? 2 ** -23 : 2 ** -52;
  const tiny = dtype === "float32" ? 1e-44 : 1e-322;
  return Math.abs(got - want) <= ulps * eps * Math.abs(want) + tiny;
}

/**
 * Where torch itself overflows and tapegrad does not, the expectation is the exact value instead:
 * - float32 sums accumulate in float64 here (torch: float32), so max + max/2 − max is max/2, not Inf;
 * - a mean whose sum overflows is computed as Σ x/n here: mean([max, max]) is max, not Inf;
 * - at a NaN input, abs′ is NaN (sign(NaN)) and clamp passes the cotangent on (its bounds do not exclude
 *   NaN), where torch 1.13 gives both a gradient of 0: a silently zero gradient, which issue 9 rules out;
 * - logsumexp's gradient is softmax(x), ½ each for two equal entries; torch computes exp(x − lse) with
 *   lse rounded to x at ±max and so gives 1 each.
 */
function exactInstead(c: Case): Case {
  const xs = c.inputs.map((v) => v.map(decode));
  const round = c.dtype === "float32" ? Math.fround : (v: number) => v;
  if (c.op === "sum" && c.dtype === "float32" && xs[0].every(Number.isFinite)) {
    const value = round(xs[0].reduce((a, b) => a + b, 0)); // exact: the inputs are multiples of 2^104
    if (String(value) !== c.out[0]) return { ...c, out: [String(value)] };
  }
  if (c.op === "mean" && xs[0].every(Number.isFinite)) {
    // Quarter first (exact for these powers of two) so the float64 sum cannot overflow either.
    const quarterSum = xs[0].reduce((a, b) => a + b / 4, 0);
    const value = round(quarterSum / xs[0].length) * 4;
    if (String(value) !== c.out[0]) return { ...c, out: [String(value)] };
  }
  if (c.op === "abs" && Number.isNaN(xs[0][0])) return { ...c, grads: [["nan"]] };
  if (c.op === "clamp" && Number.isNaN(xs[0][0])) return { ...c, grads: [["3.0"]] };
  if (c.op === "logsumexp" && xs[0].length === 2 && xs[0][0] === xs[0][1] && Number.isFinite(xs[0][0])) {
    return { ...c, grads: [["1.5", "1.5"]] };
  }
  return c;
}

function mismatches(torchCase: Case): string[] {
  const c = exactInstead(torchCase);
  const shapes = c.shapes ?? c.inputs.map((v) => [v.length]);
  const xs = c.inputs.map((v, i) => make(v, c.dtype, shapes[i]));
  const f = ops[c.op];
  const out = f(...xs);
  const problems: string[] = [];
  const want = c.out.map(decode);
  Array.from(out.data).forEach((v, i) => {
    if (!close(v, want[i], c.dtype, 4)) problems.push(`out[${i}] = ${v}, torch ${want[i]}`);
  });
  // The gradient of Σ 3·f(x), as the generator's cotangent of 3.
  const gs = grads((...args: Tensor[]) =>
    f(...args)
      .mul(3)
      .sum(),
  )(...xs);
  gs.forEach((g, k) => {
    const wantG = c.grads[k].map(decode);
    const got = g === null ? wantG.map(() => 0) : Array.from(g.data);
    got.forEach((v, i) => {
      if (!close(v, wantG[i], c.dtype, 256)) problems.push(`grad ${k}[${i}] = ${v}, torch ${wantG[i]}`);
    });
  });
  return problems;
}

function label(c: Case): string {
  return `${c.op} ${c.dtype} (${c.inputs.map((v) => `[${v.join(", ")}]`).join(", ")})`;
}

const backends: KernelBackend[] = wasmAvailable() ? ["js", "wasm"] : ["js"];
afterAll(() => setKernelBackend("auto"));

/** Runs the check with the JS loops, then with the WASM kernels forced even for tiny tensors. */
function onEveryBackend(c: Case): void {
  for (const b of backends) {
    setKernelBackend(b);
    expect(mismatches(c), `backend ${b}`).toEqual([]);
  }
  setKernelBackend("auto");
}

describe("issue 9.4: maximum/minimum with NaN operands (torch's gradient rule)", () => {
  const cases = fixture.cases.filter((c) => c.op === "maximum" || c.op === "minimum");
  it.each(cases.map((c) => [label(c), c] as const))("%s", (_name, c) => onEveryBackend(c));

  it("NaN forward and full cotangent to both sides on arrays large enough for the WASM kernels", () => {
    for (const b of backends) {
      setKernelBackend(b);
      const n = 2048;
      const a = new Tensor(
        Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? Number.NaN : i)),
        [n],
      );
      const c = new Tensor(
        Float32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? Number.NaN : n - i)),
        [n],
      );
      for (const op of [ag.maximum, ag.minimum]) {
        const y = op(a, c);
        const [ga, gc] = grads((p: Tensor, q: Tensor) => op(p, q).sum())(a, c);
        for (let i = 0; i < n; i++) {
          const nan = Number.isNaN(a.data[i]) || Number.isNaN(c.data[i]);
          expect(Number.isNaN(y.data[i]), `${b} ${op.name} out[${i}]`).toBe(nan);
          if (nan) {
            // Never a silent zero: both operands get the whole cotangent, as in torch.
            expect([ga?.data[i], gc?.data[i]], `${b} grads at ${i}`).toEqual([1, 1]);
          } else {
            expect((ga?.data[i] ?? 0) + (gc?.data[i] ?? 0), `${b} grads at ${i}`).toBe(1);
          }
        }
      }
    }
    setKernelBackend("auto");
  });
});

describe("issue 9.7: composites at the extremes of each dtype match torch (no intermediate overflow)", () => {
  const cases = fixture.cases.filter((c) => c.op !== "maximum" && c.op !== "minimum");
  it.each(cases.map((c) => [label(c), c] as const))("%s", (_name, c) => onEveryBackend(c));
});
