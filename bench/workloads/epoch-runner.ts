import type { Runner } from "../lib/harness.js";
import { secondsSince } from "../lib/stats.js";

/**
 * Turns "train over the first `batches` batches (all when undefined)" into a Runner: the warm-up
 * trains a few batches, each measurement a full epoch, reported in seconds scaled by `scale`.
 */
export function epochRunner(
  train: (batches?: number) => void | Promise<void>,
  opts: { warmBatches: number; scale: number; dispose?: () => void; detail?: () => string },
): Runner {
  return {
    warmUp: async () => {
      await train(opts.warmBatches);
    },
    measure: async () => {
      const start = performance.now();
      await train();
      return secondsSince(start) * opts.scale;
    },
    ...(opts.dispose !== undefined ? { dispose: opts.dispose } : {}),
    ...(opts.detail !== undefined ? { detail: opts.detail } : {}),
  };
}
