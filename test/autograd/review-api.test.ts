import * as ag from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

/** Tensor members that are properties or conversions rather than ops. */
const notOps = new Set([
  "constructor",
  "ndim",
  "requiresGrad",
  "isLeaf",
  "toArray",
  "item",
  "toString",
  "backward",
  "T",
]);
/** Free functions that take a list of tensors or several tensors and so are not methods (design.md). */
const freeOnly = new Set(["concat", "stack", "where"]);

describe("review: the API has every op both ways (design.md and docs/autograd.md)", () => {
  const api = ag as unknown as Record<string, unknown>;
  const methods = Object.getOwnPropertyNames(ag.Tensor.prototype).filter((m) => !notOps.has(m));

  it("every method is also a free function", () => {
    expect(methods.filter((m) => typeof api[m] !== "function")).toEqual([]);
  });

  it("every op exported as a free function is also a method", () => {
    const ops = [
      ...ag.primitiveNames,
      "gelu",
      "leakyRelu",
      "clamp",
      "mean",
      "logsumexp",
      "softmax",
      "logSoftmax",
    ]
      .concat(["squeeze", "unsqueeze", "argmax", "argmin", "sign", "greater", "less", "equal"])
      .filter((name) => typeof api[name] === "function" && !freeOnly.has(name));
    expect(ops.filter((name) => !methods.includes(name))).toEqual([]);
  });

  it("detach, pad and scatterAdd work both ways", () => {
    const x = ag.tensor([1, 2], { requiresGrad: true });
    const d = ag.detach(x);
    expect(d.requiresGrad).toBe(false);
    expect(d.data).toBe(x.data);
    expect(x.pad(0, 1, 2).toArray()).toEqual([0, 1, 2, 0, 0]);
    expect(x.scatterAdd([2, 2], 0, 3).toArray()).toEqual([0, 0, 3]);
  });
});

describe("review: customOp vjp results are checked", () => {
  it("a vjp returning a non-Tensor is a TapegradError naming the op and the input", () => {
    const bad = ag.customOp({
      name: "badVjp",
      forward: (x) => x.mul(2),
      vjp: () => 2 as unknown as ag.Tensor,
    });
    const x = ag.tensor([1, 2], { requiresGrad: true });
    expect(() => bad(x).sum().backward()).toThrow(ag.TapegradError);
    expect(() => bad(x).sum().backward()).toThrow(
      /customOp "badVjp": vjp returned a number for input 0; expected a Tensor or null/,
    );
  });

  it("a vjp returning the wrong shape names the op, its f_i, and both shapes", () => {
    const bad = ag.customOp({ name: "badShape", forward: (x) => x.mul(2), vjp: (g) => g.sum() });
    const x = ag.tensor([1, 2], { requiresGrad: true });
    expect(() => bad(x).sum().backward()).toThrow(
      /the vjp of badShape \(f_\d+\) returned a cotangent of shape \[\] for input 0 of shape \[2\]/,
    );
  });
});
