/**
 * A window on tapegrad's kernel selection, through autograd's internal kernels/backend module (not
 * public API, so it is loaded at run time and its absence only drops the thread-count variants):
 * which backend ran the products of a measurement, and a thread count to pin.
 */
interface BackendModule {
  getKernelThreads(): number;
  setKernelThreads(n: number): void;
  getKernelBackend(): string;
  wasmAvailable(): boolean;
  kernelStats(): { js: number; wasm: number; wasmThreads: Record<number, number> };
}

export interface KernelControl {
  defaultThreads: number;
  backend: string;
  wasm: boolean;
  setThreads(n: number): void;
  /** Snapshot of gemm calls so far; `describe(before)` says what ran since then. */
  snapshot(): { js: number; wasm: number; wasmThreads: Record<number, number> };
  describe(before: { js: number; wasm: number; wasmThreads: Record<number, number> }): string;
}

let loading: Promise<KernelControl | null> | undefined;

export function loadKernelControl(): Promise<KernelControl | null> {
  loading ??= (async () => {
    try {
      const url = new URL("../../packages/autograd/src/kernels/backend.ts", import.meta.url);
      const mod = (await import(url.href)) as BackendModule;
      const defaultThreads = mod.getKernelThreads();
      return {
        defaultThreads,
        backend: mod.getKernelBackend(),
        wasm: mod.wasmAvailable(),
        setThreads: (n: number) => mod.setKernelThreads(n),
        snapshot: () => mod.kernelStats(),
        describe(before) {
          const now = mod.kernelStats();
          const parts: string[] = [];
          if (now.js > before.js) parts.push("JS");
          for (const [t, count] of Object.entries(now.wasmThreads)) {
            if (count > (before.wasmThreads[Number(t)] ?? 0)) parts.push(`WASM ${t}T`);
          }
          return parts.length > 0 ? parts.join(" + ") : "no gemm recorded";
        },
      };
    } catch {
      return null;
    }
  })();
  return loading;
}
