import { Tensor, ValueError } from "@tapegrad/autograd";
import {
  Adagrad,
  Adam,
  AdamW,
  clipGradNorm,
  constantLR,
  cosineLR,
  expLR,
  type Optimizer,
  Parameter,
  RMSProp,
  SGD,
  stepLR,
  warmup,
} from "@tapegrad/nn";
import { describe, expect, it } from "vitest";

const P0 = [0.5, -1, 2];
const G1 = [0.3, -0.2, 1.5];
const G2 = [-0.1, 0.4, 0.7];

function param(values = P0): Parameter {
  return new Parameter(Float64Array.from(values), [values.length]);
}
function setGrad(p: Parameter, g: number[]): void {
  p.grad = new Tensor(Float64Array.from(g), [g.length]);
}
/** Runs two steps with gradients G1 then G2 and returns the parameter after each. */
function twoSteps(make: (p: Parameter) => { step(): void }): [number[], number[]] {
  const p = param();
  const opt = make(p);
  setGrad(p, G1);
  opt.step();
  const after1 = Array.from(p.data);
  setGrad(p, G2);
  opt.step();
  return [after1, Array.from(p.data)];
}
function expectClose(actual: number[], expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => {
    expect(v).toBeCloseTo(expected[i], 13);
  });
}

describe("optimisers against steps computed by hand from their formulas", () => {
  it("SGD", () => {
    const lr = 0.1;
    const [a1, a2] = twoSteps((p) => new SGD([p], { lr }));
    expectClose(
      a1,
      P0.map((p, i) => p - lr * G1[i]),
    );
    expectClose(
      a2,
      P0.map((p, i) => p - lr * G1[i] - lr * G2[i]),
    );
  });

  it("SGD with momentum, dampening and weight decay", () => {
    const [lr, mu, wd, damp] = [0.1, 0.9, 0.01, 0.5];
    const [a1, a2] = twoSteps((p) => new SGD([p], { lr, momentum: mu, weightDecay: wd, dampening: damp }));
    const e1: number[] = [];
    const e2: number[] = [];
    P0.forEach((p0, i) => {
      const d1 = G1[i] + wd * p0;
      const b1 = d1; // the first step takes the gradient as the buffer, undamped
      const p1 = p0 - lr * b1;
      const d2 = G2[i] + wd * p1;
      const b2 = mu * b1 + (1 - damp) * d2;
      e1.push(p1);
      e2.push(p1 - lr * b2);
    });
    expectClose(a1, e1);
    expectClose(a2, e2);
  });

  it("SGD with Nesterov momentum", () => {
    const [lr, mu] = [0.05, 0.8];
    const [a1, a2] = twoSteps((p) => new SGD([p], { lr, momentum: mu, nesterov: true }));
    const e1: number[] = [];
    const e2: number[] = [];
    P0.forEach((p0, i) => {
      const b1 = G1[i];
      const p1 = p0 - lr * (G1[i] + mu * b1);
      const b2 = mu * b1 + G2[i];
      e1.push(p1);
      e2.push(p1 - lr * (G2[i] + mu * b2));
    });
    expectClose(a1, e1);
    expectClose(a2, e2);
  });

  it("Adam (with L2 weight decay); its first step moves each weight by about lr", () => {
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.999, 1e-8, 0.1];
    const [a1, a2] = twoSteps((p) => new Adam([p], { lr, betas: [b1, b2], eps, weightDecay: wd }));
    const e1: number[] = [];
    const e2: number[] = [];
    P0.forEach((p0, i) => {
      const g1 = G1[i] + wd * p0;
      const m1 = (1 - b1) * g1;
      const v1 = (1 - b2) * g1 * g1;
      const p1 = p0 - (lr * (m1 / (1 - b1))) / (Math.sqrt(v1 / (1 - b2)) + eps);
      const g2 = G2[i] + wd * p1;
      const m2 = b1 * m1 + (1 - b1) * g2;
      const v2 = b2 * v1 + (1 - b2) * g2 * g2;
      e1.push(p1);
      e2.push(p1 - (lr * (m2 / (1 - b1 ** 2))) / (Math.sqrt(v2 / (1 - b2 ** 2)) + eps));
    });
    expectClose(a1, e1);
    expectClose(a2, e2);
    const [plain] = twoSteps((p) => new Adam([p], { lr }));
    plain.forEach((v, i) => {
      expect(Math.abs(v - P0[i])).toBeCloseTo(lr, 6);
    });
  });

  it("AdamW decays the weights before the Adam step (decoupled)", () => {
    const [lr, b1, b2, eps, wd] = [0.01, 0.9, 0.99, 1e-8, 0.05];
    const [a1, a2] = twoSteps((p) => new AdamW([p], { lr, betas: [b1, b2], eps, weightDecay: wd }));
    const e1: number[] = [];
    const e2: number[] = [];
    P0.forEach((p0, i) => {
      const m1 = (1 - b1) * G1[i];
      const v1 = (1 - b2) * G1[i] ** 2;
      const p1 = p0 * (1 - lr * wd) - (lr * (m1 / (1 - b1))) / (Math.sqrt(v1 / (1 - b2)) + eps);
      const m2 = b1 * m1 + (1 - b1) * G2[i];
      const v2 = b2 * v1 + (1 - b2) * G2[i] ** 2;
      e1.push(p1);
      e2.push(p1 * (1 - lr * wd) - (lr * (m2 / (1 - b1 ** 2))) / (Math.sqrt(v2 / (1 - b2 ** 2)) + eps));
    });
    expectClose(a1, e1);
    expectClose(a2, e2);
  });

  it("RMSProp, plain and centered with momentum", () => {
    const [lr, alpha, eps] = [0.01, 0.9, 1e-8];
    const [a1, a2] = twoSteps((p) => new RMSProp([p], { lr, alpha, eps }));
    const e1: number[] = [];
    const e2: number[] = [];
    P0.forEach((p0, i) => {
      const v1 = (1 - alpha) * G1[i] ** 2;
      const p1 = p0 - (lr * G1[i]) / (Math.sqrt(v1) + eps);
      const v2 = alpha * v1 + (1 - alpha) * G2[i] ** 2;
      e1.push(p1);
      e2.push(p1 - (lr * G2[i]) / (Math.sqrt(v2) + eps));
    });
    expectClose(a1, e1);
    expectClose(a2, e2);

    const mu = 0.5;
    const [c1, c2] = twoSteps((p) => new RMSProp([p], { lr, alpha, eps, momentum: mu, centered: true }));
    const f1: number[] = [];
    const f2: number[] = [];
    P0.forEach((p0, i) => {
      const v1 = (1 - alpha) * G1[i] ** 2;
      const m1 = (1 - alpha) * G1[i];
      const buf1 = G1[i] / (Math.sqrt(v1 - m1 * m1) + eps);
      const p1 = p0 - lr * buf1;
      const v2 = alpha * v1 + (1 - alpha) * G2[i] ** 2;
      const m2 = alpha * m1 + (1 - alpha) * G2[i];
      const buf2 = mu * buf1 + G2[i] / (Math.sqrt(v2 - m2 * m2) + eps);
      f1.push(p1);
      f2.push(p1 - lr * buf2);
    });
    expectClose(c1, f1);
    expectClose(c2, f2);
  });

  it("Adagrad with learning-rate decay and an initial accumulator", () => {
    const [lr, decay, init, eps] = [0.1, 0.5, 0.2, 1e-10];
    const [a1, a2] = twoSteps(
      (p) => new Adagrad([p], { lr, lrDecay: decay, initialAccumulatorValue: init, eps }),
    );
    const e1: number[] = [];
    const e2: number[] = [];
    P0.forEach((p0, i) => {
      const s1 = init + G1[i] ** 2;
      const p1 = p0 - (lr * G1[i]) / (Math.sqrt(s1) + eps);
      const s2 = s1 + G2[i] ** 2;
      e1.push(p1);
      e2.push(p1 - ((lr / (1 + decay)) * G2[i]) / (Math.sqrt(s2) + eps));
    });
    expectClose(a1, e1);
    expectClose(a2, e2);
  });
});

