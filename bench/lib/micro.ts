import type { Runner } from "./harness.js";
import { secondsSince } from "./stats.js";

/**
 * A Runner for short operations: the warm-up calls `call` for at least `minSeconds` (JIT tiers,
 * caches and the garbage collector's heap sizing settle; two calls were not enough for the tape's
 * thousands of small ops, whose first repetitions then varied 5x), then picks an iteration count
 * that makes one repetition last at least `minSeconds`; a measurement times that many calls and
 * converts (iterations, seconds) to the item's metric.
 */
export function calibratedRunner(
  call: () => void,
  opts: {
    minSeconds: number;
    metric: (iterations: number, seconds: number) => number;
    before?: () => Promise<unknown>;
    /** Runs after each measured repetition, outside the timed region. */
    after?: () => void;
    detail?: () => string;
    dispose?: () => void;
  },
): Runner {
  let iterations = 1;
  return {
    warmUp: async () => {
      await opts.before?.();
      const warmStart = performance.now();
      do call();
      while (secondsSince(warmStart) < opts.minSeconds);
      const start = performance.now();
      call();
      const once = Math.max(secondsSince(start), 1e-7);
      iterations = Math.max(1, Math.ceil(opts.minSeconds / once));
    },
    measure: async () => {
      await opts.before?.();
      const start = performance.now();
      for (let i = 0; i < iterations; i++) call();
      const seconds = secondsSince(start);
      opts.after?.();
      return opts.metric(iterations, seconds);
    },
    ...(opts.detail !== undefined ? { detail: opts.detail } : {}),
    ...(opts.dispose !== undefined ? { dispose: opts.dispose } : {}),
  };
}
