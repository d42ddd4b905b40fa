import { fusedPeakAvailable, simdPeakKernel } from "../kernels/simd-peak.js";
import type { Impl, Item } from "../lib/harness.js";
import { calibratedRunner } from "../lib/micro.js";
import { SeededRandom } from "../lib/rng.js";
import { loadAutograd } from "../lib/tapegrad.js";
import { loadKernelControl } from "../lib/tapegrad-kernels.js";
import { numpyImpl } from "../peers/numpy-impl.js";
import { type TfBackend, useBackend } from "../peers/tfjs.js";
import type { WorkloadContext } from "./context.js";

/** C[m,n] = op(A)·op(B); A is stored [k,m] when transA, B is stored [n,k] when transB. */
export interface MatmulShape {
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

export type FloatDType = "float32" | "float64";

export function squareShape(n: number): MatmulShape {
  return { name: `n = ${n}`, m: n, n, k: n, transA: false, transB: false };
}

/** The products of W2's first two layers, forward and backward (batch 128). */
export const W2_SHAPES: MatmulShape[] = [
  { name: "[128,784]x[784,256]", m: 128, n: 256, k: 784, transA: false, transB: false },
  { name: "[128,256]x[256,256]", m: 128, n: 256, k: 256, transA: false, transB: false },
  { name: "Aᵀ·B [784,128]x[128,256]", m: 784, n: 256, k: 128, transA: true, transB: false },
  { name: "A·Bᵀ [128,256]x[256,784]", m: 128, n: 784, k: 256, transA: false, transB: true },
];

const flops = (s: MatmulShape) => 2 * s.m * s.n * s.k;
const storedA = (s: MatmulShape) => (s.transA ? [s.k, s.m] : [s.m, s.k]);
const storedB = (s: MatmulShape) => (s.transB ? [s.n, s.k] : [s.k, s.n]);

function randomArray(dtype: FloatDType, size: number, seed: number): Float32Array | Float64Array {
  const out = dtype === "float32" ? new Float32Array(size) : new Float64Array(size);
  return new SeededRandom(seed).fillNormal(out);
}

function gflops(shape: MatmulShape) {
  return (iterations: number, seconds: number) => (flops(shape) * iterations) / seconds / 1e9;
}

/**
 * tapegrad's public matmul. Transposed operands are passed as matmul's transposeA / transposeB
 * options (like TF.js's matMul flags, which its runs use), or, with `viaTranspose`, through
 * transpose() first, as a user who writes `a.matmul(b.transpose())` would.
 * `threads` pins autograd's kernel thread count for the measurement (null: the library's default).
 */
function tapegradMatmul(
  shape: MatmulShape,
  dtype: FloatDType,
  minSeconds: number,
  threads: number | null,
  viaTranspose = false,
): Impl {
  const threadLabel = threads === null ? "default threads" : `${threads} thread${threads > 1 ? "s" : ""}`;
  const transposed = shape.transA || shape.transB;
  return {
    id: `tapegrad${viaTranspose ? "-transpose" : ""}${threads === null ? "" : `-${threads}t`}`,
    label: viaTranspose
      ? `matmul of transpose() copies, ${threadLabel}`
      : `matmul${transposed ? " with transpose options" : ""}, ${threadLabel}`,
    tapegrad: true,
    async setup() {
      const { tensor, matmul, getKernelThreads } = await loadAutograd();
      const kernels = await loadKernelControl();
      const [am, ak] = storedA(shape);
      const [bk, bn] = storedB(shape);
      const a = tensor(randomArray(dtype, am * ak, 1), { shape: [am, ak] });
      const b = tensor(randomArray(dtype, bk * bn, 2), { shape: [bk, bn] });
      const options = { transposeA: shape.transA, transposeB: shape.transB };
      const call = viaTranspose
        ? () => {
            matmul(shape.transA ? a.transpose() : a, shape.transB ? b.transpose() : b);
          }
        : () => {
            matmul(a, b, options);
          };
      const defaultThreads = getKernelThreads();
      let before = kernels.snapshot();
      let ran = "";
      return calibratedRunner(call, {
        minSeconds,
        metric: gflops(shape),
        before: async () => {
          kernels.setThreads(threads ?? defaultThreads);
          before = kernels.snapshot();
        },
        after: () => {
          ran = kernels.describe(before);
          kernels.setThreads(defaultThreads);
        },
        detail: () => ran,
      });
    },
  };
}

export const SIMD_PEAK_ITEM = "float32 SIMD128 peak (mul+add only)";
export const FUSED_PEAK_ITEM = "float32 SIMD128 peak (relaxed_madd only)";

function simdPeakImpl(minSeconds: number, fma: boolean): Impl {
  return {
    id: "tapegrad-1t",
    label: fma ? "f32x4 relaxed_madd loop, 1 thread" : "f32x4 mul+add loop, 1 thread",
    tapegrad: true,
    async setup() {
      const { run, flopsPerIteration } = simdPeakKernel(12, fma);
      const loop = 1_000_000;
      return calibratedRunner(
        () => {
          run(loop);
        },
        {
          minSeconds,
          metric: (iterations, seconds) => (iterations * loop * flopsPerIteration) / seconds / 1e9,
        },
      );
    },
  };
}

function tfjsMatmul(backend: TfBackend, shape: MatmulShape, minSeconds: number): Impl {
  return {
    id: `tfjs-${backend}`,
    label: `TF.js ${backend} tf.matMul`,
    tapegrad: false,
    async setup() {
      const tf = await useBackend(backend);
      const a = tf.tensor2d(
        randomArray("float32", shape.m * shape.k, 1) as Float32Array,
        storedA(shape) as [number, number],
      );
      const b = tf.tensor2d(
        randomArray("float32", shape.k * shape.n, 2) as Float32Array,
        storedB(shape) as [number, number],
      );
      const call = () => {
        tf.matMul(a, b, shape.transA, shape.transB).dispose();
      };
      return calibratedRunner(call, {
        minSeconds,
        metric: gflops(shape),
        before: () => useBackend(backend),
        dispose: () => {
          a.dispose();
          b.dispose();
        },
      });
    },
  };
}

/**
 * One thread (the per-core comparison) and both cores (tapegrad's default here); for transposed
 * products also transpose() copies on one thread, the cost of not using the options.
 */
function tapegradVariants(shape: MatmulShape, dtype: FloatDType, minSeconds: number): Impl[] {
  const impls = [tapegradMatmul(shape, dtype, minSeconds, 1), tapegradMatmul(shape, dtype, minSeconds, 2)];
  if (shape.transA || shape.transB) impls.push(tapegradMatmul(shape, dtype, minSeconds, 1, true));
  return impls;
}

/** W3: matmul GFLOP/s, float32 against every peer, float64 against numpy. */
export function w3Items({ config, peers }: WorkloadContext): Item[] {
  const items: Item[] = [];
  const minSeconds = config.microSeconds;
  const numpySpec = (shape: MatmulShape, dtype: FloatDType) => () => ({
    kind: "matmul",
    dtype,
    minSeconds,
    ...shape,
  });
  for (const shape of [...config.squareSizes.map(squareShape), ...W2_SHAPES]) {
    const impls: Impl[] = tapegradVariants(shape, "float32", minSeconds);
    if (peers.includes("tfjs-cpu")) impls.push(tfjsMatmul("cpu", shape, minSeconds));
    if (peers.includes("tfjs-wasm")) impls.push(tfjsMatmul("wasm", shape, minSeconds));
    if (peers.includes("numpy")) impls.push(numpyImpl(numpySpec(shape, "float32")));
    items.push({
      workload: "W3",
      name: `float32 ${shape.name}`,
      unit: "GFLOP/s",
      higherIsBetter: true,
      impls,
    });
  }
  for (const n of config.squareSizes) {
    const shape = squareShape(n);
    const impls: Impl[] = tapegradVariants(shape, "float64", minSeconds);
    if (peers.includes("numpy")) impls.push(numpyImpl(numpySpec(shape, "float64")));
    items.push({
      workload: "W3",
      name: `float64 ${shape.name}`,
      unit: "GFLOP/s",
      higherIsBetter: true,
      impls,
    });
  }
  items.push({
    workload: "W3",
    name: SIMD_PEAK_ITEM,
    unit: "GFLOP/s",
    higherIsBetter: true,
    impls: [simdPeakImpl(minSeconds, false)],
  });
  const fused = fusedPeakAvailable();
  if (fused)
    items.push({
      workload: "W3",
      name: FUSED_PEAK_ITEM,
      unit: "GFLOP/s",
      higherIsBetter: true,
      impls: [simdPeakImpl(minSeconds, true)],
    });
  const first = items[0];
  first.notes = [
    "peers on one thread: TF.js wasm has no threaded build in Node, numpy runs with OPENBLAS_NUM_THREADS=1; tapegrad pinned to 1 and to 2 kernel threads (its default here is min(2, cores)); [brackets] say which kernels ran",
    "tapegrad: the public matmul; transposed operands passed as its transposeA / transposeB options (no copy, like TF.js's flags); the 'transpose() copies' rows write a.matmul(b.transpose()) instead, so their time includes the copy",
    "TF.js: tf.matMul(a, b, transposeA, transposeB) on the stored operands; numpy: a.T @ b views, which BLAS takes as flags",
    `${SIMD_PEAK_ITEM}: a WASM loop of f32x4 multiplies and adds on 12 independent registers, no loads or stores (bench/kernels/simd-peak.ts): the ceiling for any float32 SIMD128 kernel on this machine, one thread, without fused multiply-adds`,
    ...(fused
      ? [
          `${FUSED_PEAK_ITEM}: the same loop with relaxed SIMD's fused f32x4.relaxed_madd, which tapegrad's products use here: their ceiling`,
        ]
      : []),
  ];
  return items;
}
