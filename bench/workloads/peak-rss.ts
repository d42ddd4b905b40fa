import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MemorySection } from "../lib/report.js";

/**
 * Peak RSS of whole jobs (issue 12: not above today's): `pnpm start`, the README's first command (the
 * article's network trained on MNIST with the CLI's defaults), and W2 (the MEM child), against
 * bench/baselines/peak-rss.json.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const HOOK = fileURLToPath(new URL("./rss-hook.cjs", import.meta.url));
export const BASELINE_FILE = fileURLToPath(new URL("../baselines/peak-rss.json", import.meta.url));
/** A run may be this much above the baseline before it counts as above it (RSS varies run to run). */
export const RSS_NOISE = 0.05;
/** `pnpm start` is `tsx --conditions=@tapegrad/source packages/cli/src/main.ts train` (package.json). */
export const START_ARGS = ["--conditions=@tapegrad/source", "packages/cli/src/main.ts", "train"];
export const START_COMMAND = `tsx ${START_ARGS.join(" ")} --out <fresh temporary folder>`;

export interface JobRss {
  peakMiB: number;
  seconds: number;
  /** The process whose maximum RSS was the peak. */
  process: string;
}

/**
 * Runs `pnpm start`'s command (tsx's launcher, which starts the node that trains, in a worker thread of
 * its own) with the default settings, writing to a fresh temporary folder that is removed afterwards.
 * Every node process of the tree reports its own maximum RSS at exit (rss-hook.cjs); the peak is the
 * largest, that of the training process.
 */
export async function measureStartRss(): Promise<JobRss> {
  const work = mkdtempSync(path.join(os.tmpdir(), "tapegrad-start-rss-"));
  const log = path.join(work, "rss.jsonl");
  try {
    const tsx = createRequire(import.meta.url).resolve("tsx/cli");
    const env = {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${JSON.stringify(HOOK)}`.trim(),
      TAPEGRAD_RSS_LOG: log,
    };
    const start = performance.now();
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [tsx, ...START_ARGS, "--out", path.join(work, "run")], {
        cwd: ROOT,
        env,
        stdio: ["ignore", "ignore", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (c: Buffer) => {
        err = (err + c.toString()).slice(-2000);
      });
      child.on("error", reject);
      child.on("close", (exitCode) => resolve({ code: exitCode, stderr: err }));
    });
    const seconds = (performance.now() - start) / 1000;
    if (code !== 0)
      throw new Error(`pnpm start exited with code ${code}: ${stderr.trim().split("\n").pop()}`);
    if (!existsSync(log)) throw new Error("pnpm start: no process reported its RSS");
    const reports = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { pid: number; maxRssKiB: number; argv: string[] });
    const peak = reports.reduce((a, b) => (b.maxRssKiB > a.maxRssKiB ? b : a));
    const script = path.relative(ROOT, peak.argv[0] ?? "?");
    return {
      peakMiB: peak.maxRssKiB / 1024,
      seconds,
      process: `node ${script} (largest of ${reports.length} node processes)`,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface RssBaseline {
  date: string;
  /** The last commit that changed packages/ (the code measured). */
  commit: string;
  node: string;
  machine: string;
  note: string;
  start: { command: string; peakMiB: number; runsMiB: number[] };
  w2: { command: string; samples: number; epochs: number; peakMiB: number; runsMiB: number[] };
}

export interface RssRow {
  job: string;
  peakMiB: number | null;
  baselineMiB: number | null;
  /** What was measured, or why it is not compared. */
  detail: string;
}

export interface PeakRssSection {
  baseline: Pick<RssBaseline, "date" | "commit" | "node"> | null;
  rows: RssRow[];
}

function readBaseline(): RssBaseline | string {
  try {
    return JSON.parse(readFileSync(BASELINE_FILE, "utf8")) as RssBaseline;
  } catch (error) {
    return `no baseline (${(error as Error).message.split("\n")[0]})`;
  }
}

/** This run's peaks beside the baseline's: `pnpm start` measured now, W2's from the MEM child. */
export async function peakRssSection(
  memory: Pick<MemorySection, "samples" | "perEpoch" | "peakRssMiB"> | { error: string },
  log: (line: string) => void,
): Promise<PeakRssSection> {
  const baseline = readBaseline();
  const base = typeof baseline === "string" ? null : baseline;
  const rows: RssRow[] = [];
  try {
    const start = await measureStartRss();
    const slow = start.seconds > 60 ? " (over a minute here; the default settings all the same)" : "";
    rows.push({
      job: "pnpm start",
      peakMiB: start.peakMiB,
      baselineMiB: base?.start.peakMiB ?? null,
      detail: `${START_COMMAND}, ${start.seconds.toFixed(1)} s${slow}; peak of ${start.process}`,
    });
    log(`MEM: pnpm start peak RSS ${start.peakMiB.toFixed(0)} MiB (${start.seconds.toFixed(1)} s)`);
  } catch (error) {
    rows.push({ job: "pnpm start", peakMiB: null, baselineMiB: null, detail: (error as Error).message });
  }
  if ("error" in memory) {
    rows.push({ job: "W2 (MEM child)", peakMiB: null, baselineMiB: null, detail: memory.error });
  } else {
    const sameRun =
      base !== null && base.w2.samples === memory.samples && base.w2.epochs === memory.perEpoch.length;
    rows.push({
      job: "W2 (MEM child)",
      peakMiB: memory.peakRssMiB,
      baselineMiB: sameRun ? base.w2.peakMiB : null,
      detail:
        `${memory.perEpoch.length} epochs of ${memory.samples} samples` +
        (base !== null && !sameRun
          ? `; not compared: the baseline ran ${base.w2.epochs} epochs of ${base.w2.samples}`
          : ""),
    });
  }
  return {
    baseline: base === null ? null : { date: base.date, commit: base.commit, node: base.node },
    rows:
      typeof baseline === "string" ? rows.map((r) => ({ ...r, detail: `${r.detail}; ${baseline}` })) : rows,
  };
}
