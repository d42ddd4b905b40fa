/**
 * Jacobians, Hessians and the argnums / hasAux forms: jacfwd and jacrev agree on random functions and
 * shapes, Hessians are symmetric and equal finite differences of the gradient, hvp is H·v, pullbacks
 * are reusable, and grad / valueAndGrad follow JAX's argnums and hasAux.
 */
import {
  grad,
  grads,
  hessian,
  hvp,
  jacfwd,
  jacrev,
  noGrad,
  Rng,
  ShapeError,
  TapegradError,
  Tensor,
  tensor,
  ValueError,
  valueAndGrad,
  vjp,
} from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const f64 = (a: number[], shape?: number[]): Tensor =>
  tensor(Float64Array.from(a), { shape: shape ?? [a.length] });

function random(shape: number[], rng: Rng, lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Float64Array.from({ length: n }, () => rng.uniformIn(lo, hi)),
    shape,
  );
}

function expectClose(a: Tensor, b: Tensor, tol: number): void {
  expect([...a.shape]).toEqual([...b.shape]);
  for (let i = 0; i < a.size; i++) {
    expect(Math.abs(a.data[i] - b.data[i]), `element ${i}: ${a.data[i]} vs ${b.data[i]}`).toBeLessThanOrEqual(
      tol * Math.max(1, Math.abs(a.data[i]), Math.abs(b.data[i])),
    );
  }
}

/** A few smooth functions of two arguments a [m, k] and b [k, n]. */
const functions: Array<[string, (a: Tensor, b: Tensor) => Tensor]> = [
  ["tanh(a·b)·Σa", (a, b) => a.matmul(b).tanh().mul(a.sum())],
  ["softmax rows of a·b, then log", (a, b) => a.matmul(b).softmax(-1).add(1).log()],
  ["sigmoid, broadcasting and a reduction", (a, b) => a.sigmoid().sum(0, true).matmul(b.exp()).mean(0)],
  [
    "a transposed and sliced",
    (a, b) =>
      a
        .transpose()
        .sin()
        .matmul(a)
        .slice(1, 0, 1)
        .matmul(b.slice(0, 0, 1).square()),
  ],
];

describe("jacfwd and jacrev", () => {
  const shapes = fc.tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 3 }),
  );

  it.each(functions)("agree for %s, for every argnums form", (_name, f) => {
    fc.assert(
      fc.property(shapes, fc.integer({ min: 1, max: 1e6 }), ([m, k, n], seed) => {
        const rng = new Rng(seed);
        const a = random([m, k], rng);
        const b = random([k, n], rng);
        const y = f(a, b);
        const r0 = jacrev(f)(a, b);
        const f0 = jacfwd(f)(a, b);
        expect([...r0.shape]).toEqual([...y.shape, m, k]);
        expectClose(f0, r0, 1e-12);
        const r1 = jacrev(f, { argnums: 1 })(a, b);
        expect([...r1.shape]).toEqual([...y.shape, k, n]);
        expectClose(jacfwd(f, { argnums: 1 })(a, b), r1, 1e-12);
        const [ra, rb] = jacrev(f, { argnums: [0, 1] })(a, b);
        const [fa, fb] = jacfwd(f, { argnums: [0, 1] })(a, b);
        expectClose(fa, ra, 1e-12);
        expectClose(fb, rb, 1e-12);
        expectClose(ra, r0, 0);
        expectClose(rb, r1, 0);
      }),
      { seed: 3, numRuns: 8 },
    );
  });

  it("equal central finite differences", () => {
    const rng = new Rng(5);
    const [, f] = functions[0];
    const a = random([2, 3], rng);
    const b = random([3, 2], rng);
    const J = jacrev(f)(a, b); // [2, 2, 2, 3]
    const h = 1e-6;
    for (let j = 0; j < a.size; j++) {
      const up = a.data.slice() as Float64Array;
      const down = a.data.slice() as Float64Array;
      up[j] += h;
      down[j] -= h;
      const fu = noGrad(() => f(new Tensor(up, a.shape), b));
      const fd = noGrad(() => f(new Tensor(down, a.shape), b));
      for (let i = 0; i < fu.size; i++) {
        const numeric = (fu.data[i] - fd.data[i]) / (2 * h);
        expect(Math.abs(J.data[i * a.size + j] - numeric)).toBeLessThan(1e-8);
      }
    }
  });

  it("handle functions returning arrays: one Jacobian per output (and per argument)", () => {
    const f = (x: Tensor, w: Tensor): Tensor[] => [x.mul(w).sum(), x.exp().mul(w.sum())];
    const x = f64([0.1, 0.2]);
    const w = f64([3, 4]);
    const rev = jacrev(f, { argnums: [0, 1] })(x, w);
    const fwd = jacfwd(f, { argnums: [0, 1] })(x, w);
    expect(rev.length).toBe(2);
    expect(rev[0][0].toArray()).toEqual([3, 4]); // ∂(x·w)/∂x = w
    expect(rev[0][1].toArray()).toEqual([0.1, 0.2]);
    for (let o = 0; o < 2; o++) for (let a = 0; a < 2; a++) expectClose(fwd[o][a], rev[o][a], 1e-14);
    const single = jacrev(f)(x, w);
    expect(single.length).toBe(2);
    expect([...single[1].shape]).toEqual([2, 2]);
  });

  it("give zeros (not nulls) where the output does not depend on an argument", () => {
    const f = (x: Tensor, _y: Tensor): Tensor => x.square();
    const [, dy] = jacrev(f, { argnums: [0, 1] })(f64([1, 2]), f64([3]));
    expect(dy.toArray()).toEqual([[0], [0]]);
    const [, dyf] = jacfwd(f, { argnums: [0, 1] })(f64([1, 2]), f64([3]));
    expect(dyf.toArray()).toEqual([[0], [0]]);
  });

  it("reject argnums outside the call's arguments, naming the transform", () => {
    expect(() => jacrev((x: Tensor) => x, { argnums: 2 })(f64([1]))).toThrow(ValueError);
    expect(() => jacfwd((x: Tensor) => x, { argnums: [0, 0] })(f64([1]))).toThrow(
      /jacfwd: argnums \[0,0\] repeats argument 0/,
    );
  });
});

