import { describe, expect, it } from "vitest";
import { runNewton } from "../../examples/hessian-newton.js";

describe("examples/hessian-newton.ts", () => {
  it("converges quadratically with Newton's method where gradient descent does not, and hvp matches the Hessian", () => {
    const r = runNewton();
    const g = r.newtonGradNorms;
    expect(g[g.length - 1]).toBeLessThan(1e-12);
    expect(g.length).toBeLessThanOrEqual(8);
    // quadratic convergence near the optimum: each step at least squares the error (up to a constant)
    for (let k = g.length - 3; k < g.length - 1; k++) expect(g[k + 1]).toBeLessThan(10 * g[k] ** 2 + 1e-13);
    expect(r.descentGradNorm).toBeGreaterThan(1e-3);
    r.hvpColumn.forEach((v, i) => {
      expect(v).toBeCloseTo(r.hessianColumn[i], 14);
    });
  });
});
