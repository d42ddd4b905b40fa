import { grad, grads, type Tensor, tensor } from "@tapegrad/autograd";
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
