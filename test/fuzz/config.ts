/**
 * Seed and run counts of the fuzz suite. The default is fixed so CI is reproducible; FUZZ_SEED picks
 * another seed and FUZZ_RUNS multiplies every property's numRuns (FUZZ_RUNS=20 for a long search).
 * fast-check prints the seed and the counterexample path of a failure: rerun with FUZZ_SEED=<seed>
 * (and the same FUZZ_RUNS) to replay it.
 */
import type fc from "fast-check";

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return v;
}

export const FUZZ_SEED = Math.trunc(envNumber("FUZZ_SEED", 20_261_202));
export const FUZZ_RUNS = envNumber("FUZZ_RUNS", 1);

/** Per-test timeout: the configured 60 s per FUZZ_RUNS unit, so long searches are not cut short. */
export const FUZZ_TIMEOUT_MS = 60_000 * Math.max(1, FUZZ_RUNS);

/** fast-check parameters for a property whose default run count is `base`. */
export function fuzzParams<T>(base: number, offset = 0): fc.Parameters<T> {
  return {
    seed: FUZZ_SEED + offset,
    numRuns: Math.max(1, Math.round(base * FUZZ_RUNS)),
  };
}
