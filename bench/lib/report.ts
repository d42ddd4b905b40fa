import type { PeakRssSection } from "../workloads/peak-rss.js";
import type { PeerId } from "./args.js";
import { formatValue, type ItemResult, type Measurement, speedup } from "./harness.js";
import type { MachineInfo } from "./machine.js";
import { type TargetCheck, targetsMarkdown } from "./targets.js";

export interface PeerStatus {
  id: PeerId;
  ran: boolean;
  detail: string;
}

export interface MemorySection {
  samples: number;
  dataSource: string;
  perEpoch: Array<{
    epoch: number;
    seconds: number;
    heapUsedMiB: number;
    arrayBuffersMiB: number;
    rssMiB: number;
  }>;
  peakRssMiB: number;
  growthMiB: number;
  heapGrowthMiB: number;
  flat: boolean;
  toleranceMiB: number;
}

export interface Report {
  machine: MachineInfo;
  command: string;
  quick: boolean;
  data: string;
  peers: PeerStatus[];
  /** Correctness checks run before timing: do tapegrad and the peers compute the same thing? */
  checks: string[];
  items: Array<ItemResult & { speedups: Array<{ tapegrad: string; peer: string; speedup: number }> }>;
  kernels: { rows: unknown[]; table: string } | { error: string } | null;
  memory: MemorySection | { error: string } | null;
  /** Peak RSS of `pnpm start` and W2 against bench/baselines/peak-rss.json (with MEM). */
  peakRss: PeakRssSection | null;
  seconds: number;
  /** Issues 5, 10 and 12's targets judged from this run (met: null when not measured). */
  targets: TargetCheck[];
  /** os.loadavg() when the run ended: with the start value, how busy the machine was. */
  loadAverageEnd: number[];
}

const PEER_COLUMNS: Array<{ id: PeerId; title: string }> = [
  { id: "tfjs-cpu", title: "TF.js cpu" },
  { id: "tfjs-wasm", title: "TF.js wasm" },
  { id: "numpy", title: "numpy" },
  { id: "torch", title: "PyTorch 1 thread" },
];

/** Every (tapegrad implementation, peer) pair with both medians: how many times faster tapegrad is. */
export function speedupsOf(item: ItemResult) {
  const out: Array<{ tapegrad: string; peer: string; speedup: number }> = [];
  for (const t of item.measurements) {
    if (!t.tapegrad || t.median === null) continue;
    for (const p of item.measurements) {
      if (p.tapegrad || p.median === null) continue;
      out.push({ tapegrad: t.id, peer: p.id, speedup: speedup(t.median, p.median, item.higherIsBetter) });
    }
  }
  return out;
}

function cell(m: Measurement | undefined): string {
  if (m === undefined) return "–";
  if (m.median === null) return "failed¹";
  return formatValue(m.median);
}

function ratioCell(t: Measurement, p: Measurement | undefined, higherIsBetter: boolean): string {
  if (t.median === null || p === undefined || p.median === null) return "–";
  return `${formatValue(speedup(t.median, p.median, higherIsBetter))}×`;
}

function workloadTable(items: ItemResult[]): string[] {
  const peers = PEER_COLUMNS.filter((c) => items.some((it) => it.measurements.some((m) => m.id === c.id)));
  const header = [
    "item",
    "tapegrad variant",
    "tapegrad",
    ...peers.map((p) => p.title),
    ...peers.map((p) => `speed-up vs ${p.title}`),
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const item of items) {
    for (const t of item.measurements.filter((m) => m.tapegrad)) {
      const byPeer = peers.map((p) => item.measurements.find((m) => m.id === p.id));
      const row = [
        item.name,
        t.detail === undefined ? t.label : `${t.label} [${t.detail}]`,
        cell(t),
        ...byPeer.map(cell),
        ...byPeer.map((p) => ratioCell(t, p, item.higherIsBetter)),
      ];
      lines.push(`| ${row.join(" | ")} |`);
    }
  }
  return lines;
}

/** The MEM section's second table: whole jobs' peak RSS beside the committed baseline. */
function peakRssTable(section: PeakRssSection): string[] {
  const base = section.baseline;
  const lines = [
    base === null
      ? "Peak RSS of whole jobs (maximum RSS of the largest process; no baseline to compare with):"
      : `Peak RSS of whole jobs (maximum RSS of the largest process) against bench/baselines/peak-rss.json (${base.date.slice(0, 10)}, packages at ${base.commit.slice(0, 7)}, node ${base.node}):`,
    "",
    "| job | peak RSS MiB | baseline MiB | ratio | what ran |",
    "|---|---|---|---|---|",
  ];
  for (const r of section.rows) {
    const ratio =
      r.peakMiB !== null && r.baselineMiB !== null ? `${formatValue(r.peakMiB / r.baselineMiB)}×` : "–";
    lines.push(
      `| ${r.job} | ${r.peakMiB === null ? "failed" : r.peakMiB.toFixed(0)} | ${r.baselineMiB === null ? "–" : r.baselineMiB.toFixed(0)} | ${ratio} | ${r.detail} |`,
    );
  }
  return [...lines, ""];
}

const WORKLOAD_TITLES: Record<string, string> = {
  W1: "W1 — the article's network [784,30,10], sigmoid, quadratic loss, SGD, batch 10 (seconds per 8,000-sample epoch, lower is better)",
  W2: "W2 — [784,256,256,10] relu, softmax cross-entropy, Adam, batch 128 (seconds per 8,000-sample epoch, lower is better)",
  W3: "W3 — matmul throughput (GFLOP/s, higher is better)",
  W4: "W4 — tape overhead, forward + backward (µs per primitive op, lower is better)",
  VMAP: "VMAP — per-example gradients with vmap (ms per call, lower is better)",
  FX: "FX — function transforms: jvp against a forward pass, checkpoint's memory and time (lower is better)",
  W5: "W5 — the reference CNN (conv5×5 16, conv5×5 32, linear 10), Adam, batch 64 (seconds per 8,000-sample epoch, lower is better), and its conv trunk (ms per step)",
};

