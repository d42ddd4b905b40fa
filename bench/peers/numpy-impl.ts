import type { Impl } from "../lib/harness.js";
import { numpyServer } from "./numpy.js";

/**
 * An Impl backed by numpy_bench.py. `spec` is the setup request (kind and parameters); each measured
 * value is multiplied by `scale` (e.g. to turn seconds for N samples into seconds per 8,000).
 */
export function numpyImpl(spec: () => Record<string, unknown>, scale = 1): Impl {
  return {
    id: "numpy",
    label: "numpy",
    tapegrad: false,
    async setup() {
      const server = numpyServer();
      const { id } = (await server.request({ op: "setup", ...spec() })) as { id: number };
      return {
        warmUp: async () => {
          await server.request({ op: "warmup", id });
        },
        measure: async () =>
          ((await server.request({ op: "measure", id })) as { value: number }).value * scale,
        dispose: async () => {
          await server.request({ op: "dispose", id });
        },
      };
    },
  };
}
