/**
 * A tiny seeded generator (mulberry32) so every implementation trains on the same numbers,
 * independent of any library's own RNG.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal by Box–Muller (one of the pair; simplicity over speed here). */
  normal(): number {
    const u = 1 - this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  fillNormal(out: Float32Array | Float64Array, std = 1): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = this.normal() * std;
    return out;
  }

  fillUniform(out: Float32Array | Float64Array, low = 0, high = 1): typeof out {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }
}
