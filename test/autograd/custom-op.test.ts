import {
  customOp,
  gradcheck,
  gradgradcheck,
  record,
  setAnomalyMode,
  type Tensor,
  tensor,
  ValueError,
  withAnomalyMode,
} from "@tapegrad/autograd";
import { afterEach, describe, expect, it } from "vitest";

describe("customOp", () => {
  // cube(x) = x³ with its own vjp 3x²·g, written with tensor ops so it is twice differentiable.
  const cube = customOp({
    name: "cube",
    forward: (x) => x.mul(x).mul(x),
    vjp: (g, [x]) => g.mul(x.square().mul(3)),
  });

  it("computes its forward and uses its vjp (first and second order)", () => {
    const x = tensor([0.5, -1.2, 2], { dtype: "float64" });
    const y = cube(x).toArray() as number[];
    for (const [i, v] of [0.5, -1.2, 2].entries()) expect(y[i]).toBeCloseTo(v ** 3, 14);
    expect(gradcheck((t) => cube(t), [x]).ok).toBe(true);
    expect(gradgradcheck((t) => cube(t), [x]).ok).toBe(true);
  });

  it("appears in recorded tapes under its own name", () => {
    const { tape } = record(() => cube(tensor([1], { requiresGrad: true })));
    expect(tape.nodes.map((n) => n.op)).toEqual(["leaf", "cube"]);
  });

  it("supports several inputs with null cotangents", () => {
    const scaledBy = customOp({
      name: "scaledBy",
      forward: (x, s) => x.mul(s),
      vjp: (g, [, s]) => [g.mul(s), null],
    });
    const x = tensor([1, 2], { dtype: "float64", requiresGrad: true });
    const s = tensor([3], { dtype: "float64", requiresGrad: true });
    scaledBy(x, s).sum().backward();
    expect(x.grad?.toArray()).toEqual([3, 3]);
    expect(s.grad).toBeNull();
  });

  it("rejects a vjp that returns the wrong number of cotangents", () => {
    const bad = customOp({ name: "bad", forward: (x, y) => x.add(y), vjp: (g) => [g] });
    const x = tensor([1], { requiresGrad: true });
    expect(() => bad(x, x).sum().backward()).toThrow(
      /customOp "bad": vjp returned 1 cotangents for 2 inputs/,
    );
  });
});

describe("anomaly mode", () => {
  afterEach(() => setAnomalyMode(false));

  it("is off by default: NaN flows silently", () => {
    expect(tensor([-1]).log().mul(0).item()).toBeNaN();
    expect(tensor([-1]).sqrt().item()).toBeNaN();
  });

  it("names the op and its f_i index when a forward output is NaN", () => {
    const x = tensor([1, -1], { requiresGrad: true });
    expect(() => withAnomalyMode(() => x.sqrt())).toThrow(ValueError);
    expect(() => withAnomalyMode(() => x.sqrt())).toThrow(
      /anomaly: forward of sqrt \(f_\d+\) produced NaN at flat index 1 of a tensor of shape \[2\]/,
    );
  });

  it("catches Inf in a backward cotangent and names the node", () => {
    setAnomalyMode(true);
    const x = tensor([0], { requiresGrad: true, dtype: "float64" });
    const y = x.sqrt().sum(); // forward is finite (0) but d sqrt / dx at 0 is Inf
    // The vjp of sqrt divides by 2·sqrt(0): the failing op inside the backward is named, with the node being differentiated.
    expect(() => y.backward()).toThrow(
      /in the backward of sqrt \(f_\d+\): anomaly: forward of div produced Infinity/,
    );
  });

  it("withAnomalyMode restores the previous setting", () => {
    withAnomalyMode(() => 1);
    const t: Tensor = tensor([-1]).log();
    expect(t.item()).toBeNaN();
  });
});
