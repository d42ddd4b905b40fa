import {
  type Batched,
  type BatchedView,
  batchHooks,
  type FallbackStat,
  fallbackDebug,
  fallbackStats,
  isBatched,
} from "./batched.js";
import type { DType, TypedArray } from "./dtype.js";
import { GraphError, ShapeError, TapegradError, ValueError } from "./errors.js";
import type { BatchRule } from "./ops/batching.js";
import type { Primitive, PrimitiveParams, Rule } from "./ops/primitive.js";
import { batchRules } from "./ops/rules.js";
import { broadcastTo, reshape, transpose } from "./ops/shape.js";
import { formatShape, sizeOf } from "./shape.js";
import { Tensor } from "./tensor.js";

/**
 * vmap (JAX's name): f written for one example runs on a whole batch at once. Each batched argument is
 * wrapped in a BatchTracer, a Tensor that shows f the per-example shape and keeps the batch in `value`
 * with its batch axis at `batchDim`. Every primitive applied to a tracer goes through apply() (tape.ts),
 * which hands it to the primitive's batching rule (ops/rules.ts, batchRules): the rule computes the
 * result on the batch values with ordinary primitives and says where the result's batch axis is.
 *
 * Levels: every vmap call gets a new level; a nested vmap wraps tracers of the outer level, so a rule
 * run on the inner batch values meets outer tracers and the outer rules run in turn. Gradients compose
 * because both sides are made of primitives: grad inside vmap records tracer-level nodes whose vjps run
 * on tracers (so per-example cotangents come out batched), and grad outside vmap sees the ordinary
 * nodes the batching rules recorded on the batch values.
 */

const PLACEHOLDER: Record<DType, () => TypedArray> = {
  float32: () => new Float32Array(0),
  float64: () => new Float64Array(0),
  int32: () => new Int32Array(0),
};

/** A batched tensor's data: nothing may read it (every op goes through the batching rules). */
const DATA_ACCESSOR: PropertyDescriptor = {
  get(this: BatchTracer): never {
    throw new GraphError(
      `vmap: the values of a batched tensor (per-example shape ${formatShape(this.shape)}, batch of ${this.batchSize}) were read directly. ` +
        "Inside vmap the function must compute with tensor ops (toArray, item and code reading .data see no single example), " +
        "and a batched tensor cannot be used after its vmap has returned: return it from the function instead",
    );
  },
};

/** A batched tensor inside vmap. Its own data is never read: every op goes through the batching rules. */
class BatchTracer extends Tensor implements BatchedView {
  readonly vmapLevel: number;
  readonly value: Tensor;
  readonly batchDim: number;

  constructor(value: Tensor, batchDim: number, level: number) {
    super(PLACEHOLDER[value.dtype](), [0]);
    this.value = value;
    this.batchDim = batchDim;
    this.vmapLevel = level;
    const shape = value.shape.slice();
    shape.splice(batchDim, 1);
    // Plain assignments keep the object's layout fast; only `data` becomes an accessor (DATA_ACCESSOR).
    const self = this as unknown as { shape: number[]; size: number };
    self.shape = shape;
    self.size = sizeOf(shape);
    Object.defineProperty(this, "data", DATA_ACCESSOR);
  }

  get batchSize(): number {
    return this.value.shape[this.batchDim];
  }

  override detach(): Tensor {
    const t = new BatchTracer(this.value.detach(), this.batchDim, this.vmapLevel);
    t.name = this.name;
    return t;
  }

  override toString(): string {
    return `BatchedTensor(shape=${formatShape(this.shape)}, batch of ${this.batchSize} on axis ${this.batchDim} of the batch value, vmap level ${this.vmapLevel}, dtype=${this.dtype})`;
  }
}

// ---- levels and the hooks apply() calls -----------------------------------------------------------

const active: number[] = [];
/** How many times each batching rule ran (vmapStats). */
const ruleCalls = new Map<Primitive, number>();
let nextLevel = 1;

