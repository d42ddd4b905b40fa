import { isBatched, liftBatched } from "../batched.js";
import { ShapeError, ValueError } from "../errors.js";
import { argsortAxis, scatterAddAlong, takeAlong } from "../kernels/along-axis.js";
import { checkShape, formatShape, normalizeAxis, sizeOf } from "../shape.js";
import { apply, recordNonDifferentiable } from "../tape.js";
import { Tensor } from "../tensor.js";
import { type BatchRuleTable, materialize, physicalAxis } from "./batching.js";
import type { JvpTable, RuleTable } from "./primitive.js";
import { slice } from "./shape.js";
import { checkTensor, composite, empty, uninitialized } from "./util.js";

export const alongAxisRules: RuleTable<"takeAlongAxis" | "scatterAddAlongAxis"> = {
  // out[p] = x[p with its axis coordinate replaced by indices[p]]; out has the shape of indices.
  takeAlongAxis: {
    name: "takeAlongAxis",
    forward: ([x, index], { axis }) => {
      const out = uninitialized(x.dtype, index.shape);
      takeAlong(x.data, x.shape, index.data as Int32Array, index.shape, axis, out.data);
      return out;
    },
    vjp: (g, { inputs: [x, index], params: { axis } }) => [
      apply(alongAxisRules.scatterAddAlongAxis, [g, index], { axis, shape: x.shape.slice() }),
      null,
    ],
  },
  // The transpose: g[p] is added at (p with its axis coordinate replaced by indices[p]) of zeros(shape).
  scatterAddAlongAxis: {
    name: "scatterAddAlongAxis",
    forward: ([g, index], { axis, shape }) => {
      const out = empty(g.dtype, shape);
      scatterAddAlong(g.data, index.data as Int32Array, index.shape, axis, out.data, shape);
      return out;
    },
    vjp: (ct, { inputs: [, index], params: { axis } }) => [
      apply(alongAxisRules.takeAlongAxis, [ct, index], { axis }),
      null,
    ],
  },
};

/** Forward mode: both are linear in their float input; the int32 indices carry no tangent. */
export const alongAxisJvpRules: JvpTable<"takeAlongAxis" | "scatterAddAlongAxis"> = {
  takeAlongAxis: ([t], { inputs: [, index], params }) =>
    t === null ? null : apply(alongAxisRules.takeAlongAxis, [t, index], params),
  scatterAddAlongAxis: ([t], { inputs: [, index], params }) =>
    t === null ? null : apply(alongAxisRules.scatterAddAlongAxis, [t, index], params),
};

/**
 * Checks indices against the target shape (int32, same rank, no larger than the target off the axis,
 * in range along it) and returns them with negative entries counted from the end.
 */
function checkIndices(indices: unknown, target: readonly number[], axis: number, op: string): Tensor {
  if (!(indices instanceof Tensor)) {
    throw new ValueError(
      `${op}: indices must be an int32 Tensor, got ${indices === null ? "null" : typeof indices}`,
    );
  }
  if (indices.dtype !== "int32") {
    throw new ValueError(
      `${op}: indices must be an int32 tensor, got ${indices.dtype} of shape ${formatShape(indices.shape)}; cast with .cast("int32")`,
    );
  }
  if (indices.ndim !== target.length) {
    throw new ShapeError(
      `${op}: indices of shape ${formatShape(indices.shape)} must have the rank of ${formatShape(target)} (${target.length})`,
    );
  }
  for (let d = 0; d < target.length; d++) {
    if (d !== axis && indices.shape[d] > target[d]) {
      throw new ShapeError(
        `${op}: indices of shape ${formatShape(indices.shape)} exceed ${formatShape(target)} in dimension ${d}, which is not the axis ${axis}`,
      );
    }
  }
  return checkIndexValues(indices, target[axis], axis, target, op);
}

/** Every index in [−n, n), negative ones counted from the end (checked on the batch value if batched). */
function checkIndexValues(
  indices: Tensor,
  n: number,
  axis: number,
  target: readonly number[],
  op: string,
): Tensor {
  const lifted = liftBatched([indices], ([v], [d]) => ({
    value: checkIndexValues(v, n, axis, target, op),
    dim: d,
  }));
  if (lifted !== null) return lifted;
  const data = indices.data;
  let normalized: Int32Array | null = null;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < -n || v >= n) {
      throw new ShapeError(
        `${op}: index ${v} (flat position ${i}) is out of range for axis ${axis} of size ${n} in ${formatShape(target)}`,
      );
    }
    if (v < 0) {
      normalized ??= Int32Array.from(data);
      normalized[i] = v + n;
    }
  }
  return normalized === null ? indices : new Tensor(normalized, indices.shape);
}

/**
 * torch.gather / np.take_along_axis: out[p] = x[p with its `axis` coordinate replaced by indices[p]].
 * indices: int32, x's rank, no larger than x off the axis; negative entries count from the end.
 * The gradient scatter-adds into x's shape.
 */
export const takeAlongAxis = composite(
  "takeAlongAxis",
  function takeAlongAxis(x: Tensor, indices: Tensor, axis: number): Tensor {
    checkTensor(x, "takeAlongAxis");
    const ax = normalizeAxis(axis, x.ndim, "takeAlongAxis");
    const index = checkIndices(indices, x.shape, ax, "takeAlongAxis");
    return apply(alongAxisRules.takeAlongAxis, [x, index], { axis: ax });
  },
);

/**
 * torch.zeros(shape).scatter_add(axis, indices, src): src[p] is added at (p with its `axis`
 * coordinate replaced by indices[p]). The transpose of takeAlongAxis; its gradient gathers.
 */
