import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BOX,
  centreOfMass,
  type Gray,
  grayFromRgba,
  inkBounds,
  resampleLine,
  SIDE,
  toMnist,
} from "../../packages/playground/src/preprocess.js";

/** A blank w×h image with rectangles of ink painted in. */
function paint(w: number, h: number, rects: Array<[number, number, number, number]>): Gray {
  const data = new Float32Array(w * h);
  for (const [x0, y0, x1, y1] of rects)
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * w + x] = 1;
  return { width: w, height: h, data };
}

const asGray = (d: Float32Array): Gray => ({ width: SIDE, height: SIDE, data: d });

describe("resampleLine", () => {
  it("preserves the mean value, shrinking or stretching", () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 60 }),
        (xs, m) => {
          const out = resampleLine(xs, m);
          const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
          expect(out).toHaveLength(m);
          expect(mean(out)).toBeCloseTo(mean(xs), 4);
        },
      ),
      { seed: 21, numRuns: 150 },
    );
  });

  it("averages exactly over fractional overlaps", () => {
    const [a, b] = resampleLine([1, 0, 0], 2);
    expect(a).toBeCloseTo(2 / 3, 6);
    expect(b).toBe(0);
    expect(Array.from(resampleLine([1, 0], 4))).toEqual([1, 1, 0, 0]);
  });
});

describe("toMnist (drawn digit to a 28×28 input like MNIST's)", () => {
  it("returns null when nothing is drawn", () => {
    expect(toMnist(paint(100, 100, []))).toBeNull();
  });

  it("fits the ink's bounding box in 20×20, keeps the aspect ratio, and centres the mass at (14, 14)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 4, max: 80 }),
        fc.integer({ min: 4, max: 80 }),
        (x0, y0, w, h) => {
          const out = toMnist(paint(280, 280, [[x0, y0, x0 + w, y0 + h]])) as Float32Array;
          expect(out).toHaveLength(SIDE * SIDE);
          const box = inkBounds(asGray(out), 0.01);
          if (!box) throw new Error("no ink left");
          const bw = box.x1 - box.x0;
          const bh = box.y1 - box.y0;
          expect(Math.max(bw, bh)).toBeLessThanOrEqual(BOX + 1);
          expect(Math.max(bw, bh)).toBeGreaterThanOrEqual(BOX - 1);
          expect(Math.abs(bw / bh - w / h)).toBeLessThan(0.25 * Math.max(1, w / h));
          const com = centreOfMass(asGray(out));
          expect(Math.abs((com?.x ?? 0) - SIDE / 2)).toBeLessThanOrEqual(0.5);
          expect(Math.abs((com?.y ?? 0) - SIDE / 2)).toBeLessThanOrEqual(0.5);
          expect(Math.max(...out)).toBe(1);
          expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
        },
      ),
      { seed: 22, numRuns: 60 },
    );
  });

  it("does not depend on where the digit was drawn or how large", () => {
    const seven = (ox: number, oy: number, k: number) =>
      toMnist(
        paint(280, 280, [
          [ox, oy, ox + 12 * k, oy + 2 * k],
          [ox + 9 * k, oy, ox + 11 * k, oy + 16 * k],
        ]),
      ) as Float32Array;
    const a = seven(10, 20, 5);
    const b = seven(150, 100, 5);
    const c = seven(60, 60, 10);
    expect(Array.from(b)).toEqual(Array.from(a));
    const diff = Math.max(...a.map((v, i) => Math.abs(v - c[i])));
    expect(diff).toBeLessThan(0.3);
  });

  it("reads ink from light-on-dark RGBA pixels, weighted by alpha", () => {
    const rgba = Uint8ClampedArray.of(255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 0);
    expect(Array.from(grayFromRgba(rgba, 3, 1).data)).toEqual([1, 0, 0]);
  });
});
