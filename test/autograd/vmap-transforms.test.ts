import * as ag from "@tapegrad/autograd";
import { GraphError, ShapeError, type Tensor, ValueError, vmap } from "@tapegrad/autograd";
import { NN, quadratic, sigmoid } from "@tapegrad/nn";
import { afterEach, describe, expect, it } from "vitest";
import { maxRelDiff } from "../support/reference.js";

/** vmap's axes, nesting, composition with grad, per-example indices, custom ops and errors. */

const f64 = { dtype: "float64" as const };
const randn = (shape: number[], seed: number): Tensor => ag.randn(shape, { ...f64, seed });

/** Example b of x along axis. */
const ex = (x: Tensor, b: number, axis = 0): Tensor => ag.slice(x, axis, b, b + 1).squeeze(axis);

function expectClose(got: Tensor, want: Tensor, tol = 1e-10): void {
  expect(got.shape).toEqual(want.shape);
  expect(maxRelDiff(got.data, want.data)).toBeLessThan(tol);
}

afterEach(() => {
  ag.resetVmapStats();
  ag.setVmapDebug(false);
});

describe("vmap axes", () => {
  const W = randn([3, 4], 1);
  const f = (x: Tensor, w: Tensor): Tensor => ag.tanh(ag.matmul(x, w)).sum(-1);

  it("inAxes per argument (null = shared), negative axes and outAxes", () => {
    const xs = randn([2, 5, 3], 2); // batch on axis 1
    const got = vmap(f, { inAxes: [-2, null], outAxes: -1 })(xs, W);
    const want = ag.stack(
      [0, 1, 2, 3, 4].map((b) => f(ex(xs, b, 1), W)),
      -1,
    );
    expectClose(got, want);
    expect(got.shape).toEqual([2, 5]);
  });

  it("both arguments batched on different axes", () => {
    const xs = randn([4, 3], 3);
    const ws = randn([3, 4, 2], 4); // batch of 2 weights on the last axis
    const xs2 = randn([3, 2], 5); // batch of 2 on the last axis
    const got = vmap((x: Tensor, w: Tensor) => ag.matmul(x, w), { inAxes: [-1, 2], outAxes: 1 })(xs2, ws);
    const want = ag.stack(
      [0, 1].map((b) => ag.matmul(ex(xs2, b, 1), ex(ws, b, 2))),
      1,
    );
    expectClose(got, want);
    expect(xs.shape).toEqual([4, 3]);
  });

  it("arrays of tensors as arguments and a tuple of outputs with their own outAxes", () => {
    const a = randn([3, 2], 6);
    const b = randn([2, 3], 7); // batch on axis 1
    const c = randn([2], 8); // shared
    const g = (pair: Tensor[], shared: Tensor): Tensor[] => [pair[0].mul(pair[1]).add(shared), pair[0].sum()];
    const [p, s] = vmap(g, { inAxes: [[0, 1], null], outAxes: [1, 0] })([a, b], c);
    const loop = [0, 1, 2].map((k) => g([ex(a, k), ex(b, k, 1)], c));
    expectClose(
      p,
      ag.stack(
        loop.map((o) => o[0]),
        1,
      ),
    );
    expectClose(s, ag.stack(loop.map((o) => o[1])));
  });

  it("an output that does not depend on the batch is repeated along it", () => {
    const xs = randn([3, 2], 9);
    const [y, k] = vmap((x: Tensor) => [x.exp(), W.sum()], { outAxes: [0, 0] })(xs);
    expectClose(y, xs.exp());
    expectClose(k, ag.stack([W.sum(), W.sum(), W.sum()]));
  });
});