export const scatterAddAlongAxis = composite(
  "scatterAddAlongAxis",
  function scatterAddAlongAxis(src: Tensor, indices: Tensor, axis: number, shape: readonly number[]): Tensor {
    checkTensor(src, "scatterAddAlongAxis");
    const target = checkShape(shape, "scatterAddAlongAxis");
    const ax = normalizeAxis(axis, target.length, "scatterAddAlongAxis");
    const index = checkIndices(indices, target, ax, "scatterAddAlongAxis");
    if (src.ndim !== index.ndim || src.shape.some((d, i) => d !== index.shape[i])) {
      throw new ShapeError(
        `scatterAddAlongAxis: src of shape ${formatShape(src.shape)} must have the shape of indices ${formatShape(index.shape)}`,
      );
    }
    return apply(alongAxisRules.scatterAddAlongAxis, [src, index], { axis: ax, shape: target });
  },
);

export interface SortOptions {
  /** Largest first (default false). */
  descending?: boolean;
}

function flag(value: unknown, name: string, op: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean")
    throw new ValueError(`${op}: ${name} must be true or false, got ${String(value)}`);
  return value;
}

function sortIndices(
  x: Tensor,
  axis: number,
  descending: boolean,
  op: string,
): { ax: number; indices: Tensor } {
  if (x.ndim === 0) return { ax: 0, indices: empty("int32", []) };
  const ax = normalizeAxis(axis, x.ndim, op);
  if (isBatched(x)) {
    const indices = liftBatched([x], ([v], [d]) => {
      const dim = d as number;
      return { value: sortIndices(v, physicalAxis(ax, dim), descending, op).indices, dim };
    });
    return { ax, indices: indices as Tensor };
  }
  const indices = empty("int32", x.shape);
  const outer = sizeOf(x.shape.slice(0, ax));
  const inner = sizeOf(x.shape.slice(ax + 1));
  argsortAxis(x.data, indices.data as Int32Array, outer, x.shape[ax], inner, descending);
  recordNonDifferentiable("argsort", { axis: ax, descending }, [x], indices);
  return { ax, indices };
}

function optionsObject<T>(opts: T | undefined, op: string): Partial<T> {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== "object")
    throw new ValueError(`${op}: options must be an object, got ${String(opts)}`);
  return opts;
}

/**
 * Sorts along `axis` (last by default): values (differentiable: a takeAlongAxis of x) and int32
 * indices. Stable in both directions; NaN sorts as the largest value, as in torch.sort.
 */
export const sort = composite("sort", function sort(x: Tensor, axis = -1, opts?: SortOptions): {
  values: Tensor;
  indices: Tensor;
} {
  checkTensor(x, "sort");
  const o = optionsObject(opts, "sort");
  const descending = flag(o.descending, "descending", "sort", false);
  const { ax, indices } = sortIndices(x, axis, descending, "sort");
  if (x.ndim === 0) return { values: x, indices };
  return { values: apply(alongAxisRules.takeAlongAxis, [x, indices], { axis: ax }), indices };
});

/** The int32 indices that sort x along `axis` (stable; NaN largest). Not differentiable. */
export const argsort = composite(
  "argsort",
  function argsort(x: Tensor, axis = -1, opts?: SortOptions): Tensor {
    checkTensor(x, "argsort");
    const o = optionsObject(opts, "argsort");
    return sortIndices(x, axis, flag(o.descending, "descending", "argsort", false), "argsort").indices;
  },
);

export interface TopkOptions {
  /** The k largest (default true) or the k smallest. */
  largest?: boolean;
}

/**
 * The k largest (or smallest) entries along `axis`, in order, with their int32 indices. Among equal
 * values the earlier index comes first. values is differentiable (a takeAlongAxis of x).
 */
export const topk = composite("topk", function topk(x: Tensor, k: number, axis = -1, opts?: TopkOptions): {
  values: Tensor;
  indices: Tensor;
} {
  checkTensor(x, "topk");
  const o = optionsObject(opts, "topk");
  const largest = flag(o.largest, "largest", "topk", true);
  const n = x.ndim === 0 ? 1 : x.shape[normalizeAxis(axis, x.ndim, "topk")];
  if (!Number.isInteger(k) || k < 0 || k > n) {
    throw new ValueError(
      `topk: k must be an integer from 0 to ${n} (the size of axis ${axis} of ${formatShape(x.shape)}), got ${k}`,
    );
  }
  const { ax, indices: all } = sortIndices(x, axis, largest, "topk");
  if (x.ndim === 0) return { values: x, indices: all };
  const indices = slice(all, ax, 0, k);
  return { values: apply(alongAxisRules.takeAlongAxis, [x, indices], { axis: ax }), indices };
});

// ---- batching rules (vmap) -------------------------------------------------------------------------

/** Both pick per position, so values and indices get the batch axis in front (indices are copied if shared). */
export const alongAxisBatchRules: BatchRuleTable<"takeAlongAxis" | "scatterAddAlongAxis"> = {
  takeAlongAxis: ({ rule, values: [x, index], dims: [dx, di], params: { axis }, size }) => ({
    value: apply(rule, [materialize(x, dx, size), materialize(index, di, size)], { axis: axis + 1 }),
    dim: 0,
  }),
  scatterAddAlongAxis: ({ rule, values: [g, index], dims: [dg, di], params: { axis, shape }, size }) => ({
    value: apply(rule, [materialize(g, dg, size), materialize(index, di, size)], {
      axis: axis + 1,
      shape: [size, ...shape],
    }),
    dim: 0,
  }),
};
