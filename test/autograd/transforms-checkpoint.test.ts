/**
 * checkpoint(fn, ...xs): gradients equal the plain ones (inputs and closed-over parameters), the
 * segment's intermediate tensors are not kept (one node stands for it), second order passes through
 * (createGraph, nested grad), and it composes with jvp and substitute.
 */
import {
  checkpoint,
  grad,
  jvp,
  noGrad,
  Rng,
  record,
  substitute,
  type Tensor,
  tensor,
} from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

function random(shape: number[], rng: Rng, requiresGrad = false): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(
    Float64Array.from({ length: n }, () => rng.uniformIn(-1, 1)),
    { shape, requiresGrad },
  );
}

function expectSame(a: Tensor | null, b: Tensor | null, tol = 0): void {
  expect(a).not.toBeNull();
  expect(b).not.toBeNull();
  expect([...a!.shape]).toEqual([...b!.shape]);
  for (let i = 0; i < a!.size; i++) expect(Math.abs(a!.data[i] - b!.data[i])).toBeLessThanOrEqual(tol);
}

/** A small MLP whose layers close over their weights, as a checkpointed block usually does. */
function mlp(rng: Rng, widths: number[]) {
  const ws = widths.slice(1).map((w, i) => random([widths[i], w], rng, true));
  const bs = widths.slice(1).map((w) => random([1, w], rng, true));
  const block =
    (i: number) =>
    (h: Tensor): Tensor =>
      h.matmul(ws[i]).add(bs[i]).tanh();
  return { ws, bs, block, params: [...ws, ...bs] };
}

describe("checkpoint", () => {
  it("gives the plain gradients for the input and for the parameters the segment closes over", () => {
    const rng = new Rng(1);
    const { block, params } = mlp(rng, [3, 5, 5, 2]);
    const x = random([4, 3], rng, true);
    const plain = (h: Tensor): Tensor => block(2)(block(1)(block(0)(h)));
    plain(x).square().sum().backward();
    const want = [x, ...params].map((p) => p.grad!);
    for (const p of [x, ...params]) p.grad = null;
    const segments = (h: Tensor): Tensor => block(2)(checkpoint((t) => block(1)(block(0)(t)), h));
    segments(x).square().sum().backward();
    [x, ...params].forEach((p, i) => {
      expectSame(p.grad, want[i], 1e-15);
    });
  });

  it("keeps one node for the segment instead of its intermediate tensors", () => {
    const rng = new Rng(2);
    const { block } = mlp(rng, [3, 4, 4, 4]);
    const x = random([2, 3], rng, true);
    const seg = (t: Tensor): Tensor => block(2)(block(1)(block(0)(t)));
    const plain = record(() => seg(x));
    const check = record(() => checkpoint(seg, x));
    expect(plain.tape.nodes.filter((n) => !n.leaf).length).toBe(9);
    expect(check.tape.nodes.filter((n) => !n.leaf).map((n) => n.op)).toEqual(["checkpoint"]);
    // the leaves it reads: x and the six closed-over parameters
    expect(check.tape.nodes.filter((n) => n.leaf).length).toBe(7);
    expectSame(check.value, plain.value, 0);
  });

  it("is differentiable twice: createGraph backward and nested grad agree with the plain segment", () => {
    const rng = new Rng(3);
    const { block } = mlp(rng, [2, 3, 2]);
    const x = random([1, 2], rng);
    const seg = (t: Tensor): Tensor => block(1)(block(0)(t));
    const gradNorm = (f: (t: Tensor) => Tensor) => (t: Tensor) =>
      grad((u: Tensor) => f(u).sum())(t)!
        .square()
        .sum();
    const plain = grad(gradNorm(seg))(x);
    const checked = grad(gradNorm((t) => checkpoint(seg, t)))(x);
    expectSame(checked, plain, 1e-14);
  });

  it("handles parameters shared between the segment and the rest, and several inputs", () => {
    const rng = new Rng(4);
    const w = random([3, 3], rng, true);
    const a = random([2, 3], rng, true);
    const b = random([2, 3], rng, true);
    const f = (useCheckpoint: boolean): Tensor => {
      const seg = (p: Tensor, q: Tensor): Tensor => p.matmul(w).sin().mul(q);
      const h = useCheckpoint ? checkpoint(seg, a, b) : seg(a, b);
      return h.matmul(w).sum();
    };
    f(false).backward();
    const plain = [w, a, b].map((p) => p.grad!);
    for (const p of [w, a, b]) p.grad = null;
    f(true).backward();
    [w, a, b].forEach((p, i) => {
      expectSame(p.grad, plain[i], 1e-15);
    });
  });

  it("runs fn plainly under noGrad and under forward mode (tangents pass through)", () => {
    const rng = new Rng(5);
    const x = random([3], rng);
    const seg = (t: Tensor): Tensor => t.exp().mul(t);
    expectSame(
      noGrad(() => checkpoint(seg, x)),
      seg(x),
    );
    const v = random([3], rng);
    const { tangent } = jvp((t: Tensor) => checkpoint(seg, t), [x], [v]);
    expectSame(tangent, jvp(seg, [x], [v]).tangent);
  });

  it("recomputes with the substitutions in force at the forward (functionalCall)", () => {
    const rng = new Rng(6);
    const w = random([2, 2], rng, true);
    const w2 = random([2, 2], rng, true);
    const x = random([1, 2], rng);
    const seg = (t: Tensor): Tensor => t.matmul(w).tanh();
    const y = substitute(new Map([[w, w2]]), () => checkpoint(seg, x));
    y.sum().backward();
    expect(w.grad).toBeNull();
    const want = grad((m: Tensor) => x.matmul(m).tanh().sum())(w2);
    expectSame(w2.grad, want, 1e-15);
  });

  it("rejects a non-function and non-tensor arguments", () => {
    expect(() => checkpoint(1 as never, tensor([1]))).toThrow(/checkpoint: expected a function/);
    expect(() => checkpoint((t) => t, 3 as never)).toThrow(/checkpoint: argument 0 is not a Tensor/);
  });
});

describe("substitute", () => {
  it("replaces a tensor in every op for the duration of fn, gradients going to the replacement", () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4], { requiresGrad: true });
    const y = substitute(new Map([[a, b]]), () => a.mul(a).sum());
    expect(y.item()).toBe(25);
    y.backward();
    expect(a.grad).toBeNull();
    expect(b.grad?.toArray()).toEqual([6, 8]);
    expect(a.mul(a).sum().item()).toBe(5); // back to the original afterwards
    expect(() => substitute(new Map([[a, tensor([1, 2, 3])]]), () => a)).toThrow(
      /shape \[2\] cannot be replaced by one of shape \[3\]/,
    );
    expect(() =>
      substitute(new Map([[a, b]]), () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(a.add(0).toArray()).toEqual([1, 2]);
  });
});
