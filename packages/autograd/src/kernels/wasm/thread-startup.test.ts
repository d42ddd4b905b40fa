import { describe, expect, it } from "vitest";
import {
  kernelStats,
  resetKernelStats,
  setKernelBackend,
  setKernelThreads,
  wasmAvailable,
} from "../backend.js";
import { gemm } from "../gemm.js";
import { wasmRuntime } from "./runtime.js";
import { chooseThreads } from "./thread-policy.js";
import { threadsSupported } from "./workers.js";

/**
 * A file of its own: its process has never started a helper thread, so the first large product finds
 * them still starting. That product must run, and be timed, as one thread: timed as a request for
 * helpers it made helpers look slow, and the policy then kept a 1024² matmul on one thread for most of
 * a bench run (75 against 90+ GFLOP/s).
 */
describe.runIf(wasmAvailable() && threadsSupported(wasmRuntime()!))(
  "thread policy while helpers start",
  () => {
    it("times the first product as one thread and still tries helpers next", () => {
      setKernelBackend("wasm");
      setKernelThreads(2);
      const n = 160; // 4.1 M multiply-adds: a product the policy times
      const a = new Float32Array(n * n).fill(0.5);
      const c = new Float32Array(n * n);
      resetKernelStats();
      gemm(a, 0, a, 0, c, 0, n, n, n, false, false);
      expect(c[0]).toBeCloseTo(0.25 * n, 3);
      expect(kernelStats().wasmThreads).toEqual({ 1: 1 });
      // No estimate against helpers was recorded: the next product of this size asks for them.
      expect(chooseThreads(n * n * n, true, 2)).toBe(2);
    });
  },
);
