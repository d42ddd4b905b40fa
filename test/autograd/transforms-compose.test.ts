/**
 * Forward mode and the Jacobian transforms composed with vmap, both ways round, against a loop over the
 * examples (float64, exact: the same primitives run in both).
 */
import { hessian, jacfwd, jvp, randn, stack, type Tensor, vmap } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

const f = (x: Tensor): Tensor => x.tanh().mul(x.sum()).exp();
const xs = randn([4, 3], { seed: 1, dtype: "float64" });
const vs = randn([4, 3], { seed: 2, dtype: "float64" });
const row = (t: Tensor, i: number): Tensor => t.slice(0, i, i + 1).squeeze(0);
const loop = (g: (i: number) => Tensor): Tensor => stack([0, 1, 2, 3].map(g));

function expectEqual(a: Tensor, b: Tensor): void {
  expect([...a.shape]).toEqual([...b.shape]);
  expect(Array.from(a.data)).toEqual(Array.from(b.data));
}

describe("transforms composed with vmap", () => {
  const tangents = loop((i) => jvp(f, [row(xs, i)], [row(vs, i)]).tangent);

  it("vmap of jvp equals the loop", () => {
    expectEqual(vmap((x: Tensor, v: Tensor) => jvp(f, [x], [v]).tangent)(xs, vs), tangents);
  });

  it("jvp of vmap equals the loop", () => {
    expectEqual(jvp((x: Tensor) => vmap(f)(x), [xs], [vs]).tangent, tangents);
  });

  it("vmap of hessian and of jacfwd equal the loop (per-example Hessians)", () => {
    const h = (t: Tensor): Tensor => hessian((u: Tensor) => f(u).sum())(t);
    expectEqual(
      vmap(h)(xs),
      loop((i) => h(row(xs, i))),
    );
    expectEqual(
      vmap(jacfwd(f))(xs),
      loop((i) => jacfwd(f)(row(xs, i))),
    );
  });
});
