/**
 * Kernel-level GEMM benchmark: GFLOP/s of the plain JS kernel, WASM SIMD on one thread and WASM SIMD
 * on two threads, float32 and float64, for square products and the dense-layer shapes of the W1/W2
 * workloads (forward and the transposed backward products). Implementations alternate within each
 * round so they share the machine's load; the table reports medians.
 *
 *   pnpm tsx --conditions=@tapegrad/source bench/kernels/gemm.ts [--quick] [--samples N] [--json]
 *     [--dtype float32|float64] [--only <substring of shape names, e.g. square or W2>] [--no-js]
 */
import {
  getKernelBackend,
  getKernelThreads,
  kernelStats,
  resetKernelStats,
  setKernelBackend,
  setKernelThreads,
  startKernelThreads,
} from "../../packages/autograd/src/kernels/backend.js";
import { gemm } from "../../packages/autograd/src/kernels/gemm.js";
import { gemmJs } from "../../packages/autograd/src/kernels/gemm-js.js";
import type { FloatArray } from "../../packages/autograd/src/kernels/types.js";
import { gemmWasm } from "../../packages/autograd/src/kernels/wasm/gemm-wasm.js";

/** js: gemmJs; wasm1/wasm2: gemmWasm forced to 1/2 threads; auto: the dispatcher the ops call. */
export type GemmImpl = "js" | "wasm1" | "wasm2" | "auto";
export type GemmDType = "float32" | "float64";

export interface GemmBenchShape {
  name: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
}

export interface GemmBenchRow {
  shape: string;
  dtype: GemmDType;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  impl: GemmImpl;
  /** Median time of one product, milliseconds. */
  medianMs: number;
  /** 2·m·n·k / median time. */
  gflops: number;
  /** Threads the last wasm run used (1 for js); for auto, the mean over its runs (0 = all in JS). */
  threads: number;
  samples: number;
}

export interface GemmBenchOptions {
  dtypes?: GemmDType[];
  impls?: GemmImpl[];
  shapes?: GemmBenchShape[];
  /** Samples per (shape, dtype, impl); the median is reported. */
  samples?: number;
  /** Each sample repeats the product until at least this many milliseconds have passed. */
  minSampleMs?: number;
  /** The JS kernel is skipped above this many multiply-adds (it takes seconds at n = 1024). */
  jsMaxMacs?: number;
  log?: (line: string) => void;
}

const sq = (n: number): GemmBenchShape => ({
  name: `square ${n}`,
  m: n,
  n,
  k: n,
  transA: false,
  transB: false,
});

/**
 * W2 ([784,256,256,10], batch 128): forward X·W, backward dW = Xᵀ·δ (transA) and dX = δ·Wᵀ (transB);
 * W1 ([784,30,10], batch 10) likewise. Shapes are op(A)[m,k] · op(B)[k,n].
 */
export const GEMM_BENCH_SHAPES: GemmBenchShape[] = [
  sq(128),
  sq(512),
  sq(1024),
  { name: "W2 fwd 128x784·784x256", m: 128, n: 256, k: 784, transA: false, transB: false },
  { name: "W2 fwd 128x256·256x256", m: 128, n: 256, k: 256, transA: false, transB: false },
  { name: "W2 fwd 128x256·256x10", m: 128, n: 10, k: 256, transA: false, transB: false },
  { name: "W2 dW1 Xᵀ·δ 784x128·128x256", m: 784, n: 256, k: 128, transA: true, transB: false },
  { name: "W2 dW2 Aᵀ·δ 256x128·128x256", m: 256, n: 256, k: 128, transA: true, transB: false },
  { name: "W2 dW3 Aᵀ·δ 256x128·128x10", m: 256, n: 10, k: 128, transA: true, transB: false },
  { name: "W2 dX δ·Wᵀ 128x256·256x256ᵀ", m: 128, n: 256, k: 256, transA: false, transB: true },
  { name: "W2 dX δ·Wᵀ 128x10·(256x10)ᵀ", m: 128, n: 256, k: 10, transA: false, transB: true },
  { name: "W1 fwd 10x784·784x30", m: 10, n: 30, k: 784, transA: false, transB: false },
  { name: "W1 fwd 10x30·30x10", m: 10, n: 10, k: 30, transA: false, transB: false },
  { name: "W1 dW1 Xᵀ·δ 784x10·10x30", m: 784, n: 30, k: 10, transA: true, transB: false },
  { name: "W1 dW2 Aᵀ·δ 30x10·10x10", m: 30, n: 10, k: 10, transA: true, transB: false },
  { name: "W1 dX δ·Wᵀ 10x10·(30x10)ᵀ", m: 10, n: 30, k: 10, transA: false, transB: true },
];

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
}

