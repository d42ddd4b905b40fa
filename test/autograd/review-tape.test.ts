import {
  customOp,
  enableGrad,
  GraphError,
  grad,
  grads,
  isAnomalyModeEnabled,
  isGradEnabled,
  noGrad,
  record,
  scope,
  TapegradError,
  type Tensor,
  tensor,
  valueAndGrad,
  withAnomalyMode,
} from "@tapegrad/autograd";
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

  it("a function returning a recorded tensor it closes over has a null gradient and frees nothing", () => {
    const W = f64([2, 3], true);
    const h = W.exp().sum();
    expect(grad((_z: Tensor) => h)(f64([1]))).toBeNull();
    h.backward();
    expect(W.grad?.data[0]).toBeCloseTo(Math.exp(2), 12);
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

/** fn must throw; the tests then look at the global state. */
function throwsInside(fn: () => unknown): void {
  expect(fn).toThrow();
}

describe("review: a grad inside a custom vjp during an outer transform", () => {
  it("does not add its cotangents into the outer walk's nodes", () => {
    const g = grad((W: Tensor) => {
      const h = W.exp();
      const scaled = customOp({
        name: "scaledByH",
        forward: (x) => x.mul(h.detach()),
        vjp: (ct, [x]) => grad((z: Tensor) => z.mul(h).sum())(x)!.mul(ct),
      });
      return scaled(h).sum();
    })(f64([0.5, -1]))!;
    // As in the backward() case above: d/dW = h·e^W = e^{2W}.
    [0.5, -1].forEach((w, i) => {
      expect(g.data[i]).toBeCloseTo(Math.exp(2 * w), 12);
    });
  });
});

describe("review: global state survives exceptions", () => {
  const boom = (): never => {
    throw new Error("boom");
  };

  it("noGrad, enableGrad, scope, record, withAnomalyMode and grad restore their state when fn throws", () => {
    throwsInside(() => noGrad(boom));
    expect(isGradEnabled()).toBe(true);
    noGrad(() => {
      throwsInside(() => enableGrad(boom));
      expect(isGradEnabled()).toBe(false);
    });
    throwsInside(() => withAnomalyMode(boom));
    expect(isAnomalyModeEnabled()).toBe(false);
    throwsInside(() => scope("outer", () => scope("inner", boom)));
    throwsInside(() => record(boom));
    throwsInside(() => grad(boom)(f64([1])));
    // Nothing leaks: a fresh record sees no scope, and grad still works at the top level (plain gradients).
    const x = f64([1], true);
    const { tape } = record(() => x.exp());
    expect(tape.nodes.map((n) => n.scope)).toEqual([[], []]);
    const g = grad((t: Tensor) => t.square().sum())(f64([3]));
    expect(g?.requiresGrad).toBe(false);
    expect(g?.toArray()).toEqual([6]);
  });

  it("an exception inside a vjp (plain or createGraph) restores recording and clears the walk", () => {
    let fail = true;
    const flaky = customOp({
      name: "flaky",
      forward: (x) => x.mul(2),
      vjp: (g) => {
        if (fail) throw new Error("vjp failed");
        return g.mul(2);
      },
    });
    for (const createGraph of [false, true]) {
      fail = true;
      const x = f64([1, 2], true);
      const y = flaky(x.exp()).sum();
      noGrad(() => {
        expect(() => y.backward(undefined, { createGraph, retainGraph: true })).toThrow(/vjp failed/);
        expect(isGradEnabled()).toBe(false);
      });
      expect(isGradEnabled()).toBe(true);
      expect(x.grad).toBeNull();
      fail = false;
      y.backward(); // the retained graph is still usable, with no stale cotangents
      expect(x.grad!.data[0]).toBeCloseTo(2 * Math.exp(1), 12);
      expect(x.grad!.data[1]).toBeCloseTo(2 * Math.exp(2), 12);
    }
  });
});

describe("review: tape corner cases", () => {
  it("grad of the identity and of x.sum() on size-1 inputs, and backward on a leaf", () => {
    expect(grad((x: Tensor) => x)(f64([2]))?.toArray()).toEqual([1]);
    expect(grad((x: Tensor) => x)(f64(2))?.toArray()).toEqual(1);
    expect(grad((x: Tensor) => x.sum())(f64([2]))?.toArray()).toEqual([1]);
    const leaf = f64([5], true);
    leaf.backward();
    leaf.backward(3);
    expect(leaf.grad?.toArray()).toEqual([4]);
    expect(() => f64([5]).backward()).toThrow(GraphError);
  });

  it("the same tensor passed twice is two arguments, each with its own gradient", () => {
    const x = f64([3]);
    const [ga, gb] = grads((a: Tensor, b: Tensor) => a.mul(b).mul(b).sum())(x, x);
    expect(ga?.toArray()).toEqual([9]);
    expect(gb?.toArray()).toEqual([18]);
    // Nested, the same holds for a tensor of the outer graph: t·t² has p = t², q = 2t², p + q = 3t².
    const outer = grad((t: Tensor) => {
      const [p, q] = grads((a: Tensor, b: Tensor) => a.mul(b.square()).sum())(t, t);
      return p!.add(q!).sum();
    })(f64([2]));
    expect(outer?.toArray()).toEqual([12]);
  });

  it("nested grad three levels deep, with valueAndGrad in the middle", () => {
    // f = x^5, f''' = 60x^2
    const third = grad((x: Tensor) =>
      valueAndGrad((y: Tensor) => grad((z: Tensor) => z.pow(5).sum())(y)!.sum())(x).grad!.sum(),
    )(f64([2]));
    expect(third?.toArray()).toEqual([240]);
  });

  it("noGrad/enableGrad nest, and detach shares data but never requires grad", () => {
    const states = noGrad(() => [
      isGradEnabled(),
      enableGrad(() => [isGradEnabled(), noGrad(() => isGradEnabled())]),
      isGradEnabled(),
    ]);
    expect(states).toEqual([false, [true, false], false]);
    const x = f64([1, 2], true);
    const y = x.mul(3);
    const d = y.detach();
    expect(d.data).toBe(y.data);
    expect(d.requiresGrad).toBe(false);
    expect(d.isLeaf).toBe(true);
    expect(() => d.sum().backward()).toThrow(GraphError);
  });

  it("a createGraph backward leaves a differentiable .grad; a second plain backward adds to it", () => {
    const x = f64([0.5], true);
    const y = x.pow(3).sum();
    y.backward(undefined, { createGraph: true });
    const g1 = x.grad!;
    expect(g1.requiresGrad).toBe(true);
    y.backward(); // createGraph retained the graph
    expect(x.grad!.item()).toBeCloseTo(2 * 3 * 0.25, 14);
    x.grad = null;
    g1.backward(); // d/dx 3x^2 = 6x
    expect(x.grad!.item()).toBeCloseTo(3, 14);
  });
});

describe("review: grad(f)(x, ...rest) as in JAX (argnums = 0)", () => {
  it("passes extra arguments through to f unchanged and differentiates the first only", () => {
    const f = (x: Tensor, y: Tensor, scale: number) => x.mul(y).mul(scale).sum();
    expect(grad(f)(f64([2]), f64([3]), 10)?.toArray()).toEqual([30]);
    const r = valueAndGrad(f)(f64([2]), f64([3]), 10);
    expect(r.value.item()).toBe(60);
    expect(r.grad?.toArray()).toEqual([30]);
  });
});

describe("review: the scoped helpers refuse async functions", () => {
  // Their state is restored when fn returns, before any await resumes: ops after an await would run
  // recorded inside noGrad, unscoped inside scope, unrecorded by record. A clear error beats that.
  const later = async (): Promise<number> => {
    await Promise.resolve();
    return 1;
  };
  it.each([
    ["noGrad", () => noGrad(later)],
    ["enableGrad", () => enableGrad(later)],
    ["scope", () => scope("s", later)],
    ["record", () => record(later)],
    ["withAnomalyMode", () => withAnomalyMode(later)],
  ])("%s(async fn) is a TapegradError naming the helper", (name, run) => {
    expect(run).toThrow(TapegradError);
    expect(run).toThrow(new RegExp(`^${name}: fn returned a Promise`));
    expect(isGradEnabled()).toBe(true);
  });
});

describe("review: every leaf gets its own .grad buffer", () => {
  // Optimisers and clipGradNorm update .grad in place: two leaves sharing one buffer would be scaled twice.
  it("a.add(b): the add vjp hands the same cotangent to both inputs, yet a.grad and b.grad are distinct", () => {
    const a = f64([1, 2], true);
    const b = f64([3, 4], true);
    a.add(b)
      .mul(f64([5, 6]))
      .sum()
      .backward();
    expect(a.grad?.toArray()).toEqual([5, 6]);
    expect(b.grad?.toArray()).toEqual([5, 6]);
    expect(a.grad!.data).not.toBe(b.grad!.data);
    a.grad!.data[0] = 100; // an in-place update of one gradient leaves the other alone
    expect(b.grad?.toArray()).toEqual([5, 6]);
  });

  it("a reshape vjp sharing data, and a user seed, are not aliased into .grad", () => {
    const a = f64([1, 2], true);
    const b = tensor([[1], [2]], { dtype: "float64", requiresGrad: true });
    const seed = f64([7, 8]);
    a.add(b.reshape([2])).backward(seed);
    expect(a.grad!.data).not.toBe(b.grad!.data);
    expect(a.grad!.data).not.toBe(seed.data);
    expect(b.grad!.data).not.toBe(seed.data);
    expect(b.grad?.toArray()).toEqual([[7], [8]]);
    const leaf = f64([1, 2], true);
    leaf.backward(seed);
    expect(leaf.grad!.data).not.toBe(seed.data);
    expect(leaf.grad?.toArray()).toEqual([7, 8]);
  });
});

describe("review: functional transforms return distinct gradient buffers", () => {
  it("grads((a, b) => a.add(b).sum()) gives two tensors that do not share data", () => {
    const [ga, gb] = grads((a: Tensor, b: Tensor) => a.add(b).sum())(f64([1, 2]), f64([3, 4]));
    expect(ga?.toArray()).toEqual([1, 1]);
    expect(gb?.toArray()).toEqual([1, 1]);
    expect(ga!.data).not.toBe(gb!.data);
  });
});
