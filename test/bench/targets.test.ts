import { describe, expect, it } from "vitest";
import type { ItemResult } from "../../bench/lib/harness.js";
import { checkTargets, pairedRatio } from "../../bench/lib/targets.js";
import { VMAP_ITEM } from "../../bench/workloads/vmap.js";

// Scripted samples, not timings: the VMAP target must be judged from ratios taken repetition by
// repetition, so a load burst that slows both sides of one repetition does not move the verdict.

function vmapItem(vmap: number[], batched: number[], floor: number[]): ItemResult {
  const m = (id: string, samples: number[]) => ({
    id,
    label: id,
    tapegrad: id !== "floor",
    samples,
    median: samples.slice().sort((a, b) => a - b)[samples.length >> 1],
  });
  return {
    workload: "VMAP",
    name: VMAP_ITEM,
    unit: "ms/call",
    higherIsBetter: false,
    measurements: [m("tapegrad-vmap", vmap), m("tapegrad-batched", batched), m("floor", floor)],
    notes: [],
  };
}

describe("VMAP target", () => {
  // Repetitions 0-2 ran under load (everything 4x slower): vmap is 1.2x batched in every repetition,
  // but the ratio of medians pairs a loaded vmap sample with an unloaded batched one.
  const item = vmapItem([4.8, 4.8, 4.8, 1.2, 1.2], [4, 4, 1, 1, 1], [2, 2, 0.5, 0.5, 0.5]);

  it("takes the median of per-repetition ratios, not the ratio of medians", () => {
    expect(pairedRatio([item], "VMAP", VMAP_ITEM, "tapegrad-vmap", "tapegrad-batched")).toBeCloseTo(1.2, 12);
    const check = checkTargets([item], null).find((c) => c.target.startsWith("VMAP"));
    expect(check?.met).toBe(true);
    expect(check?.measured).toMatch(/^1\.2\d*×/);
    expect(check?.measured).toContain("writing the per-example gradients alone: 0.5");
  });

  it("is not measured when an implementation failed or has no samples", () => {
    const failed = vmapItem([1, 1], [1, 1], [1, 1]);
    failed.measurements[1].median = null;
    expect(pairedRatio([failed], "VMAP", VMAP_ITEM, "tapegrad-vmap", "tapegrad-batched")).toBeNull();
    expect(checkTargets([failed], null).find((c) => c.target.startsWith("VMAP"))?.met).toBeNull();
    expect(pairedRatio([], "VMAP", VMAP_ITEM, "tapegrad-vmap", "tapegrad-batched")).toBeNull();
  });
});