/**
 * The Markdown report; the console prints the same text. `forDocs` gives the section spliced into
 * docs/performance.md: no title, headings one level down, the long kernel table left to latest.md.
 */
export function toMarkdown(report: Report, opts: { forDocs?: boolean } = {}): string {
  const m = report.machine;
  const h = opts.forDocs === true ? "###" : "##";
  const out: string[] = [
    ...(opts.forDocs === true ? [] : [`# tapegrad benchmark${report.quick ? " (quick run)" : ""}`, ""]),
    `- date: ${m.date}`,
    `- machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; load average at start ${m.loadAverage.join(" / ")}`,
    `- node ${m.node} (V8 ${m.v8})${m.wasm === undefined ? "" : `; tapegrad's WASM kernels: ${m.wasm}`}`,
    `- command: \`${report.command}\``,
    `- data: ${report.data}`,
    `- peers: ${report.peers.map((p) => `${p.id} ${p.ran ? "ran" : "did not run"} (${p.detail})`).join("; ")}`,
    ...(Math.max(m.loadAverage[0], report.loadAverageEnd[0] ?? 0) > m.cores
      ? [
          `- note: the machine was busy (1-minute load average ${m.loadAverage[0]} at the start, ${report.loadAverageEnd[0]} at the end, on ${m.cores} cores): absolute numbers are slower than on a quiet machine; ratios within this run are the comparison`,
        ]
      : []),
    ...report.checks.map((c) => `- check: ${c}`),
    `- medians of the measured repetitions; implementations alternate within each repetition. "speed-up" is how many times faster tapegrad is than the peer (above 1: tapegrad is faster), whatever the unit.`,
    "",
  ];
  const failures: string[] = [];
  for (const workload of ["W1", "W2", "W3", "W4", "W5", "VMAP", "FX"]) {
    const items = report.items.filter((it) => it.workload === workload);
    if (items.length === 0) continue;
    out.push(`${h} ${WORKLOAD_TITLES[workload]}`, "", ...workloadTable(items), "");
    const notes = items.flatMap((it) => [
      ...it.notes,
      ...it.measurements
        .filter((ms) => !ms.tapegrad && ms.detail !== undefined)
        .map((ms) => `${ms.label}: ${ms.detail}`),
    ]);
    for (const note of notes) out.push(`- ${note}`);
    if (notes.length > 0) out.push("");
    for (const it of items) {
      for (const ms of it.measurements) {
        if (ms.error !== undefined) failures.push(`${workload} ${it.name}, ${ms.label}: ${ms.error}`);
      }
    }
  }
  if (report.kernels !== null) {
    out.push(
      `${h} W3 kernel level — tapegrad's GEMM kernels called directly (bench/kernels/gemm.ts, GFLOP/s)`,
      "",
    );
    if ("error" in report.kernels) out.push(`not run: ${report.kernels.error}`, "");
    else if (opts.forDocs === true)
      out.push(
        "The table (JS vs WASM SIMD on 1 and 2 threads, every W1/W2 shape) is in bench/results/latest.md.",
        "",
      );
    else out.push(report.kernels.table, "");
  }
  if (report.memory !== null) {
    out.push(`${h} MEM — W2 trained for several epochs in a child process with --expose-gc (tapegrad)`, "");
    if ("error" in report.memory) {
      out.push(`failed: ${report.memory.error}`, "");
    } else {
      const mem = report.memory;
      out.push("| epoch | seconds | heapUsed MiB | arrayBuffers MiB | RSS MiB |", "|---|---|---|---|---|");
      for (const e of mem.perEpoch) {
        out.push(
          `| ${e.epoch} | ${formatValue(e.seconds)} | ${e.heapUsedMiB.toFixed(2)} | ${e.arrayBuffersMiB.toFixed(2)} | ${e.rssMiB.toFixed(0)} |`,
        );
      }
      out.push(
        "",
        `- ${mem.samples} samples per epoch; peak RSS ${mem.peakRssMiB.toFixed(0)} MiB`,
        `- growth of heapUsed + arrayBuffers after gc, epoch 2 to ${mem.perEpoch.length}: ${mem.growthMiB.toFixed(3)} MiB (heapUsed alone ${mem.heapGrowthMiB.toFixed(3)} MiB): **${mem.flat ? "flat" : "NOT flat"}** (tolerance ${mem.toleranceMiB} MiB)`,
        "",
      );
    }
  }
  if (report.peakRss !== null) out.push(...peakRssTable(report.peakRss));
  const targets = report.targets.filter((c) => c.met !== null);
  if (targets.length > 0) {
    out.push(`${h} Targets (issues 5, 10 and 12), judged from this run`, "", ...targetsMarkdown(targets), "");
    if (targets.some((c) => c.target.startsWith("W3"))) {
      out.push(
        "- W3 rows judged: the public matmul with transposes passed as its options, like TF.js's tf.matMul flags.",
        "",
      );
    }
  }
  if (failures.length > 0) {
    out.push(`${h} Failures`, "", ...failures.map((f) => `- ¹ ${f}`), "");
  }
  out.push(
    `Total bench time: ${report.seconds.toFixed(0)} s; load average at the end ${report.loadAverageEnd.join(" / ")}.`,
    "",
  );
  return out.join("\n");
}
