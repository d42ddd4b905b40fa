import { customOp, gradcheck, gradgradcheck, type Tensor, tensor } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

const f64 = (data: number[]): Tensor => tensor(data, { dtype: "float64" });

// x² with a deliberately wrong vjp: 3x·g instead of 2x·g.
const wrongSquare = customOp({
  name: "wrongSquare",
  forward: (x) => x.mul(x),
  vjp: (g, [x]) => g.mul(x).mul(3),
});
// x³ whose vjp is right to first order but detaches x, so its second order is wrong (zero).
const cubeFlatSecondOrder = customOp({
  name: "cube",
  forward: (x) => x.mul(x).mul(x),
  vjp: (g, [x]) => g.mul(x.detach().square().mul(3)),
});

describe("review: gradcheck and gradgradcheck catch wrong gradients", () => {
  it("gradcheck fails on a wrong vjp and reports the worst element", () => {
    const r = gradcheck((x) => wrongSquare(x).sum(), [f64([1, -2, 3])]);
    expect(r.ok).toBe(false);
    // The largest error is at |x| = 3: analytic 3·3 = 9 against the true 2·3 = 6.
    expect(r.worst).toMatchObject({ input: 0, index: 2 });
    expect(r.worst!.analytic).toBeCloseTo(9, 9);
    expect(r.worst!.numeric).toBeCloseTo(6, 6);
    expect(r.maxAbsError).toBeCloseTo(3, 6);
    expect(r.maxRelError).toBeCloseTo(1 / 3, 6);
  });

  it("gradcheck fails on a wrong vjp with a non-scalar output (random cotangent projection)", () => {
    expect(gradcheck((x) => wrongSquare(x), [f64([1, -2, 3])]).ok).toBe(false);
    expect(gradcheck((x) => wrongSquare(x.reshape([3, 1])), [f64([0.5, 1, 2])]).ok).toBe(false);
  });

  it("gradcheck fails when a vjp drops a gradient (null where the output depends on the input)", () => {
    const dropped = customOp({ name: "dropped", forward: (x) => x.mul(2), vjp: () => null });
    const r = gradcheck((x) => dropped(x).sum(), [f64([1, 2])]);
    expect(r.ok).toBe(false);
    expect(r.worst).toMatchObject({ analytic: 0 });
    expect(r.worst!.numeric).toBeCloseTo(2, 6);
  });

  it("gradgradcheck fails on a wrong second order that gradcheck cannot see", () => {
    expect(gradcheck((x) => cubeFlatSecondOrder(x).sum(), [f64([1, -2, 3])]).ok).toBe(true);
    const r = gradgradcheck((x) => cubeFlatSecondOrder(x).sum(), [f64([1, -2, 3])]);
    expect(r.ok).toBe(false);
    expect(r.worst!.analytic).toBe(0);
    expect(Math.abs(r.worst!.numeric)).toBeGreaterThan(1);
  });

  it("int32 inputs are skipped (never the worst element) and the float inputs are still checked", () => {
    const idx = tensor(new Int32Array([0, 2, 2]));
    const good = gradcheck((x, i) => x.gather(i).tanh().sum(), [f64([0.1, 0.2, 0.3]), idx]);
    expect(good.ok).toBe(true);
    const bad = gradcheck((x, i) => wrongSquare(x.gather(i)).sum(), [f64([0.1, 0.2, 0.3]), idx]);
    expect(bad.ok).toBe(false);
    expect(bad.worst?.input).toBe(0);
    expect(gradgradcheck((x, i) => x.gather(i).tanh().sum(), [f64([0.1, 0.2, 0.3]), idx]).ok).toBe(true);
  });

  it("a NaN gradient fails, and both error measures say NaN rather than 0", () => {
    const r = gradcheck((x) => x.sqrt().sum(), [f64([-1, 4])]);
    expect(r.ok).toBe(false);
    expect(r.maxAbsError).toBeNaN();
    expect(r.maxRelError).toBeNaN();
    expect(r.worst?.index).toBe(0);
  });

  it("leaves the caller's inputs unchanged", () => {
    const x = tensor([0.5, 1.5]);
    const before = Array.from(x.data);
    gradcheck((t) => t.exp().sum(), [x]);
    gradgradcheck((t) => t.exp().sum(), [x]);
    expect(Array.from(x.data)).toEqual(before);
    expect(x.dtype).toBe("float32");
  });
});

describe("review: second order through piecewise-linear ops composed with smooth ones", () => {
  const x = tensor(
    [
      [0.3, -1.2, 2.1],
      [1.7, -0.4, 0.9],
    ],
    { dtype: "float64" },
  );
  const cases: [string, (t: Tensor) => Tensor][] = [
    ["max", (t) => t.max(1).square()],
    ["min", (t) => t.min(0).exp()],
    ["maximum", (t) => t.maximum(t.square().mul(0.3)).square()],
    ["abs", (t) => t.abs().pow(3)],
    ["relu", (t) => t.relu().square()],
    ["leakyRelu", (t) => t.leakyRelu(0.2).square()],
    ["clamp", (t) => t.clamp(-1, 1).exp()],
    ["where", (t) => t.greater(0).mul(t.square()).add(t.exp())],
    ["gather", (t) => t.gather([2, 0, 2], 1).pow(3)],
    ["matmul with its transpose", (t) => t.matmul(t.T).tanh()],
    ["pow with a tensor exponent", (t) => t.add(3).pow(t)],
  ];
  it.each(cases)("%s (away from kinks)", (_name, f) => {
    const r = gradgradcheck(f, [x]);
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });
});
