/**
 * A small deterministic generator for the arguments of one fuzz step. fast-check draws the step's
 * seed (so runs replay and shrink); the arguments depend on the shape the chain has reached, which
 * fast-check cannot know in advance, so they are drawn from that seed here.
 */
import type { DType } from "./model.js";

export class StepRng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform in [0, 1) (mulberry32). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}

/** Extremes of each dtype and other awkward values, drawn with probability `special`. */
const FLOAT_EXTREMES: Record<"float32" | "float64", number[]> = {
  float32: [3.4e38, -3.4e38, 1e-45, -1e-45, 1.2e-38, 16777216, 1e30, -1e30],
  float64: [1.7e308, -1.7e308, 5e-324, -5e-324, 2.2e-308, 9007199254740992, 1e200, -1e200],
};
const NON_FINITE = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
const INT_EXTREMES = [2147483647, -2147483648, -2147483647, 65536, -65536, 46341];

/** One value of `dtype`: mostly ordinary numbers, sometimes ±0, integers, extremes or NaN/±Inf. */
export function drawValue(rng: StepRng, dtype: DType, special: number): number {
  if (dtype === "int32") {
    if (rng.chance(special)) return rng.pick(INT_EXTREMES);
    return rng.chance(0.8) ? rng.int(-5, 5) : rng.int(-1000, 1000);
  }
  if (rng.chance(special)) {
    return rng.chance(0.4) ? rng.pick(NON_FINITE) : rng.pick(FLOAT_EXTREMES[dtype]);
  }
  const r = rng.next();
  let v: number;
  if (r < 0.1) v = rng.pick([0, -0]);
  else if (r < 0.25) v = rng.int(-3, 3);
  else v = rng.normal() * rng.pick([1, 1, 1, 1e-3, 10, 1e3]);
  return dtype === "float32" ? Math.fround(v) : v;
}

export function drawValues(rng: StepRng, dtype: DType, n: number, special: number): number[] {
  return Array.from({ length: n }, () => drawValue(rng, dtype, special));
}

/** Uniform values in [lo, hi] (for smooth chains that must stay away from overflow and kinks). */
export function drawUniform(rng: StepRng, n: number, lo: number, hi: number): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}
