import { FX_JVP_ITEM, FX_MEMORY_ITEM } from "../workloads/fx.js";
import { type PeakRssSection, RSS_NOISE } from "../workloads/peak-rss.js";
import { VMAP_ITEM } from "../workloads/vmap.js";
import { W1_GRADIENTS } from "../workloads/w1-tapegrad.js";
import { FUSED_PEAK_ITEM, SIMD_PEAK_ITEM } from "../workloads/w3.js";
import { formatValue, type ItemResult } from "./harness.js";
import type { MemorySection, Report } from "./report.js";
import { median } from "./stats.js";

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null; // null: not measured in this run
}

function medianOf(items: ItemResult[], workload: string, name: string, id: string): number | null {
  const item = items.find((it) => it.workload === workload && it.name === name);
  return item?.measurements.find((m) => m.id === id)?.median ?? null;
}

/**
 * The median of `id`'s time over `baseId`'s, repetition by repetition. The harness interleaves
 * implementations, so repetition r of each ran within moments of the other: a load burst on the
 * shared machine slows both samples of a pair, where a ratio of medians can put one item's fast
 * repetitions over the other's slow ones. Null unless both have a median (no error) and samples.
 */
export function pairedRatio(
  items: ItemResult[],
  workload: string,
  name: string,
  id: string,
  baseId: string,
): number | null {
  const item = items.find((it) => it.workload === workload && it.name === name);
  const a = item?.measurements.find((m) => m.id === id);
  const b = item?.measurements.find((m) => m.id === baseId);
  if (a?.median == null || b?.median == null) return null;
  const n = Math.min(a.samples.length, b.samples.length);
  if (n === 0) return null;
  const ratios: number[] = [];
  for (let r = 0; r < n; r++) ratios.push(a.samples[r] / b.samples[r]);
  return median(ratios);
}

function ratioCheck(
  target: string,
  minimum: number,
  ours: number | null,
  peer: number | null,
  higherIsBetter: boolean,
) {
  if (ours === null || peer === null) return { target, measured: "not measured", met: null };
  const x = higherIsBetter ? ours / peer : peer / ours;
  return { target, measured: `${formatValue(x)}×`, met: x >= minimum };
}

/** At most `limit` times the peer's time (lower is better): measured as ours / peer. */
function timeRatioCheck(
  target: string,
  limit: number,
  ours: number | null,
  peer: number | null,
): TargetCheck {
  if (ours === null || peer === null) return { target, measured: "not measured", met: null };
  const x = ours / peer;
  return { target, measured: `${formatValue(x)}× PyTorch's time`, met: x <= limit };
}

/** What the targets read besides the items: the W3 kernel table and the peak RSS of whole jobs. */
export interface TargetExtras {
  kernels?: Report["kernels"];
  peakRss?: PeakRssSection | null;
}