describe("optimisers decrease a convex loss (tape gradients)", () => {
  // f(p) = Σ_i c_i (p_i − t_i)², an ill-scaled bowl
  const target = new Tensor(Float64Array.from([1, -2, 3, 0.5]), [4]);
  const curvature = new Tensor(Float64Array.from([1, 4, 0.5, 2]), [4]);
  const cases: Array<
    [string, (p: Parameter) => Optimizer<{ lr: number | ((s: number) => number) }, unknown>, number]
  > = [
    ["SGD", (p) => new SGD([p], { lr: 0.1 }), 200],
    ["SGD momentum", (p) => new SGD([p], { lr: 0.05, momentum: 0.9 }), 200],
    ["SGD nesterov", (p) => new SGD([p], { lr: 0.05, momentum: 0.9, nesterov: true }), 200],
    ["Adam", (p) => new Adam([p], { lr: 0.1 }), 400],
    ["AdamW", (p) => new AdamW([p], { lr: 0.1, weightDecay: 1e-4 }), 400],
    ["RMSProp", (p) => new RMSProp([p], { lr: 0.01 }), 600],
    ["Adagrad", (p) => new Adagrad([p], { lr: 0.5 }), 400],
  ];
  for (const [name, make, steps] of cases) {
    it(name, () => {
      const p = param([0, 0, 0, 0]);
      const opt = make(p);
      const loss = () => p.sub(target).square().mul(curvature).sum();
      const first = loss().item();
      let last = first;
      for (let s = 0; s < steps; s++) {
        opt.zeroGrad();
        const l = loss();
        l.backward();
        last = l.item();
        opt.step();
      }
      expect(last).toBeLessThan(first * 1e-3);
    });
  }
});

