import {
  customOp,
  GraphError,
  grad,
  grads,
  matmul,
  noGrad,
  ones,
  randn,
  record,
  ShapeError,
  scope,
  type Tensor,
  tensor,
  valueAndGrad,
  valueAndGrads,
} from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const f64 = (data: number[] | number[][], requiresGrad = false): Tensor =>
  tensor(data, { dtype: "float64", requiresGrad });
const close = (a: number, b: number, tol = 1e-12) =>
  expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));

describe("backward on the tape", () => {
  it("accumulates into .grad across calls, like PyTorch, and zeroing is the caller's job", () => {
    const x = f64([1, 2, 3], true);
    x.mul(x).sum().backward();
    expect(x.grad?.toArray()).toEqual([2, 4, 6]);
    x.mul(x).sum().backward();
    expect(x.grad?.toArray()).toEqual([4, 8, 12]);
    x.grad = null;
    x.sum().backward();
    expect((x.grad as Tensor | null)?.toArray()).toEqual([1, 1, 1]);
  });

  it("sums the cotangents of a tensor used several times (fan-out)", () => {
    const x = f64([0.5], true);
    const y = x.mul(3);
    y.add(y.mul(y)).add(y.exp()).sum().backward(); // d/dx (3x + 9x² + e^{3x})
    close(x.grad!.item(), 3 + 18 * 0.5 + 3 * Math.exp(1.5));
  });

  it("frees the graph after backward: a second backward is a GraphError naming the op and f_i", () => {
    const x = f64([1, 2], true);
    const y = x.tanh().sum();
    y.backward();
    expect(() => y.backward()).toThrow(GraphError);
    expect(() => y.backward()).toThrow(/already freed.*retainGraph/);
    expect(() => y.backward()).toThrow(/sum \(f_\d+\)/);
  });

  it("keeps the graph with retainGraph, and a second backward adds again", () => {
    const x = f64([1, 2], true);
    const y = x.square().sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(x.grad?.toArray()).toEqual([4, 8]);
  });

  it("rejects mixing a tensor from a freed graph into a new backward", () => {
    const x = f64([1, 2], true);
    const h = x.exp();
    h.sum().backward();
    const z = h.mul(2).sum();
    expect(() => z.backward()).toThrow(GraphError);
  });

  it("needs a seed for non-scalar outputs and checks its shape", () => {
    const x = f64([1, 2], true);
    const y = x.mul(2);
    expect(() => y.backward()).toThrow(/output has shape \[2\]; a seed/);
    expect(() => y.backward(f64([1, 2, 3]))).toThrow(ShapeError);
    y.backward(f64([1, 10]));
    expect(x.grad?.toArray()).toEqual([2, 20]);
  });

  it("refuses backward on a tensor that does not require grad", () => {
    expect(() => f64([1]).exp().sum().backward()).toThrow(/does not require grad/);
  });

  it("does not record under noGrad, and detach cuts the graph while sharing data", () => {
    const x = f64([1, 2], true);
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.data).toBe(x.data);
    const z = x.mul(d).sum(); // d is a constant here
    z.backward();
    expect(x.grad?.toArray()).toEqual([1, 2]);
  });

  it("walks a chain of 100,000 ops without overflowing the stack", () => {
    const x = f64([1], true);
    let h = x;
    for (let i = 0; i < 100_000; i++) h = h.add(1e-6);
    h.sum().backward();
    expect(x.grad?.item()).toBe(1);
  });

  it("visits only nodes on a path from the differentiated inputs", () => {
    let branchCalls = 0;
    const counted = customOp({
      name: "counted",
      forward: (t) => t.mul(1),
      vjp: (g) => {
        branchCalls++;
        return g;
      },
    });
    const a = f64([1, 2]);
    const b = f64([3, 4]);
    const f = (x: Tensor, y: Tensor) => x.exp().sum().add(counted(y).square().sum());
    const [ga] = grads((x: Tensor) => f(x, b.detach()))(a);
    expect(ga?.toArray()).toEqual([Math.exp(1), Math.exp(2)]);
    // b is an argument, but only a's gradient is asked for: the b branch is off the path.
    const bLeaf = tensor(b.data, { requiresGrad: true });
    grad((x: Tensor) => f(x, bLeaf))(a);
    expect(branchCalls).toBe(0);
    grads(f)(a, b);
    expect(branchCalls).toBe(1);
  });

  it("numbers nodes in creation order and replays them in decreasing order", () => {
    const x = f64([1, 2], true);
    const y = x.exp();
    const z = y.mul(2);
    const w = z.sum();
    const ids = [y, z, w].map((t) => (t as unknown as { _node: { index: number } })._node.index);
    expect(ids[0]).toBeLessThan(ids[1]);
    expect(ids[1]).toBeLessThan(ids[2]);
  });
});