/** Issue 5's targets, issue 10's (W5) and issue 12's, each judged from this run's medians. */
export function checkTargets(
  items: ItemResult[],
  memory: MemorySection | { error: string } | null,
  extras: TargetExtras = {},
): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const w1 = (id: string) => medianOf(items, "W1", "epoch", id);
  const w2 = (id: string) => medianOf(items, "W2", "epoch", id);
  checks.push(ratioCheck("W1 (tape) ≥ 5× faster than TF.js wasm", 5, w1("tapegrad"), w1("tfjs-wasm"), false));
  checks.push(ratioCheck("W1 faster than numpy (batched float32)", 1, w1("tapegrad"), w1("numpy"), false));
  checks.push(gradientWaysCheck(w1));
  checks.push(ratioCheck("W2 ≥ 5× faster than TF.js wasm", 5, w2("tapegrad"), w2("tfjs-wasm"), false));
  checks.push(timeRatioCheck("W2 ≤ PyTorch 1-thread s/epoch", 1, w2("tapegrad"), w2("torch")));
  // The ceiling of the kernels that ran: the fused loop's where the products use relaxed_madd.
  const peak =
    medianOf(items, "W3", FUSED_PEAK_ITEM, "tapegrad-1t") ??
    medianOf(items, "W3", SIMD_PEAK_ITEM, "tapegrad-1t");
  for (const item of items.filter((it) => it.workload === "W3" && it.name.startsWith("float32"))) {
    if (item.name === SIMD_PEAK_ITEM || item.name === FUSED_PEAK_ITEM) continue;
    const peer = medianOf(items, "W3", item.name, "tfjs-wasm");
    // The public matmul, transposes passed as options: the like of TF.js's tf.matMul flags.
    const oneThread = medianOf(items, "W3", item.name, "tapegrad-1t");
    const check = ratioCheck(`W3 ${item.name}, 1 thread ≥ 1.5× TF.js wasm`, 1.5, oneThread, peer, true);
    // What no SIMD128 kernel can beat on this machine, in the same units as the target.
    if (peak !== null && peer !== null && check.met !== null)
      check.measured += ` (SIMD128 peak: ${formatValue(peak / peer)}×)`;
    checks.push(check);
    const square = /^float32 n = (\d+)$/.exec(item.name);
    if (square !== null && Number(square[1]) >= 512) {
      const twoThreads = medianOf(items, "W3", item.name, "tapegrad-2t");
      const check2 = ratioCheck(`W3 ${item.name}, 2 threads ≥ 3× TF.js wasm`, 3, twoThreads, peer, true);
      if (peak !== null && peer !== null && check2.met !== null)
        check2.measured += ` (2 × SIMD128 peak: ${formatValue((2 * peak) / peer)}×)`;
      checks.push(check2);
    }
  }
  checks.push(gemmThroughputCheck(items, extras.kernels ?? null));
  checks.push(twoThreadRegressionCheck(items));
  const w4 =
    items.find((it) => it.workload === "W4")?.measurements.find((m) => m.id === "tapegrad")?.median ?? null;
  for (const limit of [1, 0.3]) {
    checks.push({
      target: `W4 ≤ ${limit} µs per op, forward + backward${limit < 1 ? " (issue 12)" : ""}`,
      measured: w4 === null ? "not measured" : `${formatValue(w4)} µs`,
      met: w4 === null ? null : w4 <= limit,
    });
  }
  // Paired, repetition by repetition (pairedRatio): the ratio of medians swung 3.5-9.6x between runs.
  const ratio = pairedRatio(items, "VMAP", VMAP_ITEM, "tapegrad-vmap", "tapegrad-batched");
  const floorRatio = pairedRatio(items, "VMAP", VMAP_ITEM, "floor", "tapegrad-batched");
  checks.push({
    target: "VMAP: per-example gradients (vmap(grad)) ≤ 1.5× one batched backward",
    measured:
      ratio === null
        ? "not measured"
        : `${formatValue(ratio)}×${floorRatio !== null ? ` (writing the per-example gradients alone: ${formatValue(floorRatio)}×)` : ""}, median of per-repetition ratios`,
    met: ratio === null ? null : ratio <= 1.5,
  });
  // Issue 11: forward mode costs at most about two forward passes; checkpointing saves memory.
  const jvp = medianOf(items, "FX", FX_JVP_ITEM, "tapegrad-jvp");
  const forward = medianOf(items, "FX", FX_JVP_ITEM, "tapegrad-forward");
  checks.push({
    target: "FX jvp of the W1 loss ≤ 2× one forward pass",
    measured: jvp === null || forward === null ? "not measured" : `${formatValue(jvp / forward)}×`,
    met: jvp === null || forward === null ? null : jvp <= 2 * forward,
  });
  const plain = medianOf(items, "FX", FX_MEMORY_ITEM, "tapegrad-plain");
  const saved = medianOf(items, "FX", FX_MEMORY_ITEM, "tapegrad-checkpoint");
  checks.push({
    target: "FX checkpoint holds less memory for backward than the plain graph",
    measured:
      plain === null || saved === null
        ? "not measured"
        : `${formatValue(saved)} MiB vs ${formatValue(plain)} MiB (${formatValue(plain / Math.max(saved, 1e-9))}× less)`,
    met: plain === null || saved === null ? null : saved < plain,
  });
  const w5 = (name: string, id: string) =>
    items
      .find((it) => it.workload === "W5" && it.name.startsWith(name))
      ?.measurements.find((m) => m.id === id)?.median ?? null;
  checks.push(
    timeRatioCheck(
      "W5 epoch ≤ 2× PyTorch 1-thread s/epoch",
      2,
      w5("epoch", "tapegrad"),
      w5("epoch", "torch"),
    ),
  );
  checks.push(
    timeRatioCheck(
      "W5 conv trunk fwd+bwd (batch 32) ≤ 2× PyTorch 1-thread",
      2,
      w5("conv trunk", "tapegrad"),
      w5("conv trunk", "torch"),
    ),
  );
  if (memory === null || "error" in memory) {
    checks.push({
      target: "MEM: flat heap from epoch 2 to 5 of W2",
      measured: memory?.error ?? "not measured",
      met: null,
    });
  } else {
    checks.push({
      target: "MEM: flat heap from epoch 2 to 5 of W2",
      measured: `${memory.growthMiB.toFixed(2)} MiB growth, peak RSS ${memory.peakRssMiB.toFixed(0)} MiB`,
      met: memory.flat,
    });
  }
  checks.push(...peakRssChecks(extras.peakRss ?? null));
  return checks;
}

