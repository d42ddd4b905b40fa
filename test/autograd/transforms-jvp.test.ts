/**
 * Forward mode. For every op of the op table (so every primitive, and new ops as they are added), in
 * float64: jvp is the transpose of vjp, ⟨J·v, u⟩ = ⟨v, Jᵀ·u⟩ on random u and v, and the jvp of the
 * gradient (forward over reverse, which runs the jvp rules of the vjps' own primitives such as
 * tanhGrad) equals the reverse-over-reverse Hessian-vector product. Then nesting and composition.
 */
import {
  customOp,
  GraphError,
  grad,
  grads,
  jvp,
  Rng,
  ShapeError,
  TapegradError,
  Tensor,
  tensor,
  vjp,
} from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeInputs, sample } from "./op-properties.js";
import { opTable } from "./op-table.js";

const f64 = (a: number[] | number, shape?: number[]): Tensor =>
  tensor(typeof a === "number" ? new Float64Array([a]) : Float64Array.from(a), {
    shape: shape ?? (typeof a === "number" ? [] : [a.length]),
  });

function randomLike(t: Tensor, rng: Rng): Tensor {
  return new Tensor(
    Float64Array.from({ length: t.size }, () => rng.uniformIn(-1, 1)),
    t.shape,
  );
}

function dot(a: Tensor, b: Tensor): number {
  let s = 0;
  for (let i = 0; i < a.size; i++) s += a.data[i] * b.data[i];
  return s;
}

function close(a: number, b: number, tol = 1e-10): void {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(a), Math.abs(b)));
}

describe.each(opTable.map((info) => [info.name, info] as const))("jvp of op %s", (_name, info) => {
  it("is the transpose of its vjp: ⟨jvp(v), u⟩ = ⟨v, vjp(u)⟩ (float64, random u, v)", () => {
    fc.assert(
      fc.property(sample(info), fc.integer({ min: 1, max: 1_000_000 }), ({ c, values }, seed) => {
        const xs = makeInputs(c, values, "float64");
        const f = (...ts: Tensor[]): Tensor => info.fn(c.args, ...ts);
        const rng = new Rng(seed);
        const vs = xs.map((x) => randomLike(x, rng));
        const { value, tangent } = jvp(f, xs, vs);
        const plain = f(...xs);
        expect([...value.shape]).toEqual([...plain.shape]);
        expect(Array.from(value.data)).toEqual(Array.from(plain.data));
        expect([...tangent.shape]).toEqual([...plain.shape]);
        const u = randomLike(plain, rng);
        const cts = vjp(f, ...xs).pullback(u);
        const right = cts.reduce((s, g, i) => s + (g === null ? 0 : dot(g, vs[i])), 0);
        close(dot(tangent, u), right);
      }),
      { seed: 7, numRuns: 12 },
    );
  });

  it("of the gradient equals the reverse-over-reverse Hessian-vector product", () => {
    fc.assert(
      fc.property(sample(info), fc.integer({ min: 1, max: 1_000_000 }), ({ c, values }, seed) => {
        const xs = makeInputs(c, values, "float64");
        const rng = new Rng(seed);
        const w = randomLike(info.fn(c.args, ...xs), rng);
        const scalar = (...ts: Tensor[]): Tensor =>
          info
            .fn(c.args, ...ts)
            .mul(w)
            .sum();
        const gradient = (...ts: Tensor[]): Tensor[] => grads(scalar)(...ts).map((g, i) => g ?? ts[i].mul(0));
        const vs = xs.map((x) => randomLike(x, rng));
        const forwardOverReverse = jvp(gradient, xs, vs).tangent;
        // reverse over reverse: ∇_x ⟨∇_x f, v⟩
        const reverseOverReverse = grads((...ts: Tensor[]) =>
          gradient(...ts)
            .map((g, i) => g.mul(vs[i]).sum())
            .reduce((a, b) => a.add(b)),
        )(...xs);
        forwardOverReverse.forEach((h, i) => {
          const r = reverseOverReverse[i];
          for (let k = 0; k < h.size; k++) close(h.data[k], r === null ? 0 : r.data[k], 1e-9);
        });
      }),
      { seed: 11, numRuns: 6 },
    );
  });
});