describe("functional transforms", () => {
  it("grad is pure: it ignores and never writes .grad", () => {
    const x = f64([1, 2], true);
    x.grad = f64([100, 100]);
    const g = grad((t) => t.square().sum())(x);
    expect(g?.toArray()).toEqual([2, 4]);
    expect(x.grad?.toArray()).toEqual([100, 100]);
  });

  it("returns plain gradients (nothing recorded) for arguments that do not require grad, and under noGrad", () => {
    const [g] = grads((t: Tensor) => t.tanh().sum())(f64([1, 2]));
    expect(g?.requiresGrad).toBe(false);
    expect(g?.isLeaf).toBe(true);
    const w = f64([1, 2], true);
    const [h] = noGrad(() => grads((t: Tensor) => t.tanh().sum())(w));
    expect(h?.requiresGrad).toBe(false);
    expect(h?.isLeaf).toBe(true);
  });

  it("keeps the gradient connected to an argument that requires grad (createGraph semantics), so a later backward reaches it", () => {
    const w = f64([1, 2], true);
    const [g] = grads((t: Tensor) => t.tanh().sum())(w);
    expect(g?.requiresGrad).toBe(true);
    g!.sum().backward();
    // d/dw Σ tanh'(w) = tanh''(w) = −2·tanh(w)·(1 − tanh²(w))
    const want = [1, 2].map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2));
    (w.grad!.toArray() as number[]).forEach((v, i) => {
      expect(v).toBeCloseTo(want[i], 12);
    });
  });

  it("differentiates arguments whatever their requiresGrad", () => {
    const x = f64([3]);
    expect(grad((t) => t.square().sum())(x)?.item()).toBe(6);
  });

  it("returns null for an argument the output does not depend on, and for int32 arguments", () => {
    const [ga, gb, gi] = grads((a: Tensor, _b: Tensor, i: Tensor) => a.gather(i).sum())(
      f64([1, 2]),
      f64([5]),
      tensor(new Int32Array([1])),
    );
    expect(ga?.toArray()).toEqual([0, 1]);
    expect(gb).toBeNull();
    expect(gi).toBeNull();
  });

  it("valueAndGrad(s) return the detached value and the gradients", () => {
    const { value, grad: g } = valueAndGrad((t) => t.exp().sum())(f64([0]));
    expect(value.item()).toBe(1);
    expect(value.requiresGrad).toBe(false);
    expect(g?.item()).toBe(1);
    const r = valueAndGrads((a: Tensor, b: Tensor) => a.mul(b).sum())(f64([2]), f64([5]));
    expect(r.value.item()).toBe(10);
    expect(r.grads.map((t) => t?.item())).toEqual([5, 2]);
  });

  it("requires a size-1 output", () => {
    expect(() => grad((t) => t.mul(2))(f64([1, 2]))).toThrow(/size-1 tensor, got shape \[2\]/);
  });

  it("works inside noGrad (the transform records its own function)", () => {
    const g = noGrad(() => grad((t) => t.square().sum())(f64([4])));
    expect(g?.item()).toBe(8);
  });
});

