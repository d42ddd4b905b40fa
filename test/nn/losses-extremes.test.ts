import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type DType, gradcheck, gradgradcheck, Tensor, ValueError } from "@tapegrad/autograd";
import { crossEntropy, type Loss, l2, mse, NN, quadratic, sigmoid, softmaxCrossEntropy } from "@tapegrad/nn";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/**
 * Losses at the edges of their domain, against PyTorch 1.13 (test/fixtures/torch/gen_losses.py writes
 * losses.json; see its docstring for the torch equivalent of each loss).
 */

type Num = number | "inf" | "-inf" | "nan";
const num = (v: Num): number =>
  v === "inf" ? Infinity : v === "-inf" ? -Infinity : v === "nan" ? Number.NaN : v;
const nums = (vs: Num[]): number[] => vs.map(num);

interface BceCase {
  name: string;
  dtype: DType;
  shape: number[];
  yHat: Num[];
  y: Num[];
  loss: Num;
  gradYHat: Num[];
}
interface SigmoidCase {
  name: string;
  dtype: DType;
  x: number;
  y: number;
  sigmoid: Num;
  loss: Num;
  gradX: Num;
}
interface SoftmaxCase {
  name: string;
  dtype: DType;
  shape: number[];
  logits: Num[];
  ids?: number[];
  probs?: Num[];
  loss: Num;
  grad: Num[];
}
interface SquaredCase {
  name: string;
  dtype: DType;
  shape: number[];
  yHat: Num[];
  y: Num[];
  l2: { loss: Num; grad: Num[] };
  quadratic: { loss: Num; grad: Num[] };
  mse: { loss: Num; grad: Num[] };
}
const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, "../fixtures/torch/losses.json"), "utf8"),
) as {
  crossEntropy: BceCase[];
  crossEntropySigmoid: SigmoidCase[];
  softmaxCrossEntropy: SoftmaxCase[];
  squared: SquaredCase[];
};

const make = (values: number[], shape: number[], dtype: DType): Tensor =>
  new Tensor(dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values), shape);

/** Same non-finite value, or |a − b| ≤ atol + rtol·max(|a|, |b|); rtol by dtype (torch runs float32 in float32). */
function expectClose(actual: ArrayLike<number>, expected: number[], dtype: DType, what: string): void {
  // atol: torch computes float32 in float32 (1 − 2e-9 is 1 there; denormals may flush), tapegrad in float64
  const rtol = dtype === "float32" ? 2e-6 : 1e-12;
  const atol = dtype === "float32" ? 1e-8 : 1e-300;
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (!Number.isFinite(b)) {
      expect(a, `${what} [${i}]`).toBe(b);
      continue;
    }
    expect(Number.isFinite(a), `${what} [${i}]: ${a} vs torch ${b}`).toBe(true);
    expect(Math.abs(a - b), `${what} [${i}]: ${a} vs torch ${b}`).toBeLessThanOrEqual(
      atol + rtol * Math.max(Math.abs(a), Math.abs(b)),
    );
  }
}

/** Loss value and tape gradient with respect to the prediction. */
function lossAndGrad(loss: Loss, yHat: Tensor, y: Tensor): { value: number; grad: ArrayLike<number> } {
  const p = new Tensor(yHat.data.slice(), yHat.shape);
  p.requiresGrad = true;
  const out = loss.fn(p, y);
  out.backward();
  if (p.grad === null) throw new Error("no gradient reached the prediction");
  return { value: out.data[0], grad: p.grad.data };
}