describe("nested vmap", () => {
  it("vmap(vmap(f)) equals a double loop, with different axes at each level", () => {
    const xs = randn([4, 2, 3], 10); // inner batch on axis 0 (4), outer on axis 1 (2)
    const w = randn([3, 3], 11);
    const f = (x: Tensor): Tensor => ag.softmax(ag.matmul(x, w)).mul(x).sum();
    const got = vmap(vmap(f, { inAxes: 0, outAxes: 0 }), { inAxes: 1, outAxes: 1 })(xs);
    expect(got.shape).toEqual([4, 2]);
    const rows = [0, 1, 2, 3].map((i) =>
      ag.stack(
        [0, 1].map((j) => f(ex(ex(xs, j, 1), i))),
        0,
      ),
    );
    expectClose(got, ag.stack(rows, 0));
  });

  it("an outer batched tensor used inside the inner function (closure) stays batched at its level", () => {
    const xs = randn([3, 4], 12);
    const ys = randn([5, 4], 13);
    const got = vmap((x: Tensor) => vmap((y: Tensor) => x.mul(y).sum())(ys))(xs); // [3, 5] outer products
    expectClose(got, ag.matmul(xs, ys, { transposeB: true }));
  });
});

describe("vmap with grad", () => {
  const loss = (w: Tensor, x: Tensor, y: Tensor): Tensor =>
    ag.sigmoid(ag.matmul(x, w)).sub(y).square().sum().mul(0.5);
  const W = randn([4, 3], 20);
  const X = randn([6, 4], 21);
  const Y = ag.rand([6, 3], { ...f64, seed: 22 });

  it("vmap(grad(loss)) gives per-example gradients of a shared parameter, equal to a loop of grads", () => {
    const per = vmap(ag.grad(loss), { inAxes: [null, 0, 0] })(W, X, Y);
    expect(per.shape).toEqual([6, 4, 3]);
    expectClose(per, ag.stack([0, 1, 2, 3, 4, 5].map((b) => ag.grad(loss)(W, ex(X, b), ex(Y, b))!)));
    // Their sum is the gradient of the summed loss.
    const total = ag.grad((w: Tensor) => ag.sigmoid(ag.matmul(X, w)).sub(Y).square().sum().mul(0.5))(W)!;
    expectClose(per.sum(0), total);
  });

  it("grad(x => vmap(f)(x).sum()) equals the gradient of the batched function", () => {
    const f = (x: Tensor): Tensor => ag.logsumexp(ag.matmul(x, W).mul(x.sum()), 0);
    const g = ag.grad((xs: Tensor) => vmap(f)(xs).sum())(X)!;
    const want = ag.grad((xs: Tensor) => ag.stack([0, 1, 2, 3, 4, 5].map((b) => f(ex(xs, b)))).sum())(X)!;
    expectClose(g, want);
  });

  it("grad of a function of per-example gradients (a second derivative through vmap)", () => {
    const penalty = (w: Tensor): Tensor =>
      vmap(ag.grad(loss), { inAxes: [null, 0, 0] })(w, X, Y)
        .square()
        .sum();
    const looped = (w: Tensor): Tensor =>
      ag.stack([0, 1, 2, 3, 4, 5].map((b) => ag.grad(loss)(w, ex(X, b), ex(Y, b))!.square().sum())).sum();
    expectClose(ag.grad(penalty)(W)!, ag.grad(looped)(W)!, 1e-9);
  });

  it("vmap(vmap(grad)) over a grid of examples", () => {
    const xs = randn([2, 3, 4], 23);
    const ys = ag.rand([2, 3, 3], { ...f64, seed: 24 });
    const per = vmap(vmap(ag.grad(loss), { inAxes: [null, 0, 0] }), { inAxes: [null, 0, 0] })(W, xs, ys);
    expect(per.shape).toEqual([2, 3, 4, 3]);
    expectClose(ex(ex(per, 1), 2), ag.grad(loss)(W, ex(ex(xs, 1), 2), ex(ex(ys, 1), 2))!);
  });

  it("per-example gradients of the article network (NN 784-30-10, sigmoid, quadratic) equal a loop of backprop", () => {
    const net = new NN([784, 30, 10], sigmoid, quadratic, { seed: 7, dtype: "float64" });
    const xs = ag.rand([5, 784], { ...f64, seed: 25 });
    const ys = ag.rand([5, 10], { ...f64, seed: 26 });
    const perExample = vmap((x: Tensor, y: Tensor) => {
      const g = net.backpropTape(x, y);
      return [...g.wGrad, ...g.bGrad];
    })(xs, ys);
    expect(perExample.map((t) => t.shape)).toEqual([
      [5, 784, 30],
      [5, 30, 10],
      [5, 1, 30],
      [5, 1, 10],
    ]);
    for (let b = 0; b < 5; b++) {
      const g = net.backprop(ex(xs, b), ex(ys, b)); // the hand-derived delta recursion
      [...g.wGrad, ...g.bGrad].forEach((want, i) => {
        expectClose(ex(perExample[i], b), want, 1e-9);
      });
    }
  });
});

