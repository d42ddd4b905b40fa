import path from "node:path";
import { parseArgs } from "node:util";

export const WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "VMAP", "FX", "MEM"] as const;
export type WorkloadId = (typeof WORKLOADS)[number];
export const PEERS = ["tfjs-cpu", "tfjs-wasm", "numpy", "torch"] as const;
export type PeerId = (typeof PEERS)[number];

export interface BenchConfig {
  quick: boolean;
  only: WorkloadId[];
  peers: PeerId[];
  /** Measured repetitions of a training epoch (W1, W2, W5). */
  epochReps: number;
  /** Measured repetitions of the micro-benchmarks (W3, W4, FX). */
  microReps: number;
  /** Minimum seconds one micro-benchmark repetition runs (iterations are calibrated to reach it). */
  microSeconds: number;
  w1Samples: number;
  w2Samples: number;
  /** Square matmul sizes for W3. */
  squareSizes: number[];
  w4ChainLength: number;
  memoryEpochs: number;
  memorySamples: number;
  outDir: string;
  /** Also rewrite the measured block of docs/performance.md with this run's tables. */
  docs: boolean;
  command: string;
}

const USAGE = `usage: pnpm bench [--quick] [--only W1,W2,W3,W4,W5,VMAP,FX,MEM] [--peers tfjs-cpu,tfjs-wasm,numpy,torch] [--reps N]
  --quick   a ~1 minute smoke run: fewer samples and repetitions (epoch times are scaled to 8,000 samples)
  --only    run only these workloads (VMAP = per-example gradients; FX = function transforms: jvp, checkpoint; MEM = the 5-epoch W2 memory run)
  --peers   compare against only these peers (tapegrad always runs)
  --reps    measured repetitions per implementation (default 3 for epochs, 5 for micro-benchmarks)
            (W5: each repetition trains one more epoch; torch = PyTorch on one thread via /usr/bin/python3)
  --out     folder for latest.json and latest.md (default bench/results)
  --docs    also rewrite the measured tables in docs/performance.md`;

function parseList<T extends string>(raw: string | undefined, allowed: readonly T[], flag: string): T[] {
  if (raw === undefined) return [...allowed];
  const picked = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const hit = allowed.find(
        (a) => a.toLowerCase() === s.toLowerCase() || (a === "MEM" && /^memory$/i.test(s)),
      );
      if (hit === undefined)
        throw new Error(`${flag}: unknown value "${s}" (expected one of ${allowed.join(", ")})`);
      return hit;
    });
  return allowed.filter((a) => picked.includes(a));
}

export function parseBenchArgs(argv: string[], benchDir: string): BenchConfig {
  const args = argv.filter((a) => a !== "--");
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      peers: { type: "string" },
      reps: { type: "string" },
      out: { type: "string" },
      docs: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick === true;
  let reps: number | undefined;
  if (values.reps !== undefined) {
    reps = Number(values.reps);
    if (!Number.isInteger(reps) || reps < 1)
      throw new Error(`--reps: expected a positive integer, got "${values.reps}"`);
  }
  return {
    quick,
    only: parseList(values.only, WORKLOADS, "--only"),
    peers: parseList(values.peers, PEERS, "--peers"),
    epochReps: reps ?? (quick ? 1 : 3),
    microReps: reps ?? (quick ? 3 : 5),
    microSeconds: quick ? 0.04 : 0.25,
    w1Samples: quick ? 1000 : 8000,
    w2Samples: quick ? 1024 : 8000,
    squareSizes: quick ? [128, 512] : [128, 512, 1024],
    w4ChainLength: 1000,
    memoryEpochs: 5,
    memorySamples: quick ? 1024 : 8000,
    // pnpm runs the script inside bench/; INIT_CWD is where the user typed the command.
    outDir:
      values.out === undefined
        ? path.join(benchDir, "results")
        : path.resolve(process.env.INIT_CWD ?? process.cwd(), values.out),
    docs: values.docs === true,
    command: ["pnpm bench", ...args].join(" "),
  };
}

export { USAGE };
