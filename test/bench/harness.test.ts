import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Impl, runItem, speedup } from "../../bench/lib/harness.js";
import { speedupsOf } from "../../bench/lib/report.js";
import { median } from "../../bench/lib/stats.js";

// The harness's bookkeeping, not timings: a swapped ratio or a lost repetition would turn the
// report's conclusions around, so these use scripted "measurements" instead of clocks.

function scripted(id: string, values: number[], calls: string[], tapegrad = false): Impl {
  let next = 0;
  return {
    id,
    label: id,
    tapegrad,
    async setup() {
      calls.push(`${id}:setup`);
      return {
        warmUp: async () => {
          calls.push(`${id}:warm`);
        },
        measure: async () => {
          calls.push(id);
          return values[next++];
        },
      };
    },
  };
}

describe("bench harness", () => {
  it("median is the middle of the sorted sample (mean of the middle two for even sizes)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 25 }),
        (xs) => {
          const m = median(xs);
          const below = xs.filter((x) => x < m).length;
          const above = xs.filter((x) => x > m).length;
          expect(below).toBeLessThanOrEqual(xs.length / 2);
          expect(above).toBeLessThanOrEqual(xs.length / 2);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });

  it("speed-up is above 1 exactly when tapegrad is faster, for times and for throughputs", () => {
    expect(speedup(1, 3, false)).toBe(3); // 1 s vs 3 s
    expect(speedup(30, 10, true)).toBe(3); // 30 GFLOP/s vs 10
    expect(speedup(2, 1, false)).toBe(0.5);
    expect(speedup(5, 10, true)).toBe(0.5);
  });

  it("warms every implementation up, then alternates them in each repetition, starting one further along each time", async () => {
    const calls: string[] = [];
    const result = await runItem(
      {
        workload: "W1",
        name: "epoch",
        unit: "s/epoch",
        higherIsBetter: false,
        impls: [
          scripted("tapegrad", [1, 2, 3], calls, true),
          scripted("tfjs-cpu", [9, 6, 3], calls),
          scripted("numpy", [2, 2, 2], calls),
        ],
      },
      3,
      () => {},
    );
    expect(calls).toEqual([
      "tapegrad:setup",
      "tapegrad:warm",
      "tfjs-cpu:setup",
      "tfjs-cpu:warm",
      "numpy:setup",
      "numpy:warm",
      ...["tapegrad", "tfjs-cpu", "numpy"],
      ...["tfjs-cpu", "numpy", "tapegrad"],
      ...["numpy", "tapegrad", "tfjs-cpu"],
    ]);
    expect(result.measurements.map((m) => m.median)).toEqual([2, 6, 2]);
    expect(speedupsOf(result)).toEqual([
      { tapegrad: "tapegrad", peer: "tfjs-cpu", speedup: 3 },
      { tapegrad: "tapegrad", peer: "numpy", speedup: 1 },
    ]);
  });

  it("reports a failing implementation without stopping the others", async () => {
    const calls: string[] = [];
    const broken: Impl = {
      id: "tfjs-wasm",
      label: "TF.js wasm",
      tapegrad: false,
      async setup() {
        throw new Error("wasm did not load\nstack line");
      },
    };
    const result = await runItem(
      {
        workload: "W3",
        name: "n = 128",
        unit: "GFLOP/s",
        higherIsBetter: true,
        impls: [scripted("tapegrad", [10, 20], calls, true), broken],
      },
      2,
      () => {},
    );
    const [ours, theirs] = result.measurements;
    expect(ours.median).toBe(15);
    expect(theirs.median).toBeNull();
    expect(theirs.error).toBe("setup failed: wasm did not load");
    expect(speedupsOf(result)).toEqual([]);
  });
});