function innermostLevel(inputs: readonly Tensor[], what: string): number {
  let level = 0;
  for (const t of inputs) if (isBatched(t)) level = Math.max(level, (t as BatchTracer).vmapLevel);
  if (!active.includes(level)) {
    throw new GraphError(
      `vmap: ${what} got a batched tensor whose vmap has already returned (a batched tensor escaped from the function, e.g. kept in an outer variable); return it from the function instead`,
    );
  }
  return level;
}

function unwrap(inputs: readonly Tensor[], level: number) {
  const values: Tensor[] = [];
  const dims: (number | null)[] = [];
  let size = -1;
  for (const t of inputs) {
    if (isBatched(t) && (t as BatchTracer).vmapLevel === level) {
      const b = t as BatchTracer;
      values.push(b.value);
      dims.push(b.batchDim);
      size = b.batchSize;
    } else {
      values.push(t);
      dims.push(null);
    }
  }
  return { values, dims, size };
}

function wrap(b: Batched, level: number): Tensor {
  return b.dim === null ? b.value : new BatchTracer(b.value, b.dim, level);
}

function batchedPrimitive<P extends Primitive>(
  rule: Rule<P>,
  inputs: readonly Tensor[],
  params: PrimitiveParams[P],
): Tensor {
  const level = innermostLevel(inputs, rule.name);
  const { values, dims, size } = unwrap(inputs, level);
  const batchRule = batchRules[rule.name] as unknown as BatchRule<P>;
  ruleCalls.set(rule.name, (ruleCalls.get(rule.name) ?? 0) + 1);
  return wrap(batchRule({ rule, values, dims, params, size }), level);
}

batchHooks.apply = batchedPrimitive;
batchHooks.lift = (inputs, run) => {
  const level = innermostLevel(inputs, "an op");
  const { values, dims, size } = unwrap(inputs, level);
  return run(values, dims, size).map((b) => wrap(b, level));
};
batchHooks.rewrap = (t) => {
  const b = t as BatchTracer;
  const leaf = new BatchTracer(b.value, b.batchDim, b.vmapLevel);
  leaf.name = b.name;
  return leaf;
};

// ---- vmap ------------------------------------------------------------------------------------------

/** An argument's batch axis: a number (negative counts from the end), null (not batched), or one per element of an array argument. */
export type InAxis = number | null | readonly (number | null)[];

export interface VmapOptions {
  /** Batch axis of each argument (one value for all arguments). Default 0. */
  inAxes?: InAxis | readonly InAxis[];
  /** Where each output gets the batch axis (one value for all outputs). Default 0. */
  outAxes?: number | readonly number[];
}

type Leaf = { arg: number; element: number | null; tensor: Tensor; axis: number | null };

function axisName(l: Leaf): string {
  return l.element === null ? `argument ${l.arg}` : `argument ${l.arg}[${l.element}]`;
}

function checkAxis(axis: unknown, where: string): number | null {
  if (axis === null) return null;
  if (typeof axis !== "number" || !Number.isInteger(axis)) {
    throw new ValueError(`vmap: ${where} must be an integer axis or null, got ${JSON.stringify(axis)}`);
  }
  return axis;
}

