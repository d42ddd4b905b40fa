import { customOp, enableGrad, grad, randn, type Tensor } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

/**
 * A custom op's vjp may itself differentiate (grad) or call backward() over tensors of the graph the
 * outer backward is walking. The inner walk must neither corrupt the outer one (its pending cotangents,
 * the nodes it still needs) nor see the outer walk's half-summed cotangents.
 */

function closeTo(a: Tensor, b: number[]): void {
  Array.from(a.data).forEach((v, i) => {
    expect(v).toBeCloseTo(b[i], 10);
  });
}

describe("walks nested inside a custom vjp", () => {
  it("grad over a tensor the outer walk has already given a cotangent leaves both walks right", () => {
    const x = randn([4], { dtype: "float64", requiresGrad: true, seed: 3 });
    const u = x.mul(2); // two consumers: the custom op's input and u.square()
    const inner: Tensor[] = [];
    const twice = customOp({
      name: "twice",
      forward: (v: Tensor) => v.mul(2),
      vjp: (g: Tensor) => {
        // d/du Σu² = 2u, taken while u's node holds the outer walk's cotangent from u.square().sum()
        inner.push(grad((t: Tensor) => t.square().sum())(u)!);
        return [g.mul(2)];
      },
    });
    twice(u.tanh()).sum().add(u.square().sum()).backward();
    const xs = Array.from(x.data);
    // d/dx [Σ 2·tanh(2x) + Σ 4x²] = 4·(1 − tanh²(2x)) + 8x
    closeTo(
      x.grad!,
      xs.map((v) => 4 * (1 - Math.tanh(2 * v) ** 2) + 8 * v),
    );
    closeTo(
      inner[0],
      xs.map((v) => 4 * v),
    );
  });

  it("backward() over part of the outer graph adds its gradient and frees nothing the outer walk needs", () => {
    const x = randn([3], { dtype: "float64", requiresGrad: true, seed: 5 });
    const u = x.mul(3);
    const probe = customOp({
      name: "probe",
      forward: (v: Tensor) => v.mul(1.5),
      vjp: (g: Tensor) => {
        // vjps run with recording off, as in PyTorch: enableGrad records the inner sum
        enableGrad(() => u.sum()).backward(); // adds d(Σ3x)/dx = 3 to x.grad; u's node stays for the outer walk
        return [g.mul(1.5)];
      },
    });
    probe(u.square()).sum().add(u.sum()).backward();
    const xs = Array.from(x.data);
    // outer: d/dx [Σ 1.5·9x² + Σ 3x] = 27x + 3; inner backward: + 3
    closeTo(
      x.grad!,
      xs.map((v) => 27 * v + 3 + 3),
    );
  });
});
