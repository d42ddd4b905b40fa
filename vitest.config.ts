import { defineConfig } from "vitest/config";

export default defineConfig({
  ssr: {
    resolve: { conditions: ["@tapegrad/source", "module", "node", "development|production"] },
  },
  test: {
    include: ["test/**/*.test.ts", "packages/*/src/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Storage that kernels are meant to overwrite starts as NaN, so one that reads it first fails.
    env: { TAPEGRAD_POISON_UNINITIALIZED: "1" },
  },
});
