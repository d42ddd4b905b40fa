import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { erf, grad, Tensor, tensor } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

/**
 * erf reference points from test/fixtures/erf/gen_erf_reference.py (mpmath, 60 digits): x ≥ 0, erf(x)
 * rounded to float64, and the exact value's offset from it in ulps. The error of a result in ulps
 * is measured against the exact value.
 */
const here = dirname(fileURLToPath(import.meta.url));
const points = readFileSync(join(here, "../fixtures/erf/erf_reference.txt"), "utf8")
  .trim()
  .split("\n")
  .map((line) => line.split(" ").map(Number) as [number, number, number]);

/** The spacing of float64 (bits = 53) or float32 (bits = 24) numbers at |v|. */
function ulp(v: number, bits: 53 | 24): number {
  const minExp = bits === 53 ? -1074 : -149;
  const a = Math.abs(v);
  if (a === 0) return 2 ** minExp;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1; // log2 rounded up just below a power of two
  if (2 ** (e + 1) <= a) e += 1;
  return 2 ** Math.max(e - (bits - 1), minExp);
}

const F64_BOUND_ULPS = 1;
const F32_BOUND_ULPS = 1;

describe("issue 9.6: erf within a stated bound of the exact value (mpmath reference)", () => {
  it(`has the reference points (dense over [0, 6.2], around 2.49, tiny, float32 points)`, () => {
    expect(points.length).toBeGreaterThan(2500);
    expect(points.some(([x]) => x === 2.4875743787189357)).toBe(true);
  });

  it(`float64 erf(±x) is within ${F64_BOUND_ULPS} ulp of the exact value at every point`, () => {
    const xs = new Float64Array(points.length * 2);
    points.forEach(([x], i) => {
      xs[2 * i] = x;
      xs[2 * i + 1] = -x;
    });
    const got = erf(new Tensor(xs, [xs.length])).data;
    let worst = { ulps: 0, x: 0 };
    points.forEach(([, rounded, residual], i) => {
      for (const k of [0, 1]) {
        const v = got[2 * i + k];
        expect(Math.sign(v) || 1, `sign at ${xs[2 * i + k]}`).toBe(k === 0 ? 1 : -1);
        const ulps = Math.abs((Math.abs(v) - rounded) / ulp(rounded, 53) - residual);
        if (ulps > worst.ulps) worst = { ulps, x: xs[2 * i + k] };
      }
    });
    expect(worst.ulps, `worst at x = ${worst.x}`).toBeLessThanOrEqual(F64_BOUND_ULPS);
  });

  it("the reported point x = -2.4875743787189357 (was 62 ulp off)", () => {
    const [, rounded, residual] = points.find(([x]) => x === 2.4875743787189357) as number[];
    const v = erf(tensor([-2.4875743787189357], { dtype: "float64" })).item();
    expect(Math.abs((-v - rounded) / ulp(rounded, 53) - residual)).toBeLessThanOrEqual(F64_BOUND_ULPS);
  });

  it(`float32 erf is within ${F32_BOUND_ULPS} ulp at every float32-representable point`, () => {
    const f32 = points.filter(([x]) => Math.fround(x) === x);
    expect(f32.length).toBeGreaterThan(300);
    const got = erf(new Tensor(Float32Array.from(f32.map(([x]) => x)), [f32.length])).data;
    f32.forEach(([x, rounded, residual], i) => {
      const exact = rounded + residual * ulp(rounded, 53);
      const ulps = Math.abs(got[i] - exact) / ulp(exact, 24);
      expect(ulps, `x = ${x}`).toBeLessThanOrEqual(F32_BOUND_ULPS);
    });
  });

  it("special values: ±0 keep their sign, ±Inf give ±1, NaN stays NaN; the gradient is 2/√π·e^(−x²)", () => {
    const y = erf(tensor([0, -0, Infinity, -Infinity, Number.NaN], { dtype: "float64" })).data;
    expect(Object.is(y[0], 0)).toBe(true);
    expect(Object.is(y[1], -0)).toBe(true);
    expect([y[2], y[3]]).toEqual([1, -1]);
    expect(y[4]).toBeNaN();
    const g = grad((t: Tensor) => erf(t).sum())(tensor([0.7], { dtype: "float64" }));
    expect(g?.item()).toBeCloseTo((2 / Math.sqrt(Math.PI)) * Math.exp(-0.49), 15);
  });
});