describe("hessian and hvp", () => {
  const loss = (x: Tensor): Tensor => x.matmul(x.tanh()).add(x.square().sum().sin()).add(x.prod().mul(0.5));

  it("hessian is symmetric and equals central differences of grad", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 1e6 }), (n, seed) => {
        const x = random([n], new Rng(seed));
        const H = hessian(loss)(x);
        expect([...H.shape]).toEqual([n, n]);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++)
            expect(Math.abs(H.data[i * n + j] - H.data[j * n + i])).toBeLessThanOrEqual(1e-13);
        const h = 1e-6;
        const g = (t: Float64Array): Tensor => grad(loss)(new Tensor(t, [n]))!;
        for (let j = 0; j < n; j++) {
          const up = x.data.slice() as Float64Array;
          const down = x.data.slice() as Float64Array;
          up[j] += h;
          down[j] -= h;
          const gu = g(up);
          const gd = g(down);
          for (let i = 0; i < n; i++) {
            const numeric = (gu.data[i] - gd.data[i]) / (2 * h);
            expect(Math.abs(H.data[i * n + j] - numeric)).toBeLessThan(1e-7);
          }
        }
      }),
      { seed: 9, numRuns: 10 },
    );
  });

  it("hessian with a list of argnums gives the blocks, H[a][b] = H[b][a]ᵀ", () => {
    const f = (a: Tensor, b: Tensor): Tensor => a.matmul(b).tanh().sum().add(a.square().sum().mul(b.sum()));
    const a = f64([0.3, -0.2, 0.5, 0.1], [2, 2]);
    const b = f64([0.7, -0.4], [2, 1]);
    const H = hessian(f, { argnums: [0, 1] })(a, b);
    expect([...H[0][1].shape]).toEqual([2, 2, 2, 1]);
    expect([...H[1][0].shape]).toEqual([2, 1, 2, 2]);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 2; j++) expect(H[0][1].data[i * 2 + j]).toBeCloseTo(H[1][0].data[j * 4 + i], 13);
    expectClose(H[0][0], hessian(f)(a, b), 0);
  });

  it("hvp equals H·v, argument by argument", () => {
    const rng = new Rng(2);
    const x = random([4], rng);
    const v = random([4], rng);
    const [hv] = hvp(loss, [x], [v]);
    expectClose(hv, hessian(loss)(x).matmul(v), 1e-12);
    const f = (a: Tensor, b: Tensor): Tensor => a.mul(b).exp().sum();
    const [ha, hb] = hvp(f, [f64([0.1, 0.2]), f64([0.3, 0.4])], [f64([1, 0]), f64([0, 1])]);
    // H = [[b²e, (1+ab)e], ...] per element (diagonal blocks per index)
    const e0 = Math.exp(0.03);
    const e1 = Math.exp(0.08);
    expect(ha.data[0]).toBeCloseTo(0.09 * e0, 13);
    expect(ha.data[1]).toBeCloseTo((1 + 0.08) * e1, 13);
    expect(hb.data[0]).toBeCloseTo((1 + 0.03) * e0, 13);
    expect(hb.data[1]).toBeCloseTo(0.04 * e1, 13);
  });
});

