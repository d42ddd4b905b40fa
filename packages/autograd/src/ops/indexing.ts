import { liftBatched } from "../batched.js";
import { ShapeError, ValueError } from "../errors.js";
import { gatherRows, scatterAddRows } from "../kernels/layout.js";
import { formatShape, normalizeAxis, sizeOf } from "../shape.js";
import { apply } from "../tape.js";
import { Tensor } from "../tensor.js";
import { alongAxisRules } from "./along-axis.js";
import { type BatchRuleTable, materialize, physicalAxis } from "./batching.js";
import type { JvpTable, RuleTable } from "./primitive.js";
import { broadcastTo, reshape } from "./shape.js";
import { checkTensor, empty } from "./util.js";

function view(shape: readonly number[], axis: number): { outer: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), inner: sizeOf(shape.slice(axis + 1)) };
}

export const indexingRules: RuleTable<"gather" | "scatterAdd"> = {
  // out[..., j, ...] = x[..., index[j], ...] along `axis` (torch.index_select).
  gather: {
    name: "gather",
    forward: ([x, index], { axis }) => {
      const shape = x.shape.slice();
      shape[axis] = index.size;
      const out = empty(x.dtype, shape);
      const { outer, inner } = view(x.shape, axis);
      gatherRows(x.data, x.shape[axis], index.data as Int32Array, out.data, outer, inner);
      return out;
    },
    vjp: (g, { inputs: [x, index], params: { axis } }) => [scatterAdd(g, index, axis, x.shape[axis]), null],
  },
  // The transpose of gather: rows of g are added into a zero tensor at the indexed positions.
  scatterAdd: {
    name: "scatterAdd",
    forward: ([g, index], { axis, size }) => {
      const shape = g.shape.slice();
      shape[axis] = size;
      const out = empty(g.dtype, shape);
      const { outer, inner } = view(shape, axis);
      scatterAddRows(g.data, index.data as Int32Array, out.data, size, outer, inner);
      return out;
    },
    vjp: (ct, { inputs: [, index], params: { axis } }) => [gather(ct, index, axis), null],
  },
};

/** Forward mode: both are linear in their float input; the int32 indices carry no tangent. */
export const indexingJvpRules: JvpTable<"gather" | "scatterAdd"> = {
  gather: ([t], { inputs: [, index], params }) =>
    t === null ? null : apply(indexingRules.gather, [t, index], params),
  scatterAdd: ([t], { inputs: [, index], params }) =>
    t === null ? null : apply(indexingRules.scatterAdd, [t, index], params),
};

function toIndex(indices: Tensor | readonly number[], op: string): Tensor {
  if (indices instanceof Tensor) {
    if (indices.dtype !== "int32") {
      throw new ValueError(
        `${op}: indices must be an int32 tensor, got ${indices.dtype}; cast with .cast("int32")`,
      );
    }
    if (indices.ndim !== 1)
      throw new ShapeError(`${op}: indices must be 1-D, got shape ${formatShape(indices.shape)}`);
    return indices;
  }
  if (!Array.isArray(indices))
    throw new ValueError(`${op}: indices must be an int32 Tensor or an array of integers`);
  const data = new Int32Array(indices.length);
  indices.forEach((v, i) => {
    if (!Number.isInteger(v)) throw new ValueError(`${op}: index ${i} is ${v}, expected an integer`);
    data[i] = v;
  });
  return new Tensor(data, [indices.length]);
}

function checkRange(index: Tensor, size: number, op: string, shape: readonly number[], axis: number): Tensor {
  const lifted = liftBatched([index], ([v], [d]) => ({
    value: checkRange(v, size, op, shape, axis),
    dim: d,
  }));
  if (lifted !== null) return lifted;
  const d = index.data;
  let normalized: Int32Array | null = null;
  for (let i = 0; i < d.length; i++) {
    let v = d[i];
    if (v < -size || v >= size) {
      throw new ShapeError(
        `${op}: index ${v} (position ${i}) is out of range for axis ${axis} of size ${size} in ${formatShape(shape)}`,
      );
    }
    if (v < 0) {
      normalized ??= Int32Array.from(d);
      v += size;
      normalized[i] = v;
    }
  }
  return normalized === null ? index : new Tensor(normalized, index.shape);
}

