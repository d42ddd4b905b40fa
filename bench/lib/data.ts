import { SeededRandom } from "./rng.js";

export const FEATURES = 784;
export const CLASSES = 10;

/** Training data shared by every implementation: row-major images, one-hot targets and class ids. */
export interface Dataset {
  n: number;
  x: Float32Array; // [n, 784], values in [0, 1]
  y: Float32Array; // [n, 10], one-hot
  labels: Int32Array; // [n]
  source: string;
  /** Held-out digits for an accuracy (W5): the CLI's 2,000 test digits, or a synthetic set. */
  test?: { n: number; x: Float32Array; labels: Int32Array };
}

function oneHot(labels: Int32Array): Float32Array {
  const y = new Float32Array(labels.length * CLASSES);
  for (let i = 0; i < labels.length; i++) y[i * CLASSES + labels[i]] = 1;
  return y;
}

/**
 * Seeded random images of MNIST's shape. Epoch times do not depend on pixel values (no kernel
 * branches on them except relu sparsity, which random inputs exercise like real digits do).
 */
export function syntheticDataset(n: number, seed = 2024): Dataset {
  const rng = new SeededRandom(seed);
  const x = new Float32Array(n * FEATURES);
  rng.fillUniform(x);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(CLASSES);
  return { n, x, y: oneHot(labels), labels, source: `synthetic (seeded uniform [0,1) pixels, ${n} samples)` };
}

/** The part of packages/cli/src/data/mnist-package.ts the bench uses (imported only if present). */
interface MnistPackageModule {
  loadMnistPackage?: (dtype?: "float32" | "float64") => Promise<{
    train: {
      count: number;
      rows: number;
      cols: number;
      pixels: Float32Array | Float64Array;
      labels: Int32Array;
    };
    test?: { count: number; pixels: Float32Array | Float64Array; labels: Int32Array };
    source: string;
  }>;
}

/**
 * Real MNIST digits through the CLI's loader when packages/cli provides it (the CLI owns the `mnist`
 * dependency); otherwise the synthetic set. The returned `source` says which was used and why.
 */
export async function loadDataset(n: number, preferSynthetic = false): Promise<Dataset> {
  let why = "synthetic data requested";
  if (!preferSynthetic) {
    const loaderUrl = new URL("../../packages/cli/src/data/mnist-package.ts", import.meta.url);
    try {
      const mod = (await import(loaderUrl.href)) as MnistPackageModule;
      if (typeof mod.loadMnistPackage !== "function") throw new Error("it exports no loadMnistPackage");
      const { train, test, source } = await mod.loadMnistPackage("float32");
      if (train.count >= n && train.rows * train.cols === FEATURES) {
        const x = Float32Array.from(train.pixels.subarray(0, n * FEATURES));
        const labels = Int32Array.from(train.labels.subarray(0, n));
        return {
          n,
          x,
          y: oneHot(labels),
          labels,
          source: `MNIST, first ${n} training digits (${source})`,
          ...(test === undefined
            ? {}
            : { test: { n: test.count, x: Float32Array.from(test.pixels), labels: test.labels } }),
        };
      }
      why = `the MNIST loader gave ${train.count} images of ${train.rows}x${train.cols}, need ${n} of 28x28`;
    } catch (error) {
      why = `MNIST loader unavailable (${(error as Error).message.split("\n")[0]})`;
    }
  }
  const data = syntheticDataset(n);
  const test = syntheticDataset(2000, 2025);
  return { ...data, source: `${data.source}; ${why}`, test: { n: test.n, x: test.x, labels: test.labels } };
}
