import { customOp, grad, grads, type Tensor, tensor } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

const f64 = (data: number[] | number, requiresGrad = false): Tensor =>
  tensor(data, { dtype: "float64", requiresGrad });

describe("review: nested transforms whose inner function closes over the outer argument", () => {
  it("d/dx of grad_y(y·x) is 1 (the inner gradient depends on x only through the closure)", () => {
    const g = grad((x: Tensor) => grad((y: Tensor) => y.mul(x).sum())(f64([3]))!.sum())(f64([2]));
    expect(g?.toArray()).toEqual([1]);
  });

  it("a gradient penalty: d/dw |∇_x (w·x²)|² = 2·(2wx)·2x, with x a constant of the inner grad", () => {
    const x = f64([0.5, -1.5]);
    const penalty = (w: Tensor) =>
      grad((t: Tensor) => t.square().mul(w).sum())(x)!
        .square()
        .sum();
    const g = grad(penalty)(f64([0.7]))!;
    const expected = [0.5, -1.5].reduce((s, v) => s + 8 * 0.7 * v * v, 0);
    expect(g.item()).toBeCloseTo(expected, 12);
  });

  it("grads of a closure over two outer arguments", () => {
    const [ga, gb] = grads((a: Tensor, b: Tensor) =>
      grad((y: Tensor) => y.mul(a).mul(b).sum())(f64([1]))!.sum(),
    )(f64([2]), f64([5]));
    expect(ga?.item()).toBe(5);
    expect(gb?.item()).toBe(2);
  });
});

describe("review: a functional transform leaves the graphs it closes over alone", () => {
  it("grad of a function closing over a recorded tensor does not free that tensor's graph", () => {
    const W = f64([2, 3], true);
    const h = W.mul(f64([1, 10]));
    const g = grad((z: Tensor) => z.mul(h).sum())(f64([1, 1]));
    expect(g?.toArray()).toEqual([2, 30]);
    h.sum().backward(); // the user's own graph through h is intact
    expect(W.grad?.toArray()).toEqual([1, 10]);
  });

  it("a customOp vjp may call grad on tensors of the graph being differentiated", () => {
    const W = f64([0.5, -1], true);
    const h = W.exp();
    // d/dx Σ x·h = h, computed with an inner grad during the outer backward.
    const scaled = customOp({
      name: "scaledByH",
      forward: (x) => x.mul(h.detach()),
      vjp: (g, [x]) => grad((z: Tensor) => z.mul(h).sum())(x)!.mul(g),
    });
    scaled(h).sum().backward();
    // y = Σ h·h with h = e^W: dy/dW = 2h·e^W, but only one factor goes through the custom vjp: h·e^W.
    const expected = [0.5, -1].map((w) => Math.exp(w) * Math.exp(w));
    expect(W.grad).not.toBeNull();
    Array.from(W.grad!.data).forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i], 12);
    });
  });
});
