/** Summaries of a tensor's numbers, as the graph's cards and the detail panel show them. */

export interface Summary {
  count: number;
  /** Finite values only; NaN/±Inf are counted in `nonFinite`. */
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Euclidean (Frobenius) norm. */
  norm: number;
  /** Largest |value|. */
  maxAbs: number;
  nonFinite: number;
}

export function summarize(values: ArrayLike<number>): Summary {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let nonFinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    n++;
    sum += v;
    sumSq += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (n === 0) {
    return {
      count: 0,
      mean: Number.NaN,
      std: Number.NaN,
      min: Number.NaN,
      max: Number.NaN,
      norm: 0,
      maxAbs: 0,
      nonFinite,
    };
  }
  const mean = sum / n;
  // Two-pass variance: the one-pass formula loses everything to cancellation for values far from 0.
  let dev = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) dev += (v - mean) * (v - mean);
  }
  return {
    count: n,
    mean,
    std: Math.sqrt(dev / n),
    min,
    max,
    norm: Math.sqrt(sumSq),
    maxAbs: Math.max(Math.abs(min), Math.abs(max)),
    nonFinite,
  };
}

export interface Histogram {
  /** counts[k] holds values in [edges[k], edges[k+1]) (the last bin also holds edges[bins]). */
  counts: number[];
  edges: number[];
}

/**
 * Equal-width bins over [lo, hi] (default: the finite values' range). Values outside the range go to the
 * end bins; non-finite values are skipped. A constant input gets a unit-wide range around its value.
 */
export function histogram(values: ArrayLike<number>, bins: number, range?: [number, number]): Histogram {
  if (!Number.isInteger(bins) || bins < 1)
    throw new Error(`histogram: bins must be a positive integer, got ${bins}`);
  let lo = range ? range[0] : Number.POSITIVE_INFINITY;
  let hi = range ? range[1] : Number.NEGATIVE_INFINITY;
  if (!range) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (!(lo <= hi)) {
    lo = 0;
    hi = 1;
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const k = Math.floor((v - lo) / width);
    counts[k < 0 ? 0 : k >= bins ? bins - 1 : k]++;
  }
  // The last edge is hi itself: lo + bins·width can round to just below it.
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? hi : lo + k * width));
  return { counts, edges };
}

/**
 * The largest elementwise difference of two gradients relative to their scale, max|a−b| / max(|a|, |b|):
 * scale-free, and not blown up by elements that are zero in both (a per-element ratio would be).
 */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length)
    throw new Error(`relativeDifference: lengths differ (${a.length} vs ${b.length})`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) diff = d; // NaN propagates as the difference
    const s = Math.max(Math.abs(a[i]), Math.abs(b[i]));
    if (s > scale) scale = s;
  }
  if (Number.isNaN(diff)) return Number.NaN;
  return scale === 0 ? 0 : diff / scale;
}

/** A short human form: 3 significant digits, exponent form outside 1e-3..1e4. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  const text = a >= 1e-3 && a < 1e4 ? Number(v.toPrecision(3)).toString() : v.toExponential(2);
  return text.replaceAll("-", "−");
}
