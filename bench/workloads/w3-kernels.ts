import type { BenchConfig } from "../lib/args.js";

/** The kernel helper's GEMM bench (bench/kernels/gemm.ts): JS vs WASM 1 thread vs WASM 2 threads. */
interface KernelBenchModule {
  runGemmBench(opts: { samples?: number; minSampleMs?: number; log?: (line: string) => void }): unknown[];
  formatGemmTable(rows: unknown[]): string;
}

export interface KernelSection {
  rows: unknown[];
  table: string;
}

/** Runs bench/kernels' GEMM comparison when that module exists; reports why not otherwise. */
export async function runKernelLevel(
  config: BenchConfig,
  log: (line: string) => void,
): Promise<KernelSection | { error: string }> {
  let mod: KernelBenchModule;
  try {
    mod = (await import(new URL("../kernels/gemm.ts", import.meta.url).href)) as KernelBenchModule;
  } catch (error) {
    return { error: `bench/kernels/gemm.ts not loadable: ${(error as Error).message.split("\n")[0]}` };
  }
  try {
    const rows = mod.runGemmBench({
      samples: config.quick ? 3 : 7,
      minSampleMs: config.quick ? 10 : 25,
      log: (line) => log(`W3 kernels ${line}`),
    });
    return { rows, table: mod.formatGemmTable(rows) };
  } catch (error) {
    return { error: `bench/kernels runGemmBench failed: ${(error as Error).message.split("\n")[0]}` };
  }
}
