import { manualSeed, Rng, type Tensor, ValueError } from "@tapegrad/autograd";
import { init } from "@tapegrad/nn";
import { describe, expect, it } from "vitest";

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of t.data) {
    s += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = s / t.size;
  let v2 = 0;
  for (const v of t.data) v2 += (v - mean) ** 2;
  return { mean, std: Math.sqrt(v2 / t.size), min, max };
}

// W: [fanIn, fanOut] = [300, 200], 60,000 samples: the sample std is within ~0.6% of the truth (3σ)
const SHAPE = [300, 200];
const [FAN_IN, FAN_OUT] = SHAPE;
const N = FAN_IN * FAN_OUT;

describe("initialisers: sample statistics of large draws", () => {
  const cases: Array<[string, init.Initializer, number, number | null]> = [
    // name, initialiser, expected std, uniform bound (null for Gaussians)
    ["normal", init.normal, 1, null],
    ["nielsen", init.nielsen, 1 / Math.sqrt(FAN_IN), null],
    ["xavierNormal", init.xavierNormal, Math.sqrt(2 / (FAN_IN + FAN_OUT)), null],
    [
      "xavierUniform",
      init.xavierUniform,
      Math.sqrt(6 / (FAN_IN + FAN_OUT)) / Math.sqrt(3),
      Math.sqrt(6 / (FAN_IN + FAN_OUT)),
    ],
    ["heNormal", init.heNormal, Math.sqrt(2 / FAN_IN), null],
    ["heUniform", init.heUniform, Math.sqrt(6 / FAN_IN) / Math.sqrt(3), Math.sqrt(6 / FAN_IN)],
  ];
  for (const [name, fn, std, bound] of cases) {
    it(`${name}: mean 0, std ${std.toPrecision(3)}${bound ? `, inside ±${bound.toPrecision(3)}` : ""}`, () => {
      const t = fn(SHAPE, { seed: 1, dtype: "float64" });
      expect(t.shape).toEqual(SHAPE);
      expect(t.dtype).toBe("float64");
      const s = stats(t);
      expect(Math.abs(s.mean)).toBeLessThan((4 * std) / Math.sqrt(N));
      expect(Math.abs(s.std / std - 1)).toBeLessThan(0.01);
      if (bound !== null) {
        expect(s.min).toBeGreaterThanOrEqual(-bound);
        expect(s.max).toBeLessThanOrEqual(bound);
        expect(s.max).toBeGreaterThan(0.99 * bound);
      } else {
        // a Gaussian reaches past 3 std in 60,000 draws
        expect(s.max).toBeGreaterThan(3 * std);
      }
    });
  }

  it("normal takes a std option; zeros is zero; float32 by default", () => {
    expect(stats(init.normal([1000, 100], { std: 0.1, seed: 3 })).std).toBeCloseTo(0.1, 2);
    const z = init.zeros([3, 2]);
    expect(z.dtype).toBe("float32");
    expect(Array.from(z.data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(() => init.normal([2], { std: -1 })).toThrow(ValueError);
  });
});

describe("initialisers: seeded", () => {
  it("the same seed gives the same numbers, a different seed different ones", () => {
    for (const fn of [
      init.normal,
      init.nielsen,
      init.xavierNormal,
      init.xavierUniform,
      init.heNormal,
      init.heUniform,
    ]) {
      const a = Array.from(fn([20, 10], { seed: 5 }).data);
      expect(Array.from(fn([20, 10], { seed: 5 }).data)).toEqual(a);
      expect(Array.from(fn([20, 10], { seed: 6 }).data)).not.toEqual(a);
    }
  });

  it("an Rng continues its stream across calls; without seed or rng, autograd's manualSeed fixes the stream", () => {
    const rng = new Rng(4);
    const first = Array.from(init.normal([5], { rng }).data);
    const second = Array.from(init.normal([5], { rng }).data);
    expect(second).not.toEqual(first);
    manualSeed(12);
    const a = Array.from(init.heNormal([4, 4]).data);
    manualSeed(12);
    expect(Array.from(init.heNormal([4, 4]).data)).toEqual(a);
  });

  it("fans: [in, out] for matrices, the length for vectors", () => {
    expect(init.fans([3, 7])).toEqual({ fanIn: 3, fanOut: 7 });
    expect(init.fans([5])).toEqual({ fanIn: 5, fanOut: 5 });
  });
});