describe("vjp", () => {
  it("returns the value and a pullback that can be called again, linear in the cotangent", () => {
    const x = f64([0.5, -1, 2]);
    const { value, pullback } = vjp((t: Tensor) => t.exp().mul(t.sum()), x);
    expect(value.requiresGrad).toBe(false);
    const u = f64([1, 2, 3]);
    const [g1] = pullback(u);
    const [g2] = pullback(u);
    const [g3] = pullback(u.mul(2));
    expectClose(g1!, g2!, 0);
    expectClose(g3!, g1!.mul(2), 1e-15);
    const J = jacrev((t: Tensor) => t.exp().mul(t.sum()))(x);
    expectClose(g1!, u.matmul(J), 1e-14);
  });

  it("takes one cotangent per output for an array of outputs, and checks shapes", () => {
    const { pullback } = vjp((a: Tensor, b: Tensor) => [a.mul(b), a.sum()], f64([1, 2]), f64([3, 4]));
    const [ga, gb] = pullback([f64([1, 1]), f64([1], [])]);
    expect(ga!.toArray()).toEqual([4, 5]); // b·1 + 1 (from Σa)
    expect(gb!.toArray()).toEqual([1, 2]);
    expect(() => pullback([f64([1, 1, 1]), f64([0], [])])).toThrow(ShapeError);
  });
});

describe("grad and valueAndGrad with argnums and hasAux", () => {
  const f = (a: Tensor, b: Tensor, c: Tensor): Tensor => a.mul(b).mul(c).sum();
  const [a, b, c] = [f64([2]), f64([3]), f64([5])];

  it("argnums picks the arguments; a list gives a list", () => {
    expect(grad(f, { argnums: 1 })(a, b, c)?.item()).toBe(10);
    expect(grad(f, { argnums: [2, 0] })(a, b, c).map((g) => g?.item())).toEqual([6, 15]);
    expect(grad(f, {})(a, b, c)?.item()).toBe(15);
  });

  it("hasAux passes aux through next to the gradient", () => {
    const withAux = (x: Tensor, y: Tensor): [Tensor, { note: string; y2: Tensor }] => [
      x.square().sum(),
      { note: "aux", y2: y.mul(2) },
    ];
    const [g, aux] = grad(withAux, { hasAux: true })(f64([3]), f64([4]));
    expect(g?.item()).toBe(6);
    expect(aux.note).toBe("aux");
    expect(aux.y2.item()).toBe(8);
    const [gs, aux2] = grad(withAux, { argnums: [0, 1], hasAux: true })(f64([3]), f64([4]));
    expect(gs.map((t) => t?.item() ?? null)).toEqual([6, null]);
    expect(aux2.note).toBe("aux");
    const r = valueAndGrad(withAux, { hasAux: true })(f64([3]), f64([4]));
    expect(r.value.item()).toBe(9);
    expect(r.grad?.item()).toBe(6);
    expect(r.aux.y2.item()).toBe(8);
  });

  it("valueAndGrad with a list of argnums", () => {
    const r = valueAndGrad(f, { argnums: [0, 1] })(a, b, c);
    expect(r.value.item()).toBe(30);
    expect(r.grad.map((g) => g?.item())).toEqual([15, 10]);
  });

  it("the old call forms are unchanged", () => {
    expect(grad((x: Tensor, k: number) => x.mul(k).sum())(f64([1]), 7)?.item()).toBe(7);
    expect(grads(f)(a, b, c).map((g) => g?.item())).toEqual([15, 10, 6]);
    expect(valueAndGrad((x: Tensor) => x.square().sum())(f64([4])).grad?.item()).toBe(8);
  });

  it("errors name the transform and say what was expected", () => {
    expect(() => grad(f, { argnums: 3 })(a, b, c)).toThrow(
      /grad: argnums 3 names argument 3, but the function was called with 3 arguments/,
    );
    expect(() => grad(f, { argnums: [] })(a, b, c)).toThrow(/argnums is an empty list/);
    expect(() => grad((x: Tensor) => x.sum() as never, { hasAux: true })(a)).toThrow(TapegradError);
    expect(() => grad((x: Tensor) => x.sum() as never, { hasAux: true })(a)).toThrow(
      /hasAux the function must return \[value, aux\]/,
    );
    expect(() => grad(f, { argnums: "0" as never })(a, b, c)).toThrow(/argnums must be an index or a list/);
    expect(() => grad(f, { argnums: 1 })(a, 2 as never, c)).toThrow(
      /grad: argument 1 is not a Tensor \(got number\)/,
    );
  });
});