const GEMM_TARGET_GFLOPS = 90;

/** A GFLOP/s figure of the W3 kernel-level table (bench/kernels/gemm.ts rows), or null. */
function kernelGflops(kernels: Report["kernels"], shape: string, impl: string): number | null {
  if (kernels === null || "error" in kernels) return null;
  const rows = kernels.rows as Array<{ shape?: string; dtype?: string; impl?: string; gflops?: number }>;
  const row = rows.find((r) => r.shape === shape && r.dtype === "float32" && r.impl === impl);
  return typeof row?.gflops === "number" ? row.gflops : null;
}

/** Issue 12: the public float32 matmul at n = 1024 on 2 threads reaches 90 GFLOP/s (kernel level beside it). */
function gemmThroughputCheck(items: ItemResult[], kernels: Report["kernels"]): TargetCheck {
  const target = `GEMM float32 n = 1024, 2 threads ≥ ${GEMM_TARGET_GFLOPS} GFLOP/s (public matmul)`;
  const gflops = medianOf(items, "W3", "float32 n = 1024", "tapegrad-2t");
  if (gflops === null) return { target, measured: "not measured", met: null };
  const kernel = kernelGflops(kernels, "square 1024", "wasm2");
  return {
    target,
    measured: `${formatValue(gflops)} GFLOP/s${kernel === null ? "" : ` (kernel level, WASM 2 threads: ${formatValue(kernel)})`}`,
    met: gflops >= GEMM_TARGET_GFLOPS,
  };
}

/** Issue 12: below n = 256 two threads must not be slower than one (W3's n = 128, 5% for noise). */
function twoThreadRegressionCheck(items: ItemResult[]): TargetCheck {
  const target = "W3: no two-thread regression below n = 256 (float32 n = 128: 2 threads ≥ 0.95 × 1 thread)";
  const one = medianOf(items, "W3", "float32 n = 128", "tapegrad-1t");
  const two = medianOf(items, "W3", "float32 n = 128", "tapegrad-2t");
  if (one === null || two === null) return { target, measured: "not measured", met: null };
  return {
    target,
    measured: `2 threads / 1 thread = ${formatValue(two / one)}× (${formatValue(two)} vs ${formatValue(one)} GFLOP/s)`,
    met: two >= 0.95 * one,
  };
}

/** Issue 12: the peak RSS of `pnpm start` and of W2 not above bench/baselines/peak-rss.json's. */
function peakRssChecks(section: PeakRssSection | null): TargetCheck[] {
  const jobs = ["pnpm start", "W2 (MEM child)"];
  return jobs.map((job) => {
    const target = `Peak RSS of ${job} not above the baseline (+${100 * RSS_NOISE}% for run-to-run noise)`;
    const row = section?.rows.find((r) => r.job === job);
    const base = section?.baseline;
    if (row === undefined || base == null || row.peakMiB === null || row.baselineMiB === null)
      return { target, measured: row?.detail ?? "not measured", met: null };
    const ratio = row.peakMiB / row.baselineMiB;
    const node = base.node === process.version ? "" : `, baseline on node ${base.node}`;
    return {
      target,
      measured: `${row.peakMiB.toFixed(0)} MiB vs ${row.baselineMiB.toFixed(0)} MiB (${formatValue(ratio)}×; baseline ${base.date.slice(0, 10)}, ${base.commit.slice(0, 7)}${node})`,
      met: ratio <= 1 + RSS_NOISE,
    };
  });
}

/** Issue 12: each way of getting W1's gradients within 1.15× of the fastest way, in this run. */
function gradientWaysCheck(w1: (id: string) => number | null): TargetCheck {
  const target = "W1: every way of getting the gradients ≤ 1.15× the fastest of them";
  const ways = Object.entries(W1_GRADIENTS).map(([name, { id }]) => ({ name, t: w1(id) }));
  const measured = ways.filter((w): w is { name: string; t: number } => w.t !== null);
  if (measured.length < 2) return { target, measured: "not measured", met: null };
  const fastest = Math.min(...measured.map((w) => w.t));
  const ratios = measured.map((w) => ({ name: w.name, r: w.t / fastest }));
  return {
    target,
    measured: ratios.map((w) => `${w.name} ${formatValue(w.r)}×`).join(", "),
    met: ratios.every((w) => w.r <= 1.15),
  };
}

export function targetsMarkdown(checks: TargetCheck[]): string[] {
  const lines = ["| target | measured | met |", "|---|---|---|"];
  for (const c of checks)
    lines.push(`| ${c.target} | ${c.measured} | ${c.met === null ? "–" : c.met ? "yes" : "no"} |`);
  return lines;
}
