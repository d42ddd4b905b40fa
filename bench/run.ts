/**
 * `pnpm bench`: W1–W5 and the memory run for tapegrad against TensorFlow.js (cpu, wasm), numpy and
 * (W1, W2, W5) PyTorch on one thread, in one process, alternating implementations. Writes
 * bench/results/latest.{json,md}.
 */
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchConfig, type PeerId, parseBenchArgs, type WorkloadId } from "./lib/args.js";
import { writeFileAtomic } from "./lib/atomic.js";
import { w1Agreement } from "./lib/checks.js";
import { type Dataset, loadDataset } from "./lib/data.js";
import { spliceMeasured } from "./lib/docs.js";
import { type Item, type ItemResult, runItem } from "./lib/harness.js";
import { describeWasm, machineInfo } from "./lib/machine.js";
import { type PeerStatus, type Report, speedupsOf, toMarkdown } from "./lib/report.js";
import { loadAutograd } from "./lib/tapegrad.js";
import { checkTargets } from "./lib/targets.js";
import { torchAgreement } from "./lib/torch-checks.js";
import { closeNumpyServer, numpyServer, numpyUnavailable } from "./peers/numpy.js";
import { loadTfjs } from "./peers/tfjs.js";
import { torchUnavailable } from "./peers/torch.js";
import type { WorkloadContext } from "./workloads/context.js";
import { fxItems } from "./workloads/fx.js";
import { EPOCH_SAMPLES } from "./workloads/init.js";
import { runMemory } from "./workloads/memory.js";
import { peakRssSection } from "./workloads/peak-rss.js";
import { vmapItems } from "./workloads/vmap.js";
import { w1Items } from "./workloads/w1.js";
import { w2Items } from "./workloads/w2.js";
import { w3Items } from "./workloads/w3.js";
import { runKernelLevel } from "./workloads/w3-kernels.js";
import { w4Items } from "./workloads/w4.js";
import { w5Findings, w5Items } from "./workloads/w5.js";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

async function tfjsStatuses(config: BenchConfig): Promise<PeerStatus[]> {
  const wanted = (["tfjs-cpu", "tfjs-wasm"] as const).filter((id) => config.peers.includes(id));
  if (wanted.length === 0) return [];
  let tfjs: Awaited<ReturnType<typeof loadTfjs>>;
  try {
    tfjs = await loadTfjs();
  } catch (error) {
    return wanted.map((id) => ({ id, ran: false, detail: `TF.js did not load: ${firstLine(error)}` }));
  }
  return wanted.map((id) => {
    const state = id === "tfjs-cpu" ? tfjs.backends.cpu : tfjs.backends.wasm;
    if (state !== true) return { id, ran: false, detail: state };
    const extra =
      id === "tfjs-wasm"
        ? `, ${tfjs.wasmSimd ? "SIMD" : "no SIMD"}, ${tfjs.wasmThreads ? "threads" : "1 thread"}`
        : "";
    return { id, ran: true, detail: `TF.js ${tfjs.version}${extra}` };
  });
}

async function numpyStatus(): Promise<PeerStatus> {
  const why = numpyUnavailable();
  if (why !== null) return { id: "numpy", ran: false, detail: `skipped: ${why}` };
  try {
    const info = await numpyServer().info();
    return {
      id: "numpy",
      ran: true,
      detail: `numpy ${info.numpy}, ${info.blas}, python ${info.python}, 1 BLAS thread`,
    };
  } catch (error) {
    return { id: "numpy", ran: false, detail: `numpy_bench.py did not start: ${firstLine(error)}` };
  }
}

/** Which peers can run here; one that cannot is reported with the reason, never fatal. */
async function peerStatuses(config: BenchConfig): Promise<PeerStatus[]> {
  const statuses = await tfjsStatuses(config);
  if (config.peers.includes("numpy")) statuses.push(await numpyStatus());
  // PyTorch is a peer of W1, W2 and W5: probed when one of them runs.
  if (config.peers.includes("torch") && config.only.some((w) => w === "W1" || w === "W2" || w === "W5")) {
    const why = torchUnavailable();
    statuses.push({
      id: "torch",
      ran: why === null,
      detail:
        why === null
          ? "PyTorch (/usr/bin/python3), torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1"
          : `skipped: ${why}`,
    });
  }
  return statuses;
}

const BUILDERS: Record<Exclude<WorkloadId, "MEM">, (ctx: WorkloadContext) => Item[]> = {
  W1: w1Items,
  W2: w2Items,
  W3: w3Items,
  W4: w4Items,
  W5: w5Items,
  VMAP: vmapItems,
  FX: fxItems,
};

