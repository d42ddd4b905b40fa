import { loadAutograd } from "./tapegrad.js";

/** Counts of gemm calls by backend and thread count, as autograd's kernelStats() reports them. */
export interface GemmCounts {
  js: number;
  wasm: number;
  wasmThreads: Record<number, number>;
}

/**
 * A window on tapegrad's kernel selection through autograd's public kernel controls: which backend
 * ran the products of a measurement, and a thread count to pin.
 */
export interface KernelControl {
  defaultThreads: number;
  backend: string;
  wasm: boolean;
  setThreads(n: number): void;
  /** Snapshot of gemm calls so far; `describe(before)` says what ran since then. */
  snapshot(): GemmCounts;
  describe(before: GemmCounts): string;
}

let loading: Promise<KernelControl> | undefined;

export function loadKernelControl(): Promise<KernelControl> {
  loading ??= (async () => {
    const ag = await loadAutograd();
    const snapshot = (): GemmCounts => {
      const { js, wasm, wasmThreads } = ag.kernelStats();
      return { js, wasm, wasmThreads };
    };
    return {
      defaultThreads: ag.getKernelThreads(),
      backend: ag.getKernelBackend(),
      wasm: ag.wasmAvailable(),
      setThreads: (n: number) => ag.setKernelThreads(n),
      snapshot,
      describe(before) {
        const now = snapshot();
        const parts: string[] = [];
        if (now.js > before.js) parts.push("JS");
        for (const [t, count] of Object.entries(now.wasmThreads)) {
          if (count > (before.wasmThreads[Number(t)] ?? 0)) parts.push(`WASM ${t}T`);
        }
        return parts.length > 0 ? parts.join(" + ") : "no gemm recorded";
      },
    };
  })();
  return loading;
}