function randomArray(dtype: GemmDType, length: number, seed: number): FloatArray {
  const out = dtype === "float32" ? new Float32Array(length) : new Float64Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

export function runGemmBench(opts: GemmBenchOptions = {}): GemmBenchRow[] {
  const dtypes = opts.dtypes ?? ["float32", "float64"];
  const impls = opts.impls ?? ["js", "wasm1", "wasm2", "auto"];
  const shapes = opts.shapes ?? GEMM_BENCH_SHAPES;
  const samples = opts.samples ?? 7;
  const minSampleMs = opts.minSampleMs ?? 25;
  const jsMaxMacs = opts.jsMaxMacs ?? 2 ** 28;
  const log = opts.log ?? (() => {});

  const previousThreads = getKernelThreads();
  const previousBackend = getKernelBackend();
  setKernelBackend("auto");
  if (impls.includes("wasm2") || impls.includes("auto")) {
    setKernelThreads(2);
    const ready = startKernelThreads(20_000);
    if (ready < 2) log(`note: only ${ready} thread(s) ready; wasm2 rows report what actually ran`);
  }

  const rows: GemmBenchRow[] = [];
  try {
    for (const dtype of dtypes) {
      for (const shape of shapes) {
        const { m, n, k, transA, transB } = shape;
        const a = randomArray(dtype, m * k, 1);
        const b = randomArray(dtype, k * n, 2);
        const c = dtype === "float32" ? new Float32Array(m * n) : new Float64Array(m * n);
        const active = impls.filter((impl) => impl !== "js" || m * n * k <= jsMaxMacs);
        const times = new Map<GemmImpl, number[]>(active.map((impl) => [impl, []]));
        const threadsSeen = new Map<GemmImpl, number[]>(active.map((impl) => [impl, []]));
        const runOnce = (impl: GemmImpl): number => {
          if (impl === "js") {
            gemmJs(a, 0, b, 0, c, 0, m, n, k, transA, transB);
            return 1;
          }
          if (impl === "auto") {
            resetKernelStats();
            gemm(a, 0, b, 0, c, 0, m, n, k, transA, transB);
            const stats = kernelStats();
            return stats.js > 0 ? 0 : Number(Object.keys(stats.wasmThreads)[0]);
          }
          return gemmWasm(a, 0, b, 0, c, 0, m, n, k, transA, transB, impl === "wasm1" ? 1 : 2);
        };
        for (const impl of active) runOnce(impl); // warm up (compile, grow memory, JIT)
        for (let s = 0; s < samples; s++) {
          for (const impl of active) {
            let iters = 0;
            const t0 = performance.now();
            let elapsed = 0;
            do {
              threadsSeen.get(impl)!.push(runOnce(impl));
              iters++;
              elapsed = performance.now() - t0;
            } while (elapsed < minSampleMs);
            times.get(impl)!.push(elapsed / iters);
          }
        }
        for (const impl of active) {
          const medianMs = median(times.get(impl)!);
          const row: GemmBenchRow = {
            shape: shape.name,
            dtype,
            m,
            n,
            k,
            transA,
            transB,
            impl,
            medianMs,
            gflops: (2 * m * n * k) / (medianMs * 1e6),
            threads: mean(threadsSeen.get(impl)!),
            samples,
          };
          rows.push(row);
        }
        log(
          `${dtype} ${shape.name}: ${active
            .map((impl) => {
              const r = rows.find((x) => x.shape === shape.name && x.dtype === dtype && x.impl === impl)!;
              return `${impl} ${r.gflops.toFixed(1)}`;
            })
            .join("  ")} GFLOP/s`,
        );
      }
    }
  } finally {
    setKernelThreads(previousThreads);
    setKernelBackend(previousBackend);
  }
  return rows;
}

/** A Markdown table: one line per (dtype, shape), GFLOP/s per implementation and the speed-ups. */
export function formatGemmTable(rows: GemmBenchRow[]): string {
  const lines = [
    "| dtype | shape | m·n·k | JS | WASM 1 thread | WASM 2 threads | auto (mean threads) | 1T/JS | 2T/1T |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const keys = [...new Set(rows.map((r) => `${r.dtype}\u0000${r.shape}`))];
  for (const key of keys) {
    const [dtype, shape] = key.split("\u0000") as [string, string];
    const get = (impl: GemmImpl) =>
      rows.find((r) => r.dtype === dtype && r.shape === shape && r.impl === impl);
    const js = get("js");
    const w1 = get("wasm1");
    const w2 = get("wasm2");
    const auto = get("auto");
    const any = (js ?? w1 ?? w2 ?? auto)!;
    const fmt = (r: GemmBenchRow | undefined) => {
      if (r === undefined) return "–";
      if (r.impl === "auto")
        return `${r.gflops.toFixed(1)} (${r.threads === 0 ? "JS" : r.threads.toFixed(2)})`;
      return `${r.gflops.toFixed(1)}${r.impl === "wasm2" && r.threads !== 2 ? ` (${r.threads.toFixed(2)}T)` : ""}`;
    };
    const ratio = (x?: GemmBenchRow, y?: GemmBenchRow) =>
      x && y ? `${(x.gflops / y.gflops).toFixed(1)}x` : "–";
    lines.push(
      `| ${dtype} | ${shape} | ${any.m}·${any.n}·${any.k} | ${fmt(js)} | ${fmt(w1)} | ${fmt(w2)} | ${fmt(auto)} | ${ratio(w1, js)} | ${ratio(w2, w1)} |`,
    );
  }
  return lines.join("\n");
}

function isMain(): boolean {
  const argv1 = globalThis.process?.argv?.[1];
  if (!argv1) return false;
  return import.meta.url.endsWith(argv1.replace(/\\/g, "/")) || import.meta.url === `file://${argv1}`;
}

if (isMain()) {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const samplesAt = args.indexOf("--samples");
  const samples = samplesAt >= 0 ? Number(args[samplesAt + 1]) : quick ? 3 : 7;
  const flagValue = (flag: string) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const dtype = flagValue("--dtype") as GemmDType | undefined;
  const only = flagValue("--only");
  const rows = runGemmBench({
    samples,
    dtypes: dtype ? [dtype] : undefined,
    impls: args.includes("--no-js") ? ["wasm1", "wasm2", "auto"] : undefined,
    shapes: only ? GEMM_BENCH_SHAPES.filter((s) => s.name.includes(only)) : undefined,
    minSampleMs: quick ? 10 : 25,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (args.includes("--json")) console.log(JSON.stringify(rows, null, 2));
  else console.log(formatGemmTable(rows));
}