/** The batch axis of every tensor among the arguments, with inAxes checked against the arguments. */
function leavesOf(args: readonly unknown[], inAxes: VmapOptions["inAxes"]): Leaf[] {
  const spec = inAxes === undefined ? 0 : inAxes;
  let perArg: readonly InAxis[];
  if (Array.isArray(spec)) {
    if (spec.length !== args.length) {
      throw new ValueError(
        `vmap: inAxes lists ${spec.length} entries but the function was called with ${args.length} arguments`,
      );
    }
    perArg = spec;
  } else perArg = args.map(() => spec as InAxis);
  const leaves: Leaf[] = [];
  args.forEach((arg, i) => {
    const a = perArg[i];
    if (arg instanceof Tensor) {
      if (Array.isArray(a)) {
        throw new ValueError(`vmap: inAxes[${i}] is a list but argument ${i} is a single tensor`);
      }
      leaves.push({ arg: i, element: null, tensor: arg, axis: checkAxis(a, `inAxes[${i}]`) });
    } else if (Array.isArray(arg) && arg.every((t) => t instanceof Tensor)) {
      if (Array.isArray(a) && a.length !== arg.length) {
        throw new ValueError(
          `vmap: inAxes[${i}] lists ${a.length} axes for argument ${i}, an array of ${arg.length} tensors`,
        );
      }
      arg.forEach((t: Tensor, k) => {
        const ax = Array.isArray(a) ? a[k] : a;
        leaves.push({ arg: i, element: k, tensor: t, axis: checkAxis(ax, `inAxes[${i}]`) });
      });
    } else if (a !== null) {
      throw new ValueError(
        `vmap: argument ${i} is not a tensor or an array of tensors (got ${arg === null ? "null" : typeof arg}); give it inAxes null to pass it to every example unchanged`,
      );
    }
  });
  return leaves;
}

/** x with its batch axis moved from `from` to `to`. */
function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const order = Array.from({ length: x.ndim }, (_, i) => i).filter((i) => i !== from);
  order.splice(to, 0, from);
  return transpose(x, order);
}

function outputAxis(spec: VmapOptions["outAxes"], index: number, count: number, rank: number): number {
  const raw = spec ?? 0;
  let axis: unknown = raw;
  if (Array.isArray(raw)) {
    if (raw.length !== count) {
      throw new ValueError(
        `vmap: outAxes lists ${raw.length} axes but the function returned ${count} outputs`,
      );
    }
    axis = raw[index];
  }
  if (typeof axis !== "number" || !Number.isInteger(axis)) {
    throw new ValueError(`vmap: outAxes must be integer axes, got ${JSON.stringify(raw)}`);
  }
  if (axis < -(rank + 1) || axis > rank) {
    throw new ShapeError(
      `vmap: outAxes ${axis} is out of range for output ${index} of per-example shape ${rank === 0 ? "[] (scalar)" : `rank ${rank}`}; valid: ${-(rank + 1)} to ${rank}`,
    );
  }
  return axis < 0 ? axis + rank + 1 : axis;
}

/**
 * vmap(f, { inAxes, outAxes })(...args): f applied to every example of a batch, as JAX's vmap. inAxes
 * gives each argument's batch axis (null: shared by every example; arrays of tensors take one axis
 * for all or a list); outAxes where the batch axis goes in each output (f returns a tensor or an array
 * of tensors). Nests, and composes with grad in both orders.
 */
