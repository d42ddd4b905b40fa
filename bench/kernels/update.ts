/**
 * Optimiser-update kernel benchmark: median µs per call of the JS loops against the WASM SIMD kernels
 * (copies in and out included), float32 by default, for W1's first weight matrix (784x30 = 23,520
 * elements) and W2's first (784x256 = 200,704). Implementations alternate within each round so they
 * share the machine's load.
 *
 *   node_modules/.bin/tsx --conditions=@tapegrad/source bench/kernels/update.ts
 *     [--samples N] [--dtype float32|float64] [--sizes 23520,200704] [--crossover] [--chunk N]
 *
 * --crossover times small sizes (16 to 4096) to place WASM_MIN_ELEMENTS; --chunk sets the elements
 * per WASM chunk (default: the kernel's own).
 */
import type { FloatArray } from "../../packages/autograd/src/kernels/types.js";
import {
  type AdamStep,
  adamUpdateJs,
  adamUpdateWasm,
  type SgdStep,
  setUpdateChunkElements,
  sgdUpdateJs,
  sgdUpdateWasm,
} from "../../packages/autograd/src/kernels/update.js";

type Impl = "js" | "wasm";
type Kernel = "sgd" | "sgd momentum" | "adam" | "adamw";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const samples = Number(arg("--samples") ?? 15);
const dtype = arg("--dtype") ?? "float32";
const crossover = process.argv.includes("--crossover");
const chunk = arg("--chunk");
if (chunk !== undefined) setUpdateChunkElements(Number(chunk));
const sizes = crossover
  ? [16, 32, 64, 128, 256, 512, 1024, 4096]
  : (arg("--sizes") ?? "23520,200704").split(",").map(Number);
const kernels: Kernel[] = ["sgd", "sgd momentum", "adam", "adamw"];

function alloc(n: number, fill: (i: number) => number): FloatArray {
  const a = dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = fill(i);
  return a;
}

/** A closure that runs one update of `kernel` with `impl` on fresh arrays of n elements. */
function setup(kernel: Kernel, impl: Impl, n: number): () => void {
  const p = alloc(n, (i) => Math.sin(i) * 0.1);
  const g = alloc(n, (i) => Math.cos(i * 0.7) * 0.01);
  if (kernel === "sgd" || kernel === "sgd momentum") {
    const o: SgdStep =
      kernel === "sgd"
        ? { lr: 1e-3 }
        : { lr: 1e-3, momentum: 0.9, buffer: alloc(n, () => 0), firstStep: false };
    return impl === "js" ? () => sgdUpdateJs(p, g, o) : () => void sgdUpdateWasm(p, g, o);
  }
  const o: AdamStep = {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: kernel === "adamw" ? 1e-2 : 0,
    decoupled: kernel === "adamw",
    step: 10,
    m: alloc(n, () => 0.001),
    v: alloc(n, () => 0.0001),
  };
  return impl === "js" ? () => adamUpdateJs(p, g, o) : () => void adamUpdateWasm(p, g, o);
}

/** µs per call: repeats the call until at least minMs have passed. */
function sample(run: () => void, minMs: number): number {
  let reps = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    run();
    reps++;
    t = performance.now();
  }
  return ((t - t0) * 1000) / reps;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

console.log(`optimiser update, ${dtype}, median µs per call over ${samples} samples (copies included)`);
console.log("kernel         elements      js µs    wasm µs   js/wasm");
for (const kernel of kernels) {
  for (const n of sizes) {
    const runs = { js: setup(kernel, "js", n), wasm: setup(kernel, "wasm", n) };
    // Warm up both (tier-up of the JS loop and of the wasm code) before timing.
    for (const impl of ["js", "wasm"] as const) sample(runs[impl], 30);
    const times: Record<Impl, number[]> = { js: [], wasm: [] };
    for (let s = 0; s < samples; s++) {
      for (const impl of s % 2 ? (["wasm", "js"] as const) : (["js", "wasm"] as const)) {
        times[impl].push(sample(runs[impl], 5));
      }
    }
    const js = median(times.js);
    const wasm = median(times.wasm);
    console.log(
      `${kernel.padEnd(14)} ${String(n).padStart(8)} ${js.toFixed(2).padStart(10)} ${wasm.toFixed(2).padStart(10)} ${(js / wasm).toFixed(2).padStart(9)}`,
    );
  }
}
