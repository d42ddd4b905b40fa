import { afterEach, describe, expect, it } from "vitest";
import { chooseThreads, recordRun, resetThreadPolicy } from "./thread-policy.js";
import { setHelpersMustJoin } from "./workers.js";

const BIG = 8_000_000;

/** Runs `calls` products of one size class with the given rates (macs per ms) and counts the choices. */
function simulate(calls: number, singleRate: number, multiRate: number): { single: number; multi: number } {
  const counts = { single: 0, multi: 0 };
  for (let i = 0; i < calls; i++) {
    const threads = chooseThreads(BIG, true, 2);
    if (threads === 1) counts.single++;
    else counts.multi++;
    recordRun(BIG, true, threads, BIG / (threads === 1 ? singleRate : multiRate));
  }
  return counts;
}

describe("thread policy", () => {
  afterEach(() => {
    resetThreadPolicy();
    setHelpersMustJoin(false);
  });

  it("never splits small products or when only one thread is allowed", () => {
    expect(chooseThreads(1000, true, 2)).toBe(1);
    expect(chooseThreads(BIG, true, 1)).toBe(1);
  });

  it("settles on helpers when they are faster, still trying one thread now and then", () => {
    const counts = simulate(80, 40_000, 75_000);
    expect(counts.multi).toBeGreaterThan(60);
    expect(counts.single).toBeGreaterThan(2);
  });

  it("settles on one thread when helpers are slower (a busy machine), and follows a change", () => {
    const busy = simulate(80, 40_000, 25_000);
    expect(busy.single).toBeGreaterThan(60);
    expect(busy.multi).toBeGreaterThan(2);
    const idle = simulate(80, 40_000, 75_000);
    expect(idle.multi).toBeGreaterThan(50);
  });

  it("recovers from a bad first look at helpers (one still waking up) at its next exploration", () => {
    // The first product with helpers is 20x slower than they really are; after that they are 1.9x faster.
    recordRun(BIG, true, chooseThreads(BIG, true, 2), BIG / 3_750);
    const counts = simulate(80, 40_000, 75_000);
    // Averaging the next look into the stale 3,750 kept one thread for the whole run (3 products with helpers).
    expect(counts.multi).toBeGreaterThan(30);
  });

  it("keeps size classes and dtypes apart", () => {
    simulate(40, 40_000, 25_000);
    // Another size class has no estimate yet, so it tries helpers first.
    expect(chooseThreads(BIG * 16, true, 2)).toBe(2);
    expect(chooseThreads(BIG, false, 2)).toBe(2);
  });

  it("keeps kinds of product apart: a convolution's estimates are not a matmul's of the same size", () => {
    simulate(40, 40_000, 25_000); // matmuls of this size: one thread wins
    expect(chooseThreads(BIG, true, 2)).toBe(1);
    // The convolution kinds have no estimate yet: each tries helpers first, whatever matmul learned.
    for (const kind of ["convForward", "convInputGrad", "convWeightGrad"] as const) {
      expect(chooseThreads(BIG, true, 2, kind)).toBe(2);
      recordRun(BIG, true, 2, BIG / 75_000, kind);
      recordRun(BIG, true, 1, BIG / 40_000, kind);
    }
    expect(chooseThreads(BIG, true, 2, "convForward")).toBe(2);
    expect(chooseThreads(BIG, true, 2)).toBe(1);
  });

  it("always asks for every thread while helpers must join (tests)", () => {
    simulate(40, 40_000, 25_000);
    setHelpersMustJoin(true);
    expect(chooseThreads(BIG, true, 2)).toBe(2);
  });
});