async function main(): Promise<void> {
  const config = parseBenchArgs(process.argv.slice(2), BENCH_DIR);
  const started = performance.now();
  const machine = machineInfo();
  machine.wasm = await loadAutograd().then(
    (ag) => describeWasm(ag.wasmFeatures()),
    (e: unknown) => `tapegrad did not load (${e instanceof Error ? e.message : String(e)})`,
  );
  const log = (line: string) => console.log(line);
  log(`tapegrad bench: ${config.command} — ${config.only.join(", ")}${config.quick ? " (quick)" : ""}`);

  const peers = await peerStatuses(config);
  for (const p of peers) log(`peer ${p.id}: ${p.ran ? "ready" : "not run"} (${p.detail})`);
  const runnable = peers.filter((p) => p.ran).map((p) => p.id as PeerId);

  const needsData = config.only.some((w) => w === "W1" || w === "W2" || w === "W5");
  const samples = Math.max(
    config.w1Samples,
    config.w2Samples,
    config.only.includes("W5") ? EPOCH_SAMPLES : 0,
  );
  const data: Dataset = needsData
    ? await loadDataset(samples)
    : {
        n: 0,
        x: new Float32Array(0),
        y: new Float32Array(0),
        labels: new Int32Array(0),
        source: "none needed",
      };
  if (needsData) log(`data: ${data.source}`);

  const checks: Report["checks"] = [];
  if (config.only.includes("W1")) {
    for (const backend of ["cpu", "wasm"] as const) {
      if (!runnable.includes(`tfjs-${backend}`)) continue;
      try {
        const a = await w1Agreement(backend, data);
        checks.push(
          `W1 on one batch of ${a.rows}: tapegrad loss ${a.tapegradLoss.toPrecision(7)} vs TF.js ${backend} ${a.tfjsLoss.toPrecision(7)} (relative difference ${a.lossRelError.toExponential(1)}), gradients within ${a.gradRelError.toExponential(1)} relative`,
        );
      } catch (error) {
        checks.push(`W1 agreement with TF.js ${backend} not checked: ${firstLine(error)}`);
      }
    }
  }
  if (runnable.includes("torch")) {
    for (const workload of ["W1", "W2"] as const) {
      if (!config.only.includes(workload)) continue;
      try {
        const a = await torchAgreement(workload, data);
        checks.push(
          `${workload} on one batch of ${a.rows}: tapegrad loss ${a.tapegradLoss.toPrecision(7)} vs PyTorch ${a.torchLoss.toPrecision(7)} (relative difference ${a.lossRelError.toExponential(1)}), gradients within ${a.gradRelError.toExponential(1)} relative`,
        );
      } catch (error) {
        checks.push(`${workload} agreement with PyTorch not checked: ${firstLine(error)}`);
      }
    }
  }
  for (const c of checks) log(`check: ${c}`);

  const ctx: WorkloadContext = { config, data, peers: runnable };
  const results: ItemResult[] = [];
  for (const workload of config.only) {
    if (workload === "MEM") continue;
    const reps =
      workload === "W1" || workload === "W2" || workload === "W5" ? config.epochReps : config.microReps;
    const items = BUILDERS[workload](ctx);
    if (workload === "W5") items[0].notes = [...(items[0].notes ?? []), ...(await w5Findings(runnable))];
    for (const item of items) results.push(await runItem(item, reps, log));
  }

  let kernels: Report["kernels"] = null;
  if (config.only.includes("W3")) {
    log("W3 kernels: bench/kernels GEMM comparison (JS vs WASM SIMD, 1 and 2 threads) ...");
    kernels = await runKernelLevel(config, log);
    if ("error" in kernels) log(`W3 kernels: ${kernels.error}`);
  }

  let memory: Report["memory"] = null;
  let peakRss: Report["peakRss"] = null;
  if (config.only.includes("MEM")) {
    log(
      `MEM: W2 for ${config.memoryEpochs} epochs of ${config.memorySamples} samples in a child process ...`,
    );
    try {
      memory = await runMemory(config);
      log(
        `MEM: growth ${memory.growthMiB.toFixed(3)} MiB epoch 2 -> ${config.memoryEpochs}, peak RSS ${memory.peakRssMiB.toFixed(0)} MiB`,
      );
    } catch (error) {
      memory = { error: (error as Error).message };
      log(`MEM failed: ${memory.error}`);
    }
    log("MEM: peak RSS of pnpm start (the CLI's default training) ...");
    peakRss = await peakRssSection(memory, log);
  }
  closeNumpyServer();

  const report: Report = {
    machine,
    command: config.command,
    quick: config.quick,
    data: data.source,
    peers,
    checks,
    items: results.map((r) => ({ ...r, speedups: speedupsOf(r) })),
    kernels,
    memory,
    peakRss,
    seconds: (performance.now() - started) / 1000,
    targets: checkTargets(results, memory, { kernels, peakRss }),
    loadAverageEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
  const markdown = toMarkdown(report);
  writeFileAtomic(path.join(config.outDir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomic(path.join(config.outDir, "latest.md"), markdown);
  log("");
  log(markdown);
  log(`wrote ${path.join(config.outDir, "latest.json")} and latest.md`);
  if (config.docs) {
    const doc = path.join(BENCH_DIR, "..", "docs", "performance.md");
    spliceMeasured(doc, toMarkdown(report, { forDocs: true }));
    log(`rewrote the measured block of ${doc}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    closeNumpyServer();
    console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
