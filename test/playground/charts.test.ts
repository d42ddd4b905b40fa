import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { downsample, extent, linePath, ticks } from "../../packages/playground/src/charts.js";
import { diverging, ink } from "../../packages/playground/src/colour.js";

describe("chart geometry", () => {
  it("maps the data range onto the box, y pointing up, and lifts the pen over gaps", () => {
    const box = { left: 10, top: 5, width: 100, height: 50 };
    expect(
      linePath(
        [
          { x: 0, y: 0 },
          { x: 2, y: 1 },
        ],
        [0, 2],
        [0, 1],
        box,
      ),
    ).toBe("M10.0 55.0 L110.0 5.0");
    const gap = linePath(
      [
        { x: 0, y: 0 },
        { x: 1, y: Number.NaN },
        { x: 2, y: 1 },
      ],
      [0, 2],
      [0, 1],
      box,
    );
    expect(gap).toBe("M10.0 55.0 M110.0 5.0");
  });

  it("ticks are round numbers inside the range, about as many as asked", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e4, max: 1e4, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e4, noNaN: true }),
        (lo, span) => {
          const t = ticks(lo, lo + span, 4);
          expect(t.length).toBeGreaterThanOrEqual(2);
          expect(t.length).toBeLessThanOrEqual(9);
          for (const v of t) {
            expect(v).toBeGreaterThanOrEqual(lo - span * 1e-9);
            expect(v).toBeLessThanOrEqual(lo + span + span * 1e-9);
          }
          const step = t[1] - t[0];
          const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
          expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
        },
      ),
      { seed: 41, numRuns: 200 },
    );
  });

  it("extent pads a flat series and ignores non-finite values", () => {
    expect(extent([3, 3])).toEqual([2.5, 3.5]);
    expect(extent([1, Number.NaN, 4])).toEqual([1, 4]);
    expect(extent([])).toEqual([0, 1]);
  });

  it("downsampling keeps at most the asked number of points and the overall mean of equal chunks", () => {
    const pts = Array.from({ length: 1000 }, (_, i) => ({ x: i, y: i % 10 }));
    const d = downsample(pts, 100);
    expect(d.length).toBeLessThanOrEqual(100);
    expect(d.every((p) => p.y === 4.5)).toBe(true);
    expect(downsample(pts.slice(0, 5), 100)).toHaveLength(5);
  });
});

describe("heat-map colours", () => {
  it("are white at 0, red for positive, blue for negative, clamped beyond the scale", () => {
    const zero = diverging(0, 1);
    expect(Math.min(...zero)).toBeGreaterThan(240);
    const [r, , b] = diverging(1, 1);
    expect(r).toBeGreaterThan(b);
    const [r2, , b2] = diverging(-1, 1);
    expect(b2).toBeGreaterThan(r2);
    expect(diverging(5, 1)).toEqual(diverging(1, 1));
    expect(diverging(Number.NaN, 1)).toEqual([0, 0, 0]);
    expect(ink(1)).toEqual([0, 0, 0]);
    expect(ink(0)).toEqual([255, 255, 255]);
  });
});
