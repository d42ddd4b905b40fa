import type { TypedArray } from "./dtype.js";
import type { Primitive, PrimitiveParams, Rule } from "./ops/primitive.js";
import type { Tensor } from "./tensor.js";

/**
 * The seam between vmap (vmap.ts) and the rest of the library. A batched tensor (vmap's BatchTracer)
 * shows the per-example shape and keeps the whole batch in another tensor, its `value`, with the batch
 * along `batchDim`; vmap registers the functions below when it loads. This file imports no runtime code,
 * so tape.ts and the op files can use it without an import cycle through tensor.ts.
 */
export interface BatchedView {
  /** The vmap level (one per vmap call, increasing with nesting) this tensor is batched at. */
  readonly vmapLevel: number;
  /** The whole batch: a tensor with one more axis than the per-example shape. */
  readonly value: Tensor;
  /** Where the batch axis sits in `value`. */
  readonly batchDim: number;
}

/** What an op computes on the whole batch: the result and its batch axis (null: the same for every example). */
export interface Batched {
  value: Tensor;
  dim: number | null;
}

/** Runs `run` on the batch values of the innermost vmap level among `inputs` and wraps its results. */
export type Lift = (
  inputs: readonly Tensor[],
  run: (values: readonly Tensor[], dims: readonly (number | null)[], size: number) => Batched[],
) => Tensor[];

interface Hooks {
  /** How many vmaps are running: outside them no input is looked at (apply's cost stays one check). */
  depth: number;
  /** Applies a primitive to inputs of which some are batched (vmap's batching rules). */
  apply:
    | (<P extends Primitive>(rule: Rule<P>, inputs: readonly Tensor[], params: PrimitiveParams[P]) => Tensor)
    | null;
  lift: Lift | null;
  /** A new batched tensor with the same batch value (a grad leaf at the batched level). */
  rewrap: ((t: Tensor) => Tensor) | null;
}

export const batchHooks: Hooks = { depth: 0, apply: null, lift: null, rewrap: null };

export function isBatched(t: Tensor): boolean {
  return (t as unknown as Partial<BatchedView>).vmapLevel !== undefined;
}

export function anyBatched(ts: readonly Tensor[]): boolean {
  for (let i = 0; i < ts.length; i++) if (isBatched(ts[i])) return true;
  return false;
}

/** The array holding t's values (a batched tensor's batch value's, all levels down), for identity checks. */
export function storageOf(t: Tensor): TypedArray {
  let v = t;
  while (isBatched(v)) v = (v as unknown as BatchedView).value;
  return v.data;
}

/** The primitive applied through vmap's batching rules when an input is batched, else null. */
export function batchedApply<P extends Primitive>(
  rule: Rule<P>,
  inputs: readonly Tensor[],
  params: PrimitiveParams[P],
): Tensor | null {
  if (batchHooks.depth === 0 || batchHooks.apply === null || !anyBatched(inputs)) return null;
  return batchHooks.apply(rule, inputs, params);
}

/**
 * For functions that compute with kernels directly instead of through a primitive (comparisons, sign,
 * argmax, sort indices, value checks): when an input is batched, `run` gets the batch values and their
 * batch axes and says where the batch axis of its result is. Returns null when nothing is batched.
 */
export function liftBatched(
  inputs: readonly Tensor[],
  run: (values: readonly Tensor[], dims: readonly (number | null)[], size: number) => Batched,
): Tensor | null {
  if (batchHooks.depth === 0 || batchHooks.lift === null || !anyBatched(inputs)) return null;
  return batchHooks.lift(inputs, (values, dims, size) => [run(values, dims, size)])[0];
}

/** liftBatched for several results. */
export function liftBatchedMany(
  inputs: readonly Tensor[],
  run: (values: readonly Tensor[], dims: readonly (number | null)[], size: number) => Batched[],
): Tensor[] | null {
  if (batchHooks.depth === 0 || batchHooks.lift === null || !anyBatched(inputs)) return null;
  return batchHooks.lift(inputs, run);
}

// ---- fallbacks: primitives batched by a loop over the examples --------------------------------------

export interface FallbackStat {
  /** How many times the primitive was batched by a loop. */
  calls: number;
  /** Examples computed one by one, over all calls. */
  examples: number;
  reason: string;
}

export const fallbackStats = new Map<string, FallbackStat>();
export const fallbackDebug = { warn: false };

/** The host's console.warn (the package is typed without DOM or Node globals). */
function warn(message: string): void {
  (globalThis as { console?: { warn(m: string): void } }).console?.warn(message);
}

export function noteFallback(name: string, reason: string, size: number): void {
  const s = fallbackStats.get(name);
  if (s === undefined) {
    fallbackStats.set(name, { calls: 1, examples: size, reason });
    if (fallbackDebug.warn) warn(`vmap: ${name} is batched by a loop over ${size} examples: ${reason}`);
  } else {
    s.calls++;
    s.examples += size;
  }
}