describe("per-example gradients of a small CNN (conv2d, maxPool2d, avgPool2d, relu, linear)", () => {
  const params = [randn([4, 2, 3, 3], 60), randn([4], 61), randn([4 * 2 * 2, 3], 62)];
  // One image [2, 8, 8] (unbatched conv2d input) and its target [3].
  const loss = (ps: Tensor[], x: Tensor, y: Tensor): Tensor => {
    const [w, b, lin] = ps;
    const h = ag.relu(ag.conv2d(x.reshape([1, 2, 8, 8]), w, b, { padding: 1 })); // [1, 4, 8, 8]
    const p = ag.avgPool2d(ag.maxPool2d(h, 2), 2); // [1, 4, 2, 2]
    return ag
      .matmul(p.reshape([16]), lin)
      .sub(y)
      .square()
      .sum();
  };
  const xs = randn([3, 2, 8, 8], 63);
  const ys = randn([3, 3], 64);

  it("vmap(grads) equals a loop of grads, for every parameter", () => {
    const per = vmap((x: Tensor, y: Tensor) =>
      ag
        .grads((...ps: Tensor[]) => loss(ps, x, y))(...params)
        .map((g) => g!),
    )(xs, ys);
    for (let b = 0; b < 3; b++) {
      const want = ag.grads((...ps: Tensor[]) => loss(ps, ex(xs, b), ex(ys, b)))(...params);
      want.forEach((g, i) => {
        expectClose(ex(per[i], b), g!, 1e-9);
      });
    }
    expect(ag.vmapStats().fallbacks).toEqual({});
  });

  it("per-example weights (a batch of networks) batch through grouped convolutions", () => {
    const ws = randn([3, 4, 2, 3, 3], 65);
    const conv = (w: Tensor, x: Tensor): Tensor => ag.conv2d(x.reshape([1, 2, 8, 8]), w, null, { stride: 2 });
    const got = vmap(conv)(ws, xs);
    expectClose(ex(got, 1), conv(ex(ws, 1), ex(xs, 1)));
    const sq = (w: Tensor, x: Tensor): Tensor => conv(w, x).square().sum();
    const gw = vmap(ag.grad(sq))(ws, xs);
    expectClose(ex(gw, 2), ag.grad(sq)(ex(ws, 2), ex(xs, 2))!);
  });
});

