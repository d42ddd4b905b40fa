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
 * tapegrad's public matmul; transposed operands go through transpose(), as a user would write it.
 * `threads` pins autograd's kernel thread count for the measurement (null: the library's default);
 * `flags` calls the flagged primitive that the tape's backward uses instead (no transpose copy).
 */
function tapegradMatmul(
  shape: MatmulShape,
  dtype: FloatDType,
  minSeconds: number,
  threads: number | null,
  flags = false,
): Impl {
  const threadLabel = threads === null ? "default threads" : `${threads} thread${threads > 1 ? "s" : ""}`;
  return {
    id: `tapegrad${flags ? "-flags" : ""}${threads === null ? "" : `-${threads}t`}`,
    label: flags
      ? `matmul primitive with transpose flags (internal), ${threadLabel}`
      : `matmul, ${threadLabel}`,
    tapegrad: true,
    async setup() {
      const { tensor, matmul } = await loadAutograd();
      const matmulFlags = flags ? await loadMatmulFlags() : null;
      const kernels = await loadKernelControl();
      if (threads !== null && kernels === null)
        throw new Error("cannot pin threads: kernels/backend.ts not loadable");
      const [am, ak] = storedA(shape);
      const [bk, bn] = storedB(shape);
      const a = tensor(randomArray(dtype, am * ak, 1), { shape: [am, ak] });
      const b = tensor(randomArray(dtype, bk * bn, 2), { shape: [bk, bn] });
      const call =
        matmulFlags === null
          ? () => {
              matmul(shape.transA ? a.transpose() : a, shape.transB ? b.transpose() : b);
            }
          : () => {
              matmulFlags(a, b, shape.transA, shape.transB);
            };
      let before = kernels?.snapshot();
      let ran = "";
      return calibratedRunner(call, {
        minSeconds,
        metric: gflops(shape),
        before: async () => {
          kernels?.setThreads(threads ?? kernels.defaultThreads);
          before = kernels?.snapshot();
        },
        after: () => {
          if (kernels !== null && before !== undefined) ran = kernels.describe(before);
          kernels?.setThreads(kernels.defaultThreads);
        },
        detail: () => ran,
      });
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

type MatmulFlags = (a: unknown, b: unknown, transA: boolean, transB: boolean) => unknown;

/** The op the tape's backward pass calls for transposed products; internal, so loaded by path. */
async function loadMatmulFlags(): Promise<MatmulFlags> {
  const url = new URL("../../packages/autograd/src/ops/matmul.ts", import.meta.url);
  const mod = (await import(url.href)) as { matmulFlags?: MatmulFlags };
  if (typeof mod.matmulFlags !== "function")
    throw new Error("autograd's ops/matmul.ts exports no matmulFlags");
  return mod.matmulFlags;
}

/**
 * One thread (the per-core comparison) and both cores (tapegrad's default here); for transposed
 * products also the flagged primitive on one thread, which is what a dense layer's backward runs.
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
  const first = items[0];
  first.notes = [
    "peers on one thread: TF.js wasm has no threaded build in Node, numpy runs with OPENBLAS_NUM_THREADS=1; tapegrad pinned to 1 and to 2 kernel threads (its default here is min(2, cores)); [brackets] say which kernels ran",
    "tapegrad: the public matmul; transposed operands written as a.transpose(), so their time includes the transpose copy; the 'transpose flags' rows call the primitive the tape's backward uses (no copy)",
    "TF.js: tf.matMul(a, b, transposeA, transposeB) on the stored operands; numpy: a.T @ b views, which BLAS takes as flags",
  ];
  return items;
}