describe("higher-order gradients", () => {
  const smooth: [string, (t: Tensor) => Tensor, (x: number) => number][] = [
    ["tanh", (t) => t.tanh(), (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)],
    [
      "sigmoid",
      (t) => t.sigmoid(),
      (x) => {
        const s = 1 / (1 + Math.exp(-x));
        return s * (1 - s) * (1 - 2 * s);
      },
    ],
    ["exp", (t) => t.exp(), Math.exp],
    ["log", (t) => t.log(), (x) => -1 / (x * x)],
    ["sqrt", (t) => t.sqrt(), (x) => -0.25 * x ** -1.5],
    ["softplus", (t) => t.softplus(), (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2],
    ["erf", (t) => t.erf(), (x) => (-4 * x * Math.exp(-x * x)) / Math.sqrt(Math.PI)],
  ];
  it.each(smooth)("grad(grad(%s)) equals the closed-form second derivative", (_name, fn, d2) => {
    fc.assert(
      fc.property(fc.double({ min: 0.1, max: 2, noNaN: true }), (x) => {
        const g2 = grad((t) => grad((u) => fn(u).sum())(t)!.sum())(f64([x]));
        close(g2!.item(), d2(x), 1e-10);
      }),
      { seed: 7, numRuns: 25 },
    );
  });

  it("third order: d³/dx³ tanh", () => {
    const x = 0.3;
    const d = (f: (t: Tensor) => Tensor) => (t: Tensor) => grad((u) => f(u).sum())(t)!;
    const g3 = d(d(d((t) => t.tanh())))(f64([x]));
    const t = Math.tanh(x);
    close(g3.item(), -2 * (1 - t * t) * (1 - 3 * t * t), 1e-10);
  });

  it("Hessian-vector products via grad of a dot with grad", () => {
    // f(x) = Σ sin-free quartic: f = Σ x_i^4 / 4 + x_0 x_1 ; H = diag(3x²) + [[0,1],[1,0]]
    const x = f64([0.5, -1.5]);
    const v = f64([2, 3]);
    const f = (t: Tensor) =>
      t
        .pow(4)
        .div(4)
        .sum()
        .add(
          t
            .slice(0, 0, 1)
            .mul(t.slice(0, 1, 2))
            .sum(),
        );
    const hvp = grad((t) => grad(f)(t)!.mul(v).sum())(x)!;
    expect(hvp.toArray()).toEqual([3 * 0.25 * 2 + 3, 3 * 2.25 * 3 + 2]);
  });

  it("second order through softmax and matmul chains matches finite differences of the gradient", () => {
    const W1 = randn([4, 3], { seed: 1, dtype: "float64" });
    const W2 = randn([3, 2], { seed: 2, dtype: "float64" });
    const x = randn([5, 4], { seed: 3, dtype: "float64" });
    const loss = (w: Tensor) =>
      matmul(x.matmul(w).tanh(), W2)
        .softmax()
        .mul(f64([1, 0]))
        .sum();
    const gradNorm = (w: Tensor) => grad(loss)(w)!.square().sum();
    const analytic = grad(gradNorm)(W1)!;
    const eps = 1e-6;
    for (let i = 0; i < W1.size; i += 3) {
      const p = W1.detach();
      const data = Float64Array.from(p.data);
      data[i] += eps;
      const up = gradNorm(tensor(data, { shape: [4, 3] })).item();
      data[i] -= 2 * eps;
      const down = gradNorm(tensor(data, { shape: [4, 3] })).item();
      close(analytic.data[i], (up - down) / (2 * eps), 1e-5);
    }
  });

  it("backward with createGraph records the backward pass", () => {
    const x = f64([0.7], true);
    const y = x.tanh().sum();
    y.backward(undefined, { createGraph: true });
    const g = x.grad!;
    expect(g.requiresGrad).toBe(true);
    x.grad = null;
    g.sum().backward();
    const t = Math.tanh(0.7);
    close(x.grad!.item(), -2 * t * (1 - t * t));
  });
});

describe("record and scope", () => {
  it("records every primitive in order with scopes, names and leaves", () => {
    const X = f64([[1, 2]]);
    X.name = "X";
    const W = ones([2, 3], { dtype: "float64", requiresGrad: true, name: "W_1" });
    const { value, tape } = record(() =>
      scope("layer", () => X.matmul(W).add(1))
        .sigmoid()
        .sum(),
    );
    expect(value.shape).toEqual([]);
    const ops = tape.nodes.map((n) => n.op);
    expect(ops).toEqual(["leaf", "leaf", "matmul", "leaf", "add", "sigmoid", "sum"]);
    expect(tape.nodes[0].name).toBe("X");
    expect(tape.nodes[1].name).toBe("W_1");
    expect(tape.nodes[2].scope).toEqual(["layer"]);
    expect(tape.nodes[5].scope).toEqual([]);
    expect(tape.nodes[2].inputs).toEqual([0, 1]);
    expect(tape.nodes[4].shape).toEqual([1, 3]);
  });

  it("gives two scope() calls with the same label different ids", () => {
    const x = f64([1]);
    const { tape } = record(() => scope("a", () => x.exp()).add(scope("a", () => x.log())));
    const ids = tape.nodes.filter((n) => !n.leaf && n.scope[0] === "a").map((n) => n.scopeIds[0]);
    expect(new Set(ids).size).toBe(2);
  });
});