describe("issue 9.2: crossEntropy clamps each log at -100 like PyTorch's BCELoss", () => {
  for (const c of fixture.crossEntropy) {
    it(`${c.dtype} ${c.name}: loss, tape gradient and deriv equal torch`, () => {
      const yHat = make(nums(c.yHat), c.shape, c.dtype);
      const y = make(nums(c.y), c.shape, c.dtype);
      const { value, grad } = lossAndGrad(crossEntropy, yHat, y);
      expectClose([value], [num(c.loss)], c.dtype, "loss");
      expectClose(grad, nums(c.gradYHat), c.dtype, "tape gradient");
      expectClose(crossEntropy.deriv(yHat, y).data, nums(c.gradYHat), c.dtype, "deriv");
    });
  }

  it("the issue's examples: loss 0 for ŷ = y = 1 and 100 for ŷ = 0, y = 1", () => {
    expect(crossEntropy.fn(make([1], [1], "float32"), make([1], [1], "float32")).data[0]).toBe(0);
    expect(crossEntropy.fn(make([0], [1], "float32"), make([1], [1], "float32")).data[0]).toBe(100);
  });

  for (const c of fixture.crossEntropySigmoid) {
    it(`through ${c.name}: finite loss and gradient equal torch`, () => {
      const x = make([c.x], [1], c.dtype);
      x.requiresGrad = true;
      const s = x.sigmoid();
      expectClose(s.data, [num(c.sigmoid)], c.dtype, "sigmoid");
      const out = crossEntropy.fn(s, make([c.y], [1], c.dtype));
      out.backward();
      const g = x.grad?.data[0] ?? Number.NaN;
      expect(Number.isFinite(out.data[0])).toBe(true);
      expect(Number.isFinite(g)).toBe(true);
      expectClose([out.data[0]], [num(c.loss)], c.dtype, "loss");
      expectClose([g], [num(c.gradX)], c.dtype, "gradient through sigmoid");
    });
  }

  it("deriv equals the tape gradient everywhere on [0, 1], saturated ends included (property)", () => {
    const prob = fc.oneof(
      fc.constantFrom(0, 1, 1e-300, 1 - 2 ** -53, 2 ** -24, 1 - 2 ** -24, Math.exp(-100)),
      fc.double({ min: 0, max: 1, noNaN: true }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom<DType>("float32", "float64"),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.tuple(prob, prob), { minLength: 9, maxLength: 9 }),
        (dtype, rows, cols, pairs) => {
          const n = rows * cols;
          const yHat = make(
            pairs.slice(0, n).map(([p]) => p),
            [rows, cols],
            dtype,
          );
          const y = make(
            pairs.slice(0, n).map(([, t]) => t),
            [rows, cols],
            dtype,
          );
          const { value, grad } = lossAndGrad(crossEntropy, yHat, y);
          expect(Number.isFinite(value)).toBe(true);
          expect(value).toBeGreaterThanOrEqual(0);
          const d = crossEntropy.deriv(yHat, y).data;
          for (let i = 0; i < n; i++) {
            expect(Number.isFinite(grad[i])).toBe(true);
            const tol = (dtype === "float32" ? 1e-6 : 1e-14) * Math.max(1, Math.abs(grad[i]));
            expect(
              Math.abs(d[i] - grad[i]),
              `element ${i}: deriv ${d[i]} vs tape ${grad[i]}`,
            ).toBeLessThanOrEqual(tol);
          }
        },
      ),
      { seed: 9002, numRuns: 150 },
    );
  });

  it("inside (0, 1) the gradient, for ŷ and for y, is the exact one, and twice differentiable (gradcheck)", () => {
    const yHat = make([0.2, 0.7, 0.5, 0.95, 0.05, 0.33], [2, 3], "float64");
    const y = make([0.1, 0.8, 0.25, 0.9, 0.5, 0.6], [2, 3], "float64"); // inside: finite differences step both ways
    const f = (p: Tensor, t: Tensor) => crossEntropy.fn(p, t);
    expect(gradcheck(f, [yHat, y]).ok).toBe(true);
    expect(gradgradcheck(f, [yHat, y]).ok).toBe(true);
  });

  const bad: Array<[string, number[], number[], RegExp]> = [
    ["a tanh output below 0", [0.5, -0.25], [1, 0], /prediction.*-0\.25.*\[1\]/],
    ["a prediction above 1", [1.5, 0.5], [1, 0], /prediction.*1\.5.*\[0\]/],
    ["a NaN prediction", [0.5, Number.NaN], [1, 0], /prediction.*NaN.*\[1\]/],
    ["a target of 2", [0.5, 0.5], [2, 0], /target.*2.*\[0\]/],
    ["a negative target", [0.5, 0.5], [0, -1], /target.*-1.*\[1\]/],
  ];
  for (const [what, p, t, message] of bad) {
    it(`rejects ${what} with a ValueError naming crossEntropy, the value and its position (fn and deriv)`, () => {
      for (const call of [crossEntropy.fn, crossEntropy.deriv]) {
        const err = (() => {
          try {
            call(make(p, [2], "float64"), make(t, [2], "float64"));
          } catch (e) {
            return e;
          }
          return null;
        })();
        expect(err).toBeInstanceOf(ValueError);
        expect((err as Error).message).toMatch(/^crossEntropy: /);
        expect((err as Error).message).toMatch(message);
      }
    });
  }

  it("rejects the tanh network's outputs instead of returning a NaN loss", () => {
    const z = make([-2, 0.5, 3, -0.1], [2, 2], "float64");
    const out = z.tanh();
    expect(() => crossEntropy.fn(out, make([0, 1, 1, 0], [2, 2], "float64"))).toThrow(ValueError);
    expect(() => crossEntropy.fn(out, make([0, 1, 1, 0], [2, 2], "float64"))).toThrow(
      /prediction -0\.96\d* at \[0, 0\]/,
    );
  });
});