describe("optimiser mechanics", () => {
  it("skips parameters without a gradient; zeroGrad clears gradients", () => {
    const a = param();
    const b = param();
    const opt = new SGD([a, b], { lr: 1 });
    setGrad(a, G1);
    opt.step();
    expect(Array.from(b.data)).toEqual(P0);
    expect(Array.from(a.data)).not.toEqual(P0);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });

  it("parameter groups keep their own options", () => {
    const a = param();
    const b = param();
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    setGrad(a, G1);
    setGrad(b, G1);
    opt.step();
    expectClose(
      Array.from(a.data),
      P0.map((v, i) => v - 0.1 * G1[i]),
    );
    expectClose(
      Array.from(b.data),
      P0.map((v, i) => v - 0.5 * G1[i]),
    );
  });

  it("a schedule drives lr by step count, and lr can be reassigned", () => {
    const p = param([0]);
    const opt = new SGD([p], { lr: stepLR(1, 2, 0.5) });
    const seen: number[] = [];
    for (let s = 0; s < 5; s++) {
      seen.push(opt.lr);
      setGrad(p, [1]);
      opt.step();
    }
    expect(seen).toEqual([1, 1, 0.5, 0.5, 0.25]);
    expect(p.data[0]).toBeCloseTo(-(1 + 1 + 0.5 + 0.5 + 0.25), 14);
    opt.lr = 0.125;
    expect(opt.lr).toBe(0.125);
  });

  it("bad hyper-parameters are ValueErrors", () => {
    const p = param();
    expect(() => new SGD([p], { lr: -1 })).toThrow(ValueError);
    expect(() => new SGD([p], { lr: 0.1, momentum: -0.5 })).toThrow(/momentum/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/nesterov/);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/empty parameter list/);
    expect(() => new Adam([p], { betas: [0.9, 1] })).toThrow(/betas\[1\]/);
    expect(() => new Adam([p], { betas: [-0.1, 0.9] })).toThrow(ValueError);
    expect(() => new AdamW([p], { eps: -1 })).toThrow(/AdamW: eps/);
    expect(() => new RMSProp([p], { alpha: 1.5 })).toThrow(/alpha/);
    expect(() => new Adagrad([p], { lrDecay: -1 })).toThrow(/lrDecay/);
    expect(() => new SGD([p], { lr: Number.NaN })).toThrow(ValueError);
    const opt = new SGD([p], { lr: () => -1 });
    setGrad(p, G1);
    expect(() => opt.step()).toThrow(/learning rate at step 0/);
  });
});

describe("clipGradNorm", () => {
  it("scales gradients to the max norm and returns the norm before clipping", () => {
    const a = param([0, 0]);
    const b = param([0]);
    setGrad(a, [3, 0]);
    setGrad(b, [4]);
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(5, 14);
    const factor = 1 / (5 + 1e-6);
    expect(a.grad!.data[0]).toBeCloseTo(3 * factor, 14);
    expect(b.grad!.data[0]).toBeCloseTo(4 * factor, 14);
    expect(clipGradNorm([a, b], 10)).toBeCloseTo(5 * factor, 12);
    expect(b.grad!.data[0]).toBeCloseTo(4 * factor, 14); // unchanged below the limit
    expect(() => clipGradNorm([a], 0)).toThrow(ValueError);
  });
});

describe("learning-rate schedules", () => {
  const at = (s: (k: number) => number, n: number) => Array.from({ length: n }, (_, k) => s(k));
  it("stepLR, expLR, constantLR", () => {
    expect(at(stepLR(1, 2, 0.5), 6)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25]);
    at(expLR(2, 0.9), 4).forEach((v, k) => {
      expect(v).toBeCloseTo(2 * 0.9 ** k, 14);
    });
    expect(at(constantLR(0.3), 3)).toEqual([0.3, 0.3, 0.3]);
  });
  it("cosineLR goes from lr to minLr over totalSteps and stays there", () => {
    const s = cosineLR(1, 10, 0.1);
    expect(s(0)).toBeCloseTo(1, 14);
    expect(s(5)).toBeCloseTo(0.55, 14);
    expect(s(10)).toBeCloseTo(0.1, 14);
    expect(s(25)).toBeCloseTo(0.1, 14);
  });
  it("warmup ramps linearly, then hands over to the next schedule from its step 0", () => {
    expect(at(warmup(4, 1), 6)).toEqual([0.25, 0.5, 0.75, 1, 1, 1]);
    const s = warmup(2, stepLR(1, 1, 0.5));
    expect(at(s, 5)).toEqual([0.5, 1, 1, 0.5, 0.25]);
  });
  it("rejects bad arguments", () => {
    expect(() => stepLR(1, 0)).toThrow(ValueError);
    expect(() => cosineLR(1, -1)).toThrow(ValueError);
    expect(() => warmup(0, 1)).toThrow(ValueError);
  });
});
