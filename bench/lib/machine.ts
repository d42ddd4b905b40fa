import os from "node:os";

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  v8: string;
  date: string;
  loadAverage: number[];
  /** What tapegrad's WASM kernels use here (SIMD128, fused multiply-add); filled in once tapegrad loads. */
  wasm?: string;
}

/** What a reader needs to compare two reports: the processor, its cores, Node, the date and the load. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    date: new Date().toISOString(),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** tapegrad's wasmFeatures() in words, for the report's header. */
export function describeWasm(f: { simd: boolean; fusedMultiplyAdd: boolean; relaxedSimd: string }): string {
  if (!f.simd) return "no WASM SIMD (JS kernels only)";
  const how =
    f.relaxedSimd === "flag"
      ? "relaxed SIMD turned on through V8's --experimental-wasm-relaxed-simd"
      : f.relaxedSimd === "runtime"
        ? "relaxed SIMD on by default in this runtime"
        : f.relaxedSimd === "off"
          ? "relaxed SIMD off (TAPEGRAD_RELAXED_SIMD=0)"
          : "no relaxed SIMD here";
  return `SIMD128; products with ${f.fusedMultiplyAdd ? "fused multiply-adds" : "separate multiplies and adds"} (${how})`;
}
