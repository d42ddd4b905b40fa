import type { WorkloadId } from "./args.js";
import { median } from "./stats.js";

/** One prepared implementation of one benchmark item. */
export interface Runner {
  /** Runs untimed work (JIT, caches, calibration) before the measured repetitions. */
  warmUp(): Promise<void>;
  /** One measured repetition; returns the item's metric (seconds per epoch, GFLOP/s, µs per op). */
  measure(): Promise<number>;
  /** What actually ran (e.g. which kernels), asked after the repetitions. */
  detail?(): string;
  dispose?(): void | Promise<void>;
}

export interface Impl {
  id: string; // "tapegrad", "tapegrad-manual", "tfjs-cpu", "tfjs-wasm", "numpy"
  label: string;
  /** tapegrad's own implementations get a ratio against every peer. */
  tapegrad: boolean;
  setup(): Promise<Runner>;
}

export interface Item {
  workload: WorkloadId;
  name: string;
  unit: string;
  higherIsBetter: boolean;
  impls: Impl[];
  notes?: string[];
}

export interface Measurement {
  id: string;
  label: string;
  tapegrad: boolean;
  samples: number[];
  median: number | null;
  detail?: string;
  error?: string;
}

export interface ItemResult {
  workload: WorkloadId;
  name: string;
  unit: string;
  higherIsBetter: boolean;
  measurements: Measurement[];
  notes: string[];
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}

/**
 * Runs every implementation of an item in the same process, interleaved: after one warm-up each,
 * repetition r runs A, B, C, ... in turn, starting one further along each time (B, C, ..., A), so
 * load changes on a shared machine and the order itself (who runs right after TF.js cpu has left a
 * heap full of garbage) hit all of them alike. A failing implementation is reported with its error
 * and does not stop the others.
 */
export async function runItem(item: Item, reps: number, log: (line: string) => void): Promise<ItemResult> {
  const slots = item.impls.map((impl) => ({
    impl,
    runner: null as Runner | null,
    samples: [] as number[],
    error: undefined as string | undefined,
    detail: undefined as string | undefined,
  }));
  for (const slot of slots) {
    try {
      slot.runner = await slot.impl.setup();
      await slot.runner.warmUp();
    } catch (error) {
      slot.error = `setup failed: ${firstLine(error)}`;
      await slot.runner?.dispose?.();
      slot.runner = null;
    }
  }
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[(r + i) % slots.length];
      if (slot.runner === null) continue;
      try {
        slot.samples.push(await slot.runner.measure());
      } catch (error) {
        slot.error = `failed: ${firstLine(error)}`;
        await slot.runner.dispose?.();
        slot.runner = null;
      }
    }
  }
  for (const slot of slots) {
    slot.detail = slot.runner?.detail?.();
    await slot.runner?.dispose?.();
  }
  const measurements = slots.map(
    (slot): Measurement => ({
      id: slot.impl.id,
      label: slot.impl.label,
      tapegrad: slot.impl.tapegrad,
      samples: slot.samples,
      median: slot.samples.length > 0 && slot.error === undefined ? median(slot.samples) : null,
      ...(slot.detail !== undefined ? { detail: slot.detail } : {}),
      ...(slot.error !== undefined ? { error: slot.error } : {}),
    }),
  );
  const summary = measurements
    .map((m) => `${m.id} ${m.median === null ? `(${m.error ?? "no result"})` : formatValue(m.median)}`)
    .join(" | ");
  log(`${item.workload} ${item.name} [${item.unit}]: ${summary}`);
  return {
    workload: item.workload,
    name: item.name,
    unit: item.unit,
    higherIsBetter: item.higherIsBetter,
    measurements,
    notes: item.notes ?? [],
  };
}

/** How many times faster tapegrad is than the peer (> 1: tapegrad faster), whatever the unit. */
export function speedup(tapegrad: number, peer: number, higherIsBetter: boolean): number {
  return higherIsBetter ? tapegrad / peer : peer / tapegrad;
}

/** Three significant digits, without exponent notation for the ranges we print. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  if (abs >= 0.01) return v.toFixed(3);
  return v.toPrecision(2);
}
