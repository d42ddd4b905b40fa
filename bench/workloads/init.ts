import { SeededRandom } from "../lib/rng.js";

/** Initial weights in the row-vector layout every implementation uses: w[i] is [sizes[i], sizes[i+1]]. */
export interface InitialWeights {
  sizes: number[];
  w: Float32Array[];
  b: Float32Array[];
}

/**
 * Every implementation starts from these exact numbers, so they do the same arithmetic on the same
 * values (relu sparsity, and with it the work some kernels skip, depends on the weights).
 * `normal` is the article's N(0, 1) for weights and biases; `he` is N(0, 2/fanIn) with zero biases.
 */
export function initialWeights(sizes: number[], scheme: "normal" | "he", seed: number): InitialWeights {
  const rng = new SeededRandom(seed);
  const w: Float32Array[] = [];
  const b: Float32Array[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const fanIn = sizes[i];
    const fanOut = sizes[i + 1];
    w.push(
      rng.fillNormal(
        new Float32Array(fanIn * fanOut),
        scheme === "he" ? Math.sqrt(2 / fanIn) : 1,
      ) as Float32Array,
    );
    const bias = new Float32Array(fanOut);
    b.push(scheme === "normal" ? (rng.fillNormal(bias) as Float32Array) : bias);
  }
  return { sizes, w, b };
}

/** Batch start rows for one epoch over n samples: in order, the last batch may be short. */
export function batchStarts(n: number, batch: number, limit = Number.POSITIVE_INFINITY): number[] {
  const starts: number[] = [];
  for (let s = 0; s < n && starts.length < limit; s += batch) starts.push(s);
  return starts;
}

/** Epoch times are reported per 8,000 samples (the epoch), scaled when --quick uses fewer. */
export const EPOCH_SAMPLES = 8000;