export function vmap<A extends unknown[], R extends Tensor | Tensor[] | null>(
  f: (...args: A) => R,
  opts: VmapOptions = {},
): (...args: A) => NonNullable<R> {
  if (typeof f !== "function") throw new ValueError(`vmap: expected a function, got ${typeof f}`);
  if (opts === null || typeof opts !== "object") {
    throw new ValueError(`vmap: options must be an object like { inAxes: [0, null] }, got ${String(opts)}`);
  }
  // R may include null for grad's type (null: f does not depend on x); a null result is an error.
  return (...args: A): NonNullable<R> => {
    const leaves = leavesOf(args, opts.inAxes);
    let size = -1;
    let first: Leaf | null = null;
    for (const l of leaves) {
      if (l.axis === null) continue;
      const rank = l.tensor.ndim;
      if (l.axis < -rank || l.axis >= rank) {
        throw new ShapeError(
          `vmap: inAxes ${l.axis} is out of range for ${axisName(l)} of shape ${formatShape(l.tensor.shape)}; valid: ${rank === 0 ? "none (a 0-d tensor has no axis to batch)" : `${-rank} to ${rank - 1}`}`,
        );
      }
      if (l.axis < 0) l.axis += rank;
      const n = l.tensor.shape[l.axis];
      if (first === null) {
        first = l;
        size = n;
      } else if (n !== size) {
        throw new ShapeError(
          `vmap: batch sizes differ: ${axisName(first)} has ${size} along axis ${first.axis} (shape ${formatShape(first.tensor.shape)}), ${axisName(l)} has ${n} along axis ${l.axis} (shape ${formatShape(l.tensor.shape)})`,
        );
      }
    }
    if (first === null) {
      throw new ValueError(
        "vmap: no argument is batched (every inAxes entry is null); give the batched argument's axis in inAxes",
      );
    }
    const level = nextLevel++;
    active.push(level);
    batchHooks.depth++;
    try {
      const wrapped: unknown[] = args.slice();
      for (const l of leaves) {
        const t = l.axis === null ? l.tensor : new BatchTracer(l.tensor, l.axis, level);
        if (l.element === null) wrapped[l.arg] = t;
        else {
          if (wrapped[l.arg] === args[l.arg]) wrapped[l.arg] = (args[l.arg] as Tensor[]).slice();
          (wrapped[l.arg] as Tensor[])[l.element] = t;
        }
      }
      const out = f(...(wrapped as A));
      if (typeof (out as { then?: unknown } | null)?.then === "function") {
        throw new TapegradError(
          "vmap: the function returned a Promise; vmap's batched tensors live only while it runs, so keep it synchronous",
        );
      }
      const many = Array.isArray(out);
      const outs = (many ? out : [out]) as unknown[];
      const results = outs.map((o, i) => {
        if (!(o instanceof Tensor)) {
          throw new TapegradError(
            `vmap: the function must return a Tensor or an array of Tensors, got ${o === null ? "null (a grad of a function that does not depend on its argument returns null)" : typeof o}${many ? ` at index ${i}` : ""}`,
          );
        }
        const axis = outputAxis(opts.outAxes, i, outs.length, o.ndim);
        if (isBatched(o) && (o as BatchTracer).vmapLevel === level) {
          const b = o as BatchTracer;
          return moveAxis(b.value, b.batchDim, axis);
        }
        // The same for every example (it does not depend on a batched argument): repeated along the batch.
        const shape = o.shape.slice();
        shape.splice(axis, 0, 1);
        const target = shape.slice();
        target[axis] = size;
        return broadcastTo(reshape(o, shape), target);
      });
      return (many ? results : results[0]) as NonNullable<R>;
    } finally {
      active.splice(active.lastIndexOf(level), 1);
      batchHooks.depth--;
    }
  };
}

// ---- making fallbacks visible -----------------------------------------------------------------------

export interface VmapStats {
  /** Primitives batched by a loop over the examples since the last reset, with why. */
  fallbacks: Record<string, FallbackStat>;
  /** How many times each primitive's batching rule ran since the last reset. */
  rules: Partial<Record<Primitive, number>>;
}

/**
 * What vmap did since resetVmapStats(): the loops it ran instead of a batching rule (per primitive,
 * with the reason) and how often each batching rule ran.
 */
export function vmapStats(): VmapStats {
  const fallbacks: Record<string, FallbackStat> = {};
  for (const [name, s] of fallbackStats) fallbacks[name] = { ...s };
  return { fallbacks, rules: Object.fromEntries(ruleCalls) };
}

export function resetVmapStats(): void {
  fallbackStats.clear();
  ruleCalls.clear();
}

/** With debug on, the first loop fallback of each primitive is also reported with console.warn. */
export function setVmapDebug(on: boolean): void {
  fallbackDebug.warn = on;
}

/** The primitives whose batching rule is a loop over the examples, with the reason. */
export function vmapFallbackRules(): { primitive: Primitive; reason: string }[] {
  const out: { primitive: Primitive; reason: string }[] = [];
  for (const [name, rule] of Object.entries(batchRules) as [Primitive, BatchRule<Primitive>][]) {
    if (rule.fallback !== undefined) out.push({ primitive: name, reason: rule.fallback });
  }
  return out;
}