describe("per-example indices and value-dependent ops", () => {
  it("gather, scatterAdd and takeAlongAxis with per-example indices", () => {
    const xs = randn([3, 5, 2], 30);
    const idx = new ag.Tensor(Int32Array.from([0, 4, 4, 1, 2, 3, 3, 0, -1]), [3, 3]);
    const g = vmap((x: Tensor, i: Tensor) => ag.gather(x, i, 0))(xs, idx);
    const s = vmap((x: Tensor, i: Tensor) => ag.scatterAdd(ag.gather(x, i, 0), i, 0, 5))(xs, idx);
    const t = vmap((x: Tensor, i: Tensor) => ag.takeAlongAxis(x, i.reshape([3, 1]).broadcastTo([3, 2]), 0))(
      xs,
      idx,
    );
    for (let b = 0; b < 3; b++) {
      const i = ex(idx, b);
      const x = ex(xs, b);
      expectClose(ex(g, b), ag.gather(x, i, 0));
      expectClose(ex(s, b), ag.scatterAdd(ag.gather(x, i, 0), i, 0, 5));
      expectClose(ex(t, b), ag.takeAlongAxis(x, i.reshape([3, 1]).broadcastTo([3, 2]), 0));
    }
    // Their gradients go back through the per-example indices too.
    const dg = vmap(ag.grad((x: Tensor, i: Tensor) => ag.gather(x, i, 0).square().sum()))(xs, idx);
    expectClose(
      ex(dg, 2),
      ag.grad((x: Tensor, i: Tensor) => ag.gather(x, i, 0).square().sum())(ex(xs, 2), ex(idx, 2))!,
    );
  });

  it("an out-of-range per-example index is reported", () => {
    const idx = new ag.Tensor(Int32Array.from([0, 7]), [2, 1]);
    expect(() => vmap((x: Tensor, i: Tensor) => ag.gather(x, i, 0))(randn([2, 3], 31), idx)).toThrow(
      /gather: index 7/,
    );
  });

  it("comparisons, sign, argmax, sort and topk run per example", () => {
    const xs = randn([4, 6], 32);
    const f = (x: Tensor): Tensor[] => [
      ag.greater(x, x.mean()),
      ag.sign(x),
      ag.argmax(x).cast("float64"),
      ag.argmin(x.reshape([2, 3]), 1).cast("float64"),
      ag.sort(x, -1, { descending: true }).values,
      ag.topk(x, 2).values,
      ag.argsort(x).cast("float64"),
    ];
    const got = vmap(f)(xs);
    const loop = [0, 1, 2, 3].map((b) => f(ex(xs, b)));
    got.forEach((t, i) => {
      expectClose(t, ag.stack(loop.map((o) => o[i])));
    });
  });
});

describe("fallbacks are counted, never silent", () => {
  const cube = ag.customOp({
    name: "cube",
    forward: (x) => {
      const out = new Float64Array(x.size);
      for (let i = 0; i < x.size; i++) out[i] = x.data[i] ** 3;
      return new ag.Tensor(out, x.shape);
    },
    vjp: (g, [x]) => g.mul(x.square().mul(3)),
  });

  it("a customOp is batched by a loop over the examples, with the reason in vmapStats", () => {
    const xs = randn([4, 3], 40);
    ag.resetVmapStats();
    expectClose(vmap((x: Tensor) => cube(x).sum())(xs), xs.pow(3).sum(1));
    const stats = ag.vmapStats();
    expect(stats.fallbacks["custom:cube"]).toMatchObject({ calls: 1, examples: 4 });
    expect(stats.fallbacks["custom:cube"].reason).toMatch(/user code/);
    expect(stats.rules.custom).toBe(1);
    expect(ag.vmapFallbackRules()).toEqual([
      { primitive: "custom", reason: stats.fallbacks["custom:cube"].reason },
    ]);
  });

  it("a customOp's vjp under vmap(grad) runs per example too (counted)", () => {
    const xs = randn([4, 3], 41);
    const per = vmap(ag.grad((x: Tensor) => cube(x).sum()))(xs);
    expectClose(per, xs.square().mul(3));
    expect(ag.vmapStats().fallbacks["custom:cube (vjp)"]).toMatchObject({ calls: 1, examples: 4 });
  });

  it("setVmapDebug(true) reports the first fallback of each primitive on console.warn", () => {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (m: string) => warnings.push(m);
    try {
      ag.setVmapDebug(true);
      vmap((x: Tensor) => cube(x))(randn([2, 2], 42));
      vmap((x: Tensor) => cube(x))(randn([2, 2], 43));
    } finally {
      console.warn = warn;
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/vmap: custom:cube is batched by a loop over 2 examples/);
  });

  it("the network transforms run without any fallback", () => {
    const W = randn([4, 3], 44);
    vmap(
      ag.grad((w: Tensor, x: Tensor) => ag.sigmoid(ag.matmul(x, w)).square().sum()),
      { inAxes: [null, 0] },
    )(W, randn([5, 4], 45));
    expect(ag.vmapStats().fallbacks).toEqual({});
  });
});

