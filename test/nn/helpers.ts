import { type Rng, Tensor } from "@tapegrad/autograd";

/** A float64 tensor of N(0, std²) numbers from a seeded stream. */
export function gaussian(shape: number[], rng: Rng, std = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Float64Array.from({ length: n }, () => std * rng.normal()),
    shape,
  );
}

export function uniform(shape: number[], rng: Rng, lo: number, hi: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    Float64Array.from({ length: n }, () => rng.uniformIn(lo, hi)),
    shape,
  );
}

export interface Disagreement {
  /** max |a − b| over elements */
  maxAbs: number;
  /** max |a − b| / max(|a|, |b|) over elements whose magnitude exceeds the absolute floor */
  maxRel: number;
  /** elements outside |a − b| ≤ atol + rtol·max(|a|, |b|), with their index */
  failures: Array<{ index: number; a: number; b: number }>;
}

/** Element-by-element comparison of two same-shaped tensors. */
export function compare(a: Tensor, b: Tensor, rtol: number, atol: number): Disagreement {
  if (a.shape.join() !== b.shape.join()) {
    throw new Error(`compare: shapes differ [${a.shape}] vs [${b.shape}]`);
  }
  let maxAbs = 0;
  let maxRel = 0;
  const failures: Disagreement["failures"] = [];
  for (let i = 0; i < a.size; i++) {
    const x = a.data[i];
    const y = b.data[i];
    const d = Math.abs(x - y);
    const m = Math.max(Math.abs(x), Math.abs(y));
    if (!(d <= atol + rtol * m)) failures.push({ index: i, a: x, b: y });
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? Infinity : d;
    if (m > atol && d / m > maxRel) maxRel = d / m;
  }
  return { maxAbs, maxRel, failures };
}

/** Largest |x| in a tensor. */
export function maxAbsOf(t: Tensor): number {
  let m = 0;
  for (let i = 0; i < t.size; i++) m = Math.max(m, Math.abs(t.data[i]));
  return m;
}
