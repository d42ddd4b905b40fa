import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatNumber,
  histogram,
  relativeDifference,
  summarize,
} from "../../packages/playground/src/stats.js";

const floats = fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 200 });

describe("summarize", () => {
  it("matches the textbook definitions of mean, std, min, max and norm", () => {
    fc.assert(
      fc.property(floats, (xs) => {
        const s = summarize(xs);
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
        expect(s.count).toBe(xs.length);
        expect(s.mean).toBeCloseTo(mean, 8);
        expect(s.std).toBeCloseTo(std, 6);
        expect(s.min).toBe(Math.min(...xs));
        expect(s.max).toBe(Math.max(...xs));
        expect(s.norm).toBeCloseTo(Math.hypot(...xs), 6);
        expect(s.maxAbs).toBe(Math.max(...xs.map(Math.abs)));
      }),
      { seed: 14, numRuns: 100 },
    );
  });

  it("keeps the spread of values far from zero (no one-pass cancellation)", () => {
    const s = summarize(Float32Array.of(1e4 + 1, 1e4 - 1, 1e4 + 1, 1e4 - 1));
    expect(s.std).toBeCloseTo(1, 6);
  });

  it("counts NaN and infinities apart and leaves them out of the statistics", () => {
    const s = summarize([1, Number.NaN, 3, Number.POSITIVE_INFINITY]);
    expect(s).toMatchObject({ count: 2, mean: 2, min: 1, max: 3, nonFinite: 2 });
    expect(summarize([]).count).toBe(0);
  });
});

describe("histogram", () => {
  it("puts every finite value in exactly one bin, the bin whose edges hold it", () => {
    fc.assert(
      fc.property(floats, fc.integer({ min: 1, max: 40 }), (xs, bins) => {
        const h = histogram(xs, bins);
        expect(h.counts.reduce((a, b) => a + b, 0)).toBe(xs.length);
        expect(h.edges).toHaveLength(bins + 1);
        for (const x of xs) {
          const k =
            h.counts.length === 1
              ? 0
              : h.edges.findIndex((e, i) => i < bins && x >= e && x <= h.edges[i + 1]);
          expect(k).toBeGreaterThanOrEqual(0);
        }
        expect(h.edges[0]).toBeLessThanOrEqual(Math.min(...xs));
        expect(h.edges[bins]).toBeGreaterThanOrEqual(Math.max(...xs));
      }),
      { seed: 15, numRuns: 100 },
    );
  });

  it("gives a constant input a unit-wide range and skips non-finite values", () => {
    const h = histogram([2, 2, 2, Number.NaN], 4);
    expect(h.edges[0]).toBe(1.5);
    expect(h.edges[4]).toBe(2.5);
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it("clamps values outside a given range into the end bins", () => {
    expect(histogram([-5, 0.5, 5], 2, [0, 1]).counts).toEqual([1, 2]);
  });

  it("rejects a bin count that is not a positive integer", () => {
    expect(() => histogram([1], 0)).toThrow(/bins must be a positive integer, got 0/);
  });
});

describe("relativeDifference", () => {
  it("is 0 for equal arrays, symmetric, and unchanged by scaling both", () => {
    fc.assert(
      fc.property(floats, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (xs, k) => {
        const ys = xs.map((x, i) => x + (i % 3) * 1e-3);
        expect(relativeDifference(xs, xs)).toBe(0);
        expect(relativeDifference(xs, ys)).toBe(relativeDifference(ys, xs));
        const scaled = relativeDifference(
          xs.map((x) => x * k),
          ys.map((y) => y * k),
        );
        expect(scaled).toBeCloseTo(relativeDifference(xs, ys), 6);
      }),
      { seed: 16, numRuns: 100 },
    );
  });

  it("measures the worst element against the largest magnitude, not element by element", () => {
    // A tiny element that differs by 100% relative to itself does not dominate.
    expect(relativeDifference([1, 1e-9], [1, 2e-9])).toBeCloseTo(1e-9, 15);
    expect(relativeDifference([2, 0], [1, 0])).toBe(0.5);
    expect(relativeDifference([0, 0], [0, 0])).toBe(0);
    expect(relativeDifference([Number.NaN], [1])).toBeNaN();
    expect(() => relativeDifference([1], [1, 2])).toThrow(/lengths differ \(1 vs 2\)/);
  });
});

describe("formatNumber", () => {
  it("writes 3 significant digits, exponents outside 1e-3..1e4, and a real minus sign", () => {
    expect(formatNumber(0.123456)).toBe("0.123");
    expect(formatNumber(-2.5e-7)).toBe("−2.50e−7");
    expect(formatNumber(123456)).toBe("1.23e+5");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(Number.NaN)).toBe("NaN");
    expect(formatNumber(Number.NEGATIVE_INFINITY)).toBe("−∞");
  });
});