/** Selects entries along `axis` by int32 indices (negative ones count from the end). Its gradient scatter-adds. */
export function gather(x: Tensor, indices: Tensor | readonly number[], axis = 0): Tensor {
  checkTensor(x, "gather");
  const ax = normalizeAxis(axis, x.ndim, "gather");
  const index = checkRange(toIndex(indices, "gather"), x.shape[ax], "gather", x.shape, ax);
  return apply(indexingRules.gather, [x, index], { axis: ax });
}

/** Adds slices of g (along `axis`) into a zero tensor of length `size` at the given indices. */
export function scatterAdd(
  g: Tensor,
  indices: Tensor | readonly number[],
  axis: number,
  size: number,
): Tensor {
  checkTensor(g, "scatterAdd");
  if (!Number.isInteger(size) || size < 0) {
    const shown = typeof size === "string" ? JSON.stringify(size) : String(size);
    throw new ValueError(
      `scatterAdd: size must be an integer >= 0, got ${shown} (the length of axis ${String(axis)} of the result)`,
    );
  }
  const ax = normalizeAxis(axis, g.ndim, "scatterAdd");
  const index = checkRange(toIndex(indices, "scatterAdd"), size, "scatterAdd", [size], ax);
  if (index.size !== g.shape[ax]) {
    throw new ShapeError(
      `scatterAdd: ${index.size} indices for axis ${ax} of size ${g.shape[ax]} in ${formatShape(g.shape)}`,
    );
  }
  return apply(indexingRules.scatterAdd, [g, index], { axis: ax, size });
}

// ---- batching rules (vmap) -------------------------------------------------------------------------

/**
 * Per-example indices (int32 [n] each, [B, n] together) spread to the full shape `target` (batch axis
 * in front, n at axis + 1) for takeAlongAxis / scatterAddAlongAxis, which pick per position.
 */
function spreadIndex(index: Tensor, dim: number, axis: number, target: readonly number[]): Tensor {
  const front = materialize(index, dim, target[0]);
  const shape = target.map((_, i) => (i === 0 ? target[0] : i === axis + 1 ? front.shape[1] : 1));
  return broadcastTo(reshape(front, shape), target);
}

export const indexingBatchRules: BatchRuleTable<"gather" | "scatterAdd"> = {
  // Shared indices select along the shifted axis; per-example indices become a takeAlongAxis.
  gather: ({ rule, values: [x, index], dims: [dx, di], params: { axis }, size }) => {
    if (di === null) {
      const dim = dx as number;
      return { value: apply(rule, [x, index], { axis: physicalAxis(axis, dim) }), dim };
    }
    const xf = materialize(x, dx, size);
    const target = xf.shape.slice();
    target[axis + 1] = index.shape[di === 0 ? 1 : 0];
    const full = spreadIndex(index, di, axis, target);
    return { value: apply(alongAxisRules.takeAlongAxis, [xf, full], { axis: axis + 1 }), dim: 0 };
  },
  scatterAdd: ({ rule, values: [g, index], dims: [dg, di], params: { axis, size: length }, size }) => {
    if (di === null) {
      const dim = dg as number;
      return { value: apply(rule, [g, index], { axis: physicalAxis(axis, dim), size: length }), dim };
    }
    const gf = materialize(g, dg, size);
    const full = spreadIndex(index, di, axis, gf.shape);
    const shape = gf.shape.slice();
    shape[axis + 1] = length;
    return {
      value: apply(alongAxisRules.scatterAddAlongAxis, [gf, full], { axis: axis + 1, shape }),
      dim: 0,
    };
  },
};