describe("vmap errors name vmap and what was wrong", () => {
  const x = randn([3, 2], 50);
  const y = randn([4, 2], 51);
  const add = (a: Tensor, b: Tensor): Tensor => a.add(b);

  it("batch sizes that differ", () => {
    expect(() => vmap(add)(x, y)).toThrow(ShapeError);
    expect(() => vmap(add)(x, y)).toThrow(
      "vmap: batch sizes differ: argument 0 has 3 along axis 0 (shape [3, 2]), argument 1 has 4 along axis 0 (shape [4, 2])",
    );
  });

  it("axes out of range, in and out", () => {
    expect(() => vmap(add, { inAxes: [0, 2] })(x, y)).toThrow(
      /vmap: inAxes 2 is out of range for argument 1 of shape \[4, 2\]; valid: -2 to 1/,
    );
    expect(() => vmap((a: Tensor) => a, { inAxes: 0 })(ag.tensor(1))).toThrow(/0-d tensor has no axis/);
    expect(() => vmap((a: Tensor) => a.sum(), { outAxes: 1 })(x)).toThrow(
      /vmap: outAxes 1 is out of range for output 0 of per-example shape \[\] \(scalar\); valid: -1 to 0/,
    );
    expect(() => vmap(add, { inAxes: [0.5, 0] })(x, x)).toThrow(ValueError);
  });

  it("inAxes and outAxes lists of the wrong length, nothing batched, a non-tensor argument", () => {
    expect(() => vmap(add, { inAxes: [0] })(x, x)).toThrow(
      "vmap: inAxes lists 1 entries but the function was called with 2 arguments",
    );
    expect(() => vmap((a: Tensor) => [a, a], { outAxes: [0] })(x)).toThrow(
      /outAxes lists 1 axes but the function returned 2/,
    );
    expect(() => vmap(add, { inAxes: null })(x, x)).toThrow(/vmap: no argument is batched/);
    expect(() => vmap((a: Tensor, k: number) => a.mul(k))(x, 2)).toThrow(
      /argument 1 is not a tensor.*inAxes null/,
    );
    expect(vmap((a: Tensor, k: number) => a.mul(k), { inAxes: [0, null] })(x, 2).toArray()).toEqual(
      x.mul(2).toArray(),
    );
  });

  it("reading a batched tensor's values inside the function, and using it after vmap returned", () => {
    expect(() => vmap((a: Tensor) => ag.tensor(a.toArray() as number[]))(x)).toThrow(GraphError);
    expect(() => vmap((a: Tensor) => ag.tensor(a.item()))(randn([3, 1], 52).reshape([3]))).toThrow(
      /vmap: the values of a batched tensor \(per-example shape \[\], batch of 3\) were read directly/,
    );
    let kept: Tensor | null = null;
    vmap((a: Tensor) => {
      kept = a.exp();
      return kept;
    })(x);
    // After every vmap returned: the tensor's values cannot be read.
    expect(() => kept!.add(1)).toThrow(/a batched tensor cannot be used after its vmap has returned/);
    // Inside another vmap: the escaped tensor's own vmap is no longer running.
    expect(() => vmap((a: Tensor) => a.add(kept!))(x)).toThrow(
      /vmap: add got a batched tensor whose vmap has already returned/,
    );
  });

  it("backward() on a batched tensor says to use grad inside vmap", () => {
    const w = randn([2], 53);
    w.requiresGrad = true;
    expect(() =>
      vmap((a: Tensor) => {
        const y = a.mul(w).sum();
        y.backward();
        return y;
      })(x),
    ).toThrow(
      /backward: called on a batched tensor inside vmap \(per-example shape \[\]\).*vmap\(grad\(f\)\)/,
    );
    expect(w.grad).toBeNull();
  });

  it("anomaly mode checks the batched computation", () => {
    const neg = ag.tensor([
      [1, 2],
      [-1, 3],
    ]);
    expect(() => ag.withAnomalyMode(() => vmap((a: Tensor) => a.log())(neg))).toThrow(
      /anomaly: forward of log/,
    );
  });

  it("a function returning something other than tensors", () => {
    expect(() => vmap((_a: Tensor) => 3 as unknown as Tensor)(x)).toThrow(
      /must return a Tensor or an array of Tensors, got number/,
    );
  });
});
