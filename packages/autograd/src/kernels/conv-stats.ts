import type { BackendCounts } from "./backend.js";

/** Convolution and pooling kernel calls (im2col, col2im, max-pool argmax, gather/scatter-add along the last axis). */
export type ConvStats = BackendCounts;

const counts: ConvStats = { js: 0, wasm: 0 };

export function convKernelStats(): ConvStats {
  return { ...counts };
}

/** Records one convolution/pooling kernel call and the backend that ran it. */
export function recordConv(backend: "js" | "wasm"): void {
  counts[backend]++;
}

export function resetConvStats(): void {
  counts.js = 0;
  counts.wasm = 0;
}
