/**
 * Writes bench/baselines/peak-rss.json, the peak RSS the MEM workload compares with: `pnpm start` and W2
 * (the MEM child, the bench's default 5 epochs of 8,000 samples), each run twice, the larger kept.
 * Run it on the code the baseline stands for:
 *   node_modules/.bin/tsx --conditions=@tapegrad/source bench/baselines/peak-rss.ts
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseBenchArgs } from "../lib/args.js";
import { writeFileAtomic } from "../lib/atomic.js";
import { machineInfo } from "../lib/machine.js";
import { runMemory } from "../workloads/memory.js";
import { BASELINE_FILE, measureStartRss, type RssBaseline, START_COMMAND } from "../workloads/peak-rss.js";

const BENCH_DIR = fileURLToPath(new URL("..", import.meta.url));
const RUNS = 2;

function git(...args: string[]): string {
  return spawnSync("git", args, { cwd: BENCH_DIR, encoding: "utf8" }).stdout.trim();
}

const config = parseBenchArgs([], BENCH_DIR);
const start: number[] = [];
const w2: number[] = [];
for (let run = 1; run <= RUNS; run++) {
  const s = await measureStartRss();
  start.push(s.peakMiB);
  console.log(`run ${run}: pnpm start ${s.peakMiB.toFixed(1)} MiB (${s.seconds.toFixed(1)} s, ${s.process})`);
  const m = await runMemory(config);
  w2.push(m.peakRssMiB);
  console.log(`run ${run}: W2 ${m.peakRssMiB.toFixed(1)} MiB`);
}
const dirty = git("status", "--porcelain", "--", path.join(BENCH_DIR, "..", "packages")) !== "";
const machine = machineInfo();
const round = (x: number) => Math.round(x * 10) / 10;
const baseline: RssBaseline = {
  date: machine.date,
  commit: `${git("log", "-1", "--format=%H", "--", path.join(BENCH_DIR, "..", "packages"))}${dirty ? " + uncommitted changes" : ""}`,
  node: machine.node,
  machine: `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB`,
  note: `each job run ${RUNS} times, the larger peak kept; maximum RSS reported by each process at exit (process.resourceUsage().maxRSS)`,
  start: { command: START_COMMAND, peakMiB: round(Math.max(...start)), runsMiB: start.map(round) },
  w2: {
    command: "bench/workloads/memory-child.ts (the MEM workload's child, node --expose-gc)",
    samples: config.memorySamples,
    epochs: config.memoryEpochs,
    peakMiB: round(Math.max(...w2)),
    runsMiB: w2.map(round),
  },
};
// Arrays of numbers on one line, as the repository's formatter (biome) writes JSON.
const json = JSON.stringify(baseline, null, 2).replace(
  /\[\s+([\d.,\s]+?)\s+\]/g,
  (_, list: string) => `[${list.split(/,\s*/).join(", ")}]`,
);
writeFileAtomic(BASELINE_FILE, `${json}\n`);
console.log(`wrote ${BASELINE_FILE}`);