describe("issue 9.3: softmaxCrossEntropy picks the target's log-probability (masked logits)", () => {
  for (const c of fixture.softmaxCrossEntropy) {
    it(`${c.dtype} ${c.name}: loss, tape gradient and deriv equal torch`, () => {
      const logits = make(nums(c.logits), c.shape, c.dtype);
      const y =
        c.ids !== undefined
          ? new Tensor(Int32Array.from(c.ids), c.shape.length === 1 ? [] : [c.ids.length])
          : make(nums(c.probs ?? []), c.shape, c.dtype);
      const { value, grad } = lossAndGrad(softmaxCrossEntropy, logits, y);
      expectClose([value], [num(c.loss)], c.dtype, "loss");
      expectClose(grad, nums(c.grad), c.dtype, "tape gradient");
      expectClose(softmaxCrossEntropy.deriv(logits, y).data, nums(c.grad), c.dtype, "deriv");
    });
  }

  it("the issue's example: [[0, -Infinity, 1]] with target 0 is 1.3133, not NaN", () => {
    const logits = make([0, -Infinity, 1], [1, 3], "float32");
    const v = softmaxCrossEntropy.fn(logits, new Tensor(Int32Array.from([0]), [1])).data[0];
    expect(v).toBeCloseTo(1.3133, 4);
  });
});

describe("issue 9 loss review: l2, quadratic and mse at the extremes of each dtype", () => {
  const squaredLosses: Array<[Loss, "l2" | "quadratic" | "mse"]> = [
    [l2, "l2"],
    [quadratic, "quadratic"],
    [mse, "mse"],
  ];
  for (const c of fixture.squared) {
    for (const [loss, key] of squaredLosses) {
      it(`${c.dtype} ${key} ${c.name}: loss, tape gradient and deriv equal torch`, () => {
        const yHat = make(nums(c.yHat), c.shape, c.dtype);
        const y = make(nums(c.y), c.shape, c.dtype);
        const { value, grad } = lossAndGrad(loss, yHat, y);
        expectClose([value], [num(c[key].loss)], c.dtype, "loss");
        expectClose(grad, nums(c[key].grad), c.dtype, "tape gradient");
        expectClose(loss.deriv(yHat, y).data, nums(c[key].grad), c.dtype, "deriv");
      });
    }
  }
});

describe("issue 9.2: manual backprop (crossEntropy.deriv) and the tape agree through saturated float32 sigmoids", () => {
  for (const [x, y] of [
    [20, 1],
    [20, 0],
    [17, 0],
    [17, 1],
    [-20, 1],
    [-104, 1],
    [-104, 0],
  ]) {
    it(`z = ${x}, target ${y}: equal, finite gradients`, () => {
      const nn = new NN([1, 1], sigmoid, crossEntropy, { dtype: "float32", seed: 1 });
      nn.w[0].data[0] = 1;
      nn.b[0].data[0] = 0;
      const input = make([x], [1, 1], "float32");
      const target = make([y], [1, 1], "float32");
      const manual = nn.backprop(input, target);
      const tape = nn.backpropTape(input, target);
      for (const [m, t] of [
        [manual.wGrad[0], tape.wGrad[0]],
        [manual.bGrad[0], tape.bGrad[0]],
      ]) {
        expect(Number.isFinite(t.data[0])).toBe(true);
        expectClose(m.data, Array.from(t.data), "float32", "manual vs tape");
      }
    });
  }
});
