import { customOp, gradcheck, type Tensor, tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const f64 = (data: number[]): Tensor => tensor(data, { dtype: "float64" });

/** x ↦ c·x whose vjp is off by the factor (1 + err): the analytic gradient is c·(1 + err), the true one c. */
const scaledWithError = (c: number, err: number) =>
  customOp({ name: "scaled", forward: (x) => x.mul(c), vjp: (g) => g.mul(c * (1 + err)) });

describe("issue 9.20: gradcheck reports the relative error of every element and documents its ok rule", () => {
  it("an error below atol still shows in maxRelError (was 0 beside a non-zero maxAbsError)", () => {
    const r = gradcheck((x) => scaledWithError(1, 1e-7)(x).sum(), [f64([1, 2])]);
    expect(r.ok).toBe(true);
    expect(r.maxAbsError).toBeGreaterThan(0);
    expect(r.maxRelError).toBeGreaterThan(0);
    // rel = |a − n| / max(|a|, |n|, atol/rtol) = 1e-7 / 1.0000001 here, up to finite-difference noise.
    expect(r.maxRelError).toBeCloseTo(1e-7, 9); // finite differences carry ~1e-10 of noise
  });

  it("maxRelError is max over every element of |a − n| / max(|a|, |n|, atol/rtol); ok iff every |a − n| <= atol + rtol·|n|", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e3, max: 1e3, noNaN: true }).filter((c) => Math.abs(c) > 1e-6),
        fc.double({ min: -0.1, max: 0.1, noNaN: true }),
        fc.constantFrom(1e-5, 1e-7, 0),
        fc.constantFrom(1e-3, 1e-2),
        (c, err, atol, rtol) => {
          const r = gradcheck((x) => scaledWithError(c, err)(x).sum(), [f64([0.5, -1.5])], { atol, rtol });
          // Here the numeric gradient is c (to ~1e-9 relative: the function is linear), the analytic c(1 + err).
          const a = c * (1 + err);
          const abs = Math.abs(a - c);
          const rel = abs / Math.max(Math.abs(a), Math.abs(c), Math.max(atol / rtol, Number.MIN_VALUE));
          expect(r.maxAbsError).toBeCloseTo(abs, 6);
          expect(Math.abs(r.maxRelError - rel)).toBeLessThanOrEqual(1e-8 * Math.max(1, rel) + 1e-9);
          const margin = Math.abs(abs - (atol + rtol * Math.abs(c)));
          if (margin > 1e-6 * Math.abs(c)) expect(r.ok).toBe(abs <= atol + rtol * Math.abs(c));
          if (r.maxAbsError > 1e-12) expect(r.maxRelError).toBeGreaterThan(0);
        },
      ),
      { seed: 920, numRuns: 60 },
    );
  });

  it("a zero gradient matched exactly has relative error 0, not NaN (0/0)", () => {
    const r = gradcheck((x) => x.mul(0).sum(), [f64([1, 2])]);
    expect(r).toMatchObject({ ok: true, maxAbsError: 0, maxRelError: 0 });
  });
});
