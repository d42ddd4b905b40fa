import { type Batched, liftBatched, noteFallback } from "../batched.js";
import { apply } from "../tape.js";
import type { Tensor } from "../tensor.js";
import type { Primitive, PrimitiveParams, Rule } from "./primitive.js";
import { broadcastTo, concat, reshape, slice, transpose } from "./shape.js";

/**
 * Batching rules (vmap): how a primitive runs on a whole batch at once. A rule gets each input's batch
 * value and batch axis (null: the input is the same for every example) and returns the result on the
 * whole batch with its batch axis. Rules are written with primitives, so nested vmaps and gradients
 * pass through them.
 */
export interface BatchArgs<P extends Primitive> {
  readonly rule: Rule<P>;
  readonly values: readonly Tensor[];
  readonly dims: readonly (number | null)[];
  readonly params: PrimitiveParams[P];
  /** The batch size. */
  readonly size: number;
}

export type BatchRule<P extends Primitive> = ((args: BatchArgs<P>) => Batched) & {
  /** Set on rules that compute the examples one by one: why there is no better rule. */
  readonly fallback?: string;
};

/** One batching rule per primitive: a primitive without one does not compile (rules.ts). */
export type BatchRuleTable<K extends Primitive> = { readonly [P in K]: BatchRule<P> };

/** The physical axis of logical axis `axis` of a tensor batched along `dim`. */
export function physicalAxis(axis: number, dim: number): number {
  return axis < dim ? axis : axis + 1;
}

/** x with its batch axis moved to the front. */
export function batchFirst(x: Tensor, dim: number): Tensor {
  if (dim === 0) return x;
  const perm = [dim];
  for (let i = 0; i < x.ndim; i++) if (i !== dim) perm.push(i);
  return transpose(x, perm);
}

/** x with the batch axis in front, copying an unbatched x for every example. */
export function materialize(x: Tensor, dim: number | null, size: number): Tensor {
  if (dim !== null) return batchFirst(x, dim);
  return broadcastTo(reshape(x, [1, ...x.shape]), [size, ...x.shape]);
}

/**
 * Inputs of a broadcasting elementwise primitive, placed so that broadcasting the batch values gives
 * the batched result: when every batched input has the same batch axis and the per-example rank of the
 * result, and the unbatched ones are short enough not to reach the batch axis, nothing moves. Otherwise
 * batch axes go to the front and short batched inputs get size-1 axes after it (logical broadcasting
 * aligns shapes at the right, which the batch axis in front would break).
 */
export function alignElementwise(
  values: readonly Tensor[],
  dims: readonly (number | null)[],
): { values: Tensor[]; dim: number } {
  let rank = 0;
  let common: number | null | undefined;
  for (let i = 0; i < values.length; i++) {
    const d = dims[i];
    const r = d === null ? values[i].ndim : values[i].ndim - 1;
    if (r > rank) rank = r;
    if (d !== null) common = common === undefined || common === d ? d : null;
  }
  if (common !== undefined && common !== null) {
    let inPlace = true;
    for (let i = 0; i < values.length; i++) {
      const d = dims[i];
      if (d === null ? values[i].ndim > rank - common : values[i].ndim - 1 !== rank) inPlace = false;
    }
    if (inPlace) return { values: values.slice(), dim: common };
  }
  const out = values.map((v, i) => {
    const d = dims[i];
    if (d === null) return v;
    const front = batchFirst(v, d);
    const r = v.ndim - 1;
    if (r === rank) return front;
    return reshape(front, [front.shape[0], ...new Array<number>(rank - r).fill(1), ...front.shape.slice(1)]);
  });
  return { values: out, dim: 0 };
}

/** The batching rule of a broadcasting elementwise primitive. */
export function elementwiseBatch<P extends Primitive>(): BatchRule<P> {
  return ({ rule, values, dims, params }) => {
    const aligned = alignElementwise(values, dims);
    return { value: apply(rule, aligned.values, params), dim: aligned.dim };
  };
}

/** Example `index` of a tensor batched along `dim`. */
export function exampleOf(x: Tensor, dim: number, index: number): Tensor {
  const one = slice(x, dim, index, index + 1);
  const shape = x.shape.slice();
  shape.splice(dim, 1);
  return reshape(one, shape);
}

/** Stacks per-example results along a new front axis. */
export function stackExamples(xs: readonly Tensor[]): Tensor {
  return concat(
    xs.map((x) => reshape(x, [1, ...x.shape])),
    0,
  );
}

/**
 * The rule of last resort: the primitive runs once per example and the results are stacked. Every use
 * is counted with `reason` (vmapStats()), so a slow vmap says why.
 */
export function loopBatch<P extends Primitive>(reason: string): BatchRule<P> {
  const rule = ({ rule, values, dims, params, size }: BatchArgs<P>): Batched => {
    noteFallback(
      rule.name === "custom" ? `custom:${(params as PrimitiveParams["custom"]).name}` : rule.name,
      reason,
      size,
    );
    const outs: Tensor[] = [];
    for (let b = 0; b < size; b++) {
      const examples = values.map((v, i) => {
        const d = dims[i];
        return d === null ? v : exampleOf(v, d, b);
      });
      outs.push(apply(rule, examples, params));
    }
    return { value: stackExamples(outs), dim: 0 };
  };
  return Object.assign(rule, { fallback: reason });
}

/**
 * For elementwise functions that run kernels directly (comparisons, sign, masks): when an input is
 * batched, fn runs on the aligned batch values; null when nothing is batched. fn is called again on
 * the batch values, so it must itself be such a function (nested vmaps peel one level per call).
 */
export function liftElementwise(
  inputs: readonly Tensor[],
  fn: (...values: Tensor[]) => Tensor,
): Tensor | null {
  return liftBatched(inputs, (values, dims) => {
    const aligned = alignElementwise(values, dims);
    return { value: fn(...aligned.values), dim: aligned.dim };
  });
}
