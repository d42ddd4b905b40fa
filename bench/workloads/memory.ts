import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BenchConfig } from "../lib/args.js";

export interface EpochMemory {
  epoch: number;
  seconds: number;
  heapUsedMiB: number;
  arrayBuffersMiB: number;
  externalMiB: number;
  rssMiB: number;
}

export interface MemoryResult {
  samples: number;
  dataSource: string;
  perEpoch: EpochMemory[];
  peakRssMiB: number;
  /** Growth of heapUsed + arrayBuffers from the end of epoch 2 to the last epoch (typed arrays live outside the JS heap). */
  growthMiB: number;
  heapGrowthMiB: number;
  flat: boolean;
  /** Growth allowed before the heap counts as growing: well under one copy of W2's parameters (0.9 MiB). */
  toleranceMiB: number;
}

const CHILD = fileURLToPath(new URL("./memory-child.ts", import.meta.url));
const TOLERANCE_MIB = 0.5;

/** MEM: W2 for several epochs in a fresh process with --expose-gc; is the heap flat from epoch 2 on? */
export async function runMemory(config: BenchConfig): Promise<MemoryResult> {
  // The same node flags as this process (tsx's loader, the source condition), plus an exposed gc.
  const args = [
    ...process.execArgv,
    "--expose-gc",
    CHILD,
    String(config.memorySamples),
    String(config.memoryEpochs),
  ];
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>(
    (resolve) => {
      const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on("data", (c: Buffer) => {
        err += c.toString();
      });
      child.on("close", (exitCode) => resolve({ stdout: out, stderr: err, code: exitCode }));
    },
  );
  const line = stdout.split("\n").find((l) => l.startsWith("MEMORY_RESULT "));
  if (code !== 0 || line === undefined) {
    const why = stderr.trim().split("\n").slice(-3).join(" / ");
    throw new Error(`memory child exited with code ${code}: ${why || "no result line"}`);
  }
  const raw = JSON.parse(line.slice("MEMORY_RESULT ".length)) as Omit<
    MemoryResult,
    "growthMiB" | "heapGrowthMiB" | "flat" | "toleranceMiB"
  >;
  const from = raw.perEpoch[Math.min(1, raw.perEpoch.length - 1)];
  const to = raw.perEpoch[raw.perEpoch.length - 1];
  const growthMiB = to.heapUsedMiB + to.arrayBuffersMiB - (from.heapUsedMiB + from.arrayBuffersMiB);
  return {
    ...raw,
    growthMiB,
    heapGrowthMiB: to.heapUsedMiB - from.heapUsedMiB,
    flat: growthMiB <= TOLERANCE_MIB,
    toleranceMiB: TOLERANCE_MIB,
  };
}