describe("forward mode", () => {
  it("avoids perturbation confusion: d/dx [x · d/dy (x + y)] = 1, not 2", () => {
    const one = f64(1);
    const inner = (x: Tensor): Tensor => jvp((y: Tensor) => x.add(y), [one], [one]).tangent;
    const { tangent } = jvp((x: Tensor) => x.mul(inner(x)), [one], [one]);
    expect(tangent.item()).toBe(1);
    // the same through reverse mode on the outside
    expect(grad((x: Tensor) => x.mul(inner(x)).sum())(one)?.item()).toBe(1);
  });

  it("nests: jvp of jvp gives the second directional derivative (and the mixed one with two directions)", () => {
    const f = (x: Tensor): Tensor => x.mul(x).mul(x).sin(); // sin(x³)
    const x0 = 0.7;
    const d1 = (x: Tensor): Tensor => jvp(f, [x], [f64(1)]).tangent;
    const d2 = jvp(d1, [f64(x0)], [f64(1)]).tangent.item();
    // d²/dx² sin(x³) = 6x·cos(x³) − 9x⁴·sin(x³)
    close(d2, 6 * x0 * Math.cos(x0 ** 3) - 9 * x0 ** 4 * Math.sin(x0 ** 3), 1e-12);
    // two variables, two directions: ∂²(a²·b)/∂a∂b = 2a
    const g = (a: Tensor, b: Tensor): Tensor => a.square().mul(b);
    const mixed = jvp(
      (a: Tensor, b: Tensor) => jvp(g, [a, b], [f64(0), f64(1)]).tangent,
      [f64(3), f64(5)],
      [f64(1), f64(0)],
    ).tangent;
    expect(mixed.item()).toBe(6);
  });

  it("composes with grad both ways: grad of a jvp and jvp of a grad agree with the Hessian", () => {
    const f = (x: Tensor): Tensor => x.tanh().mul(x.exp()).sum(); // separable: H is diagonal
    const x = f64([0.3, -0.8]);
    const v = f64([1, 2]);
    const h = (t: number): number => {
      const th = Math.tanh(t);
      const s = 1 - th * th;
      return Math.exp(t) * (th + 2 * s - 2 * th * s);
    };
    const hv = [h(0.3) * 1, h(-0.8) * 2];
    const gradOfJvp = grad((t: Tensor) => jvp(f, [t], [v]).tangent)(x)!;
    const jvpOfGrad = jvp((t: Tensor) => grad(f)(t)!, [x], [v]).tangent;
    for (const r of [gradOfJvp, jvpOfGrad])
      (r.toArray() as number[]).forEach((a, i) => {
        close(a, hv[i], 1e-12);
      });
  });

  it("pushes tangents through a backward walk that accumulates cotangents (an input used twice)", () => {
    const f = (x: Tensor): Tensor => x.mul(x.sin()).add(x.square()).sum();
    const x = f64([0.4, 1.1]);
    const v = f64([1, -1]);
    const t = jvp((a: Tensor) => grad(f)(a)!, [x], [v]).tangent;
    // f'' = 2cos x − x sin x + 2
    const want = [0.4, 1.1].map((a, i) => (2 * Math.cos(a) - a * Math.sin(a) + 2) * (i === 0 ? 1 : -1));
    (t.toArray() as number[]).forEach((a, i) => {
      close(a, want[i], 1e-12);
    });
  });

  it("returns zeros for an output that does not depend on the primals, and arrays for arrays", () => {
    const c = f64([1, 2]);
    const { value, tangent } = jvp((x: Tensor) => [x.mul(2), c.exp()], [f64([1, 1])], [f64([1, 3])]);
    expect(value[0].toArray()).toEqual([2, 2]);
    expect(Array.from(value[1].data)).toEqual([Math.exp(1), Math.exp(2)]);
    expect(tangent.map((t) => t.toArray())).toEqual([
      [2, 6],
      [0, 0],
    ]);
  });

  it("rejects mismatched tangents with errors naming jvp and the shapes", () => {
    expect(() => jvp((x: Tensor) => x, [f64([1, 2])], [f64([1, 2, 3])])).toThrow(ShapeError);
    expect(() => jvp((x: Tensor) => x, [f64([1, 2])], [f64([1, 2, 3])])).toThrow(
      /tangent 0 has shape \[3\], its primal has shape \[2\]/,
    );
    expect(() => jvp((x: Tensor) => x, [f64([1])], [])).toThrow(/1 primals but 0 tangents/);
    const ids = new Tensor(new Int32Array([0]), [1]);
    expect(() => jvp((x: Tensor) => x, [ids], [f64([1])])).toThrow(/int32/);
  });
});

describe("forward mode through customOp", () => {
  const square = (withJvp: boolean) =>
    customOp({
      name: "mySquare",
      forward: (x) =>
        new Tensor(
          x.data.map((v) => v * v),
          x.shape,
        ),
      vjp: (g, [x]) => g.mul(x).mul(2),
      ...(withJvp
        ? {
            jvp: ([t]: readonly (Tensor | null)[], [x]: readonly Tensor[]) =>
              t === null ? null : t.mul(x).mul(2),
          }
        : {}),
    });

  it("uses the spec's jvp, or transposes a vjp written with tensor ops; both are exact and nest", () => {
    for (const op of [square(true), square(false)]) {
      const x = f64([1.5, -2]);
      const { tangent } = jvp((t: Tensor) => op(t), [x], [f64([1, 1])]);
      expect(tangent.toArray()).toEqual([3, -4]);
      const second = jvp(
        (t: Tensor) => jvp((s: Tensor) => op(s), [t], [f64([1, 1])]).tangent,
        [x],
        [f64([1, 1])],
      );
      expect(second.tangent.toArray()).toEqual([2, 2]);
    }
  });

  it("without a jvp and with a vjp on raw buffers, is a GraphError naming the op", () => {
    const raw = customOp({
      name: "rawVjp",
      forward: (x) =>
        new Tensor(
          x.data.map((v) => v * v),
          x.shape,
        ),
      vjp: (g, [x]) =>
        new Tensor(
          g.data.map((v, i) => 2 * v * x.data[i]),
          x.shape,
        ),
    });
    expect(() => jvp((t: Tensor) => raw(t), [f64([1])], [f64([1])])).toThrow(GraphError);
    expect(() => jvp((t: Tensor) => raw(t), [f64([1])], [f64([1])])).toThrow(/customOp "rawVjp".*jvp/);
  });

  it("checks the shape a spec's jvp returns", () => {
    const bad = customOp({
      name: "badJvp",
      forward: (x) => new Tensor(x.data.slice(), x.shape),
      vjp: (g) => g,
      jvp: () => f64([1, 2, 3]),
    });
    expect(() => jvp((t: Tensor) => bad(t), [f64([1])], [f64([1])])).toThrow(TapegradError);
    expect(() => jvp((t: Tensor) => bad(t), [f64([1])], [f64([1])])).toThrow(/badJvp.*shape \[1\]/);
  });
});
