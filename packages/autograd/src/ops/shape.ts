import { storageOf } from "../batched.js";
import { checkDtype, type DType, INT32_MAX, INT32_MIN } from "../dtype.js";
import { ShapeError, ValueError } from "../errors.js";
import { copyAxisStrided } from "../kernels/along-axis.js";
import { castInto, copyAxisBlock, expand, permute } from "../kernels/layout.js";
import { broadcastShapes, checkShape, formatShape, normalizeAxis, shapesEqual, sizeOf } from "../shape.js";
import { apply } from "../tape.js";
import { Tensor } from "../tensor.js";
import { type BatchRuleTable, batchFirst, materialize, physicalAxis } from "./batching.js";
import type { JvpTable, RuleTable } from "./primitive.js";
import { checkTensor, composite, empty, unbroadcast, uninitialized } from "./util.js";

type ShapePrimitive = "reshape" | "transpose" | "broadcastTo" | "slice" | "pad" | "concat" | "cast";

function axisView(shape: readonly number[], axis: number): { outer: number; inner: number } {
  return { outer: sizeOf(shape.slice(0, axis)), inner: sizeOf(shape.slice(axis + 1)) };
}

export const shapeRules: RuleTable<ShapePrimitive> = {
  // Tensors are contiguous, so a reshape shares the data buffer.
  reshape: {
    name: "reshape",
    forward: ([x], { shape }) => new Tensor(x.data, shape),
    vjp: (g, { inputs: [x] }) => [g.reshape(x.shape as number[])],
  },
  transpose: {
    name: "transpose",
    forward: ([x], { perm }) => {
      const out = uninitialized(
        x.dtype,
        perm.map((p) => x.shape[p]),
      );
      permute(x.data, x.shape, perm, out.data);
      return out;
    },
    vjp: (g, { params: { perm } }) => {
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => {
        inverse[p] = i;
      });
      return [transpose(g, inverse)];
    },
  },
  broadcastTo: {
    name: "broadcastTo",
    forward: ([x], { shape }) => {
      const out = uninitialized(x.dtype, shape);
      expand(x.data, x.shape, shape, out.data);
      return out;
    },
    vjp: (g, { inputs: [x] }) => [unbroadcast(g, x.shape)],
  },
  slice: {
    name: "slice",
    forward: ([x], { axis, start, end, step }) => {
      const shape = x.shape.slice();
      const count = stridedCount(start, end, step);
      shape[axis] = count;
      const out = uninitialized(x.dtype, shape);
      const { outer, inner } = axisView(x.shape, axis);
      // step 1 is a block copy per outer index (the fast path); larger steps copy row by row.
      if (step === 1) copyAxisBlock(x.data, x.shape[axis], start, out.data, count, 0, outer, inner, count);
      else copyAxisStrided(x.data, x.shape[axis], start, step, out.data, count, outer, inner);
      return out;
    },
    vjp: (g, { inputs: [x], params: { axis, start, end, step } }) => {
      if (step === 1) return [pad(g, axis, start, x.shape[axis] - end)];
      return [spreadStrided(g, axis, start, step, x.shape[axis])];
    },
  },
  // Zero padding along one axis: the transpose of slice.
  pad: {
    name: "pad",
    forward: ([x], { axis, before, after }) => {
      const shape = x.shape.slice();
      shape[axis] = x.shape[axis] + before + after;
      const out = empty(x.dtype, shape);
      const { outer, inner } = axisView(x.shape, axis);
      copyAxisBlock(x.data, x.shape[axis], 0, out.data, shape[axis], before, outer, inner, x.shape[axis]);
      return out;
    },
    vjp: (g, { inputs: [x], params: { axis, before } }) => [slice(g, axis, before, before + x.shape[axis])],
  },
  concat: {
    name: "concat",
    forward: (xs, { axis }) => {
      const shape = xs[0].shape.slice();
      shape[axis] = xs.reduce((s, x) => s + x.shape[axis], 0);
      const out = uninitialized(xs[0].dtype, shape);
      const { outer, inner } = axisView(shape, axis);
      let at = 0;
      for (const x of xs) {
        copyAxisBlock(x.data, x.shape[axis], 0, out.data, shape[axis], at, outer, inner, x.shape[axis]);
        at += x.shape[axis];
      }
      return out;
    },
    vjp: (g, { inputs, params: { axis } }, needs) => {
      let at = 0;
      return inputs.map((x, i) => {
        const start = at;
        at += x.shape[axis];
        return needs[i] ? slice(g, axis, start, at) : null;
      });
    },
  },
  cast: {
    name: "cast",
    forward: ([x], { dtype }) => {
      const out = uninitialized(dtype, x.shape);
      castInto(x.data, out.data);
      return out;
    },
    vjp: (g, { inputs: [x] }) => [x.dtype === "int32" ? null : cast(g, x.dtype)],
  },
};

/**
 * Forward mode: every layout primitive is linear, so the tangent goes through the same primitive with
 * the same parameters (concat fills the inputs without a tangent with zeros).
 */
export const shapeJvpRules: JvpTable<ShapePrimitive> = {
  reshape: ([t], { params }) => (t === null ? null : apply(shapeRules.reshape, [t], params)),
  transpose: ([t], { params }) => (t === null ? null : apply(shapeRules.transpose, [t], params)),
  broadcastTo: ([t], { params }) => (t === null ? null : apply(shapeRules.broadcastTo, [t], params)),
  slice: ([t], { params }) => (t === null ? null : apply(shapeRules.slice, [t], params)),
  pad: ([t], { params }) => (t === null ? null : apply(shapeRules.pad, [t], params)),
  concat: (ts, { inputs, params }) => {
    if (ts.every((t) => t === null)) return null;
    const parts = ts.map((t, i) => t ?? empty(inputs[i].dtype, inputs[i].shape));
    return apply(shapeRules.concat, parts, params);
  },
  cast: ([t], { params }) => (t === null ? null : apply(shapeRules.cast, [t], params)),
};

/** Reshape to `shape` (one -1 is inferred). Shares the data buffer. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, "reshape");
  if (!Array.isArray(shape)) throw new ShapeError(`reshape: shape must be an array, got ${String(shape)}`);
  const target = shape.slice();
  const free = target.indexOf(-1);
  if (free !== -1) {
    if (target.indexOf(-1, free + 1) !== -1) {
      throw new ShapeError(`reshape: only one -1 is allowed, got ${formatShape(shape)}`);
    }
    const known = sizeOf(target.filter((_, i) => i !== free));
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(
        `reshape: cannot reshape ${formatShape(x.shape)} (${x.size} elements) into ${formatShape(shape)}`,
      );
    }
    target[free] = x.size / known;
  }
  checkShape(target, "reshape");
  if (sizeOf(target) !== x.size) {
    throw new ShapeError(
      `reshape: cannot reshape ${formatShape(x.shape)} (${x.size} elements) into ${formatShape(shape)} (${sizeOf(target)} elements)`,
    );
  }
  if (shapesEqual(target, x.shape)) return x;
  return apply(shapeRules.reshape, [x], { shape: target });
}

/** Permute axes, NumPy style; without `axes` the axes are reversed. */
export function transpose(x: Tensor, axes?: readonly number[]): Tensor {
  checkTensor(x, "transpose");
  if (axes !== undefined && !Array.isArray(axes)) {
    throw new ShapeError(`transpose: axes must be an array of axes (a permutation), got ${String(axes)}`);
  }
  const nd = x.ndim;
  const perm =
    axes === undefined
      ? Array.from({ length: nd }, (_, i) => nd - 1 - i)
      : axes.map((a) => normalizeAxis(a, nd, "transpose"));
  if (perm.length !== nd || new Set(perm).size !== nd) {
    throw new ShapeError(
      `transpose: axes ${JSON.stringify(axes)} are not a permutation of the ${nd} axes of ${formatShape(x.shape)}`,
    );
  }
  if (perm.every((p, i) => p === i)) return x;
  return apply(shapeRules.transpose, [x], { perm });
}

export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor(x, "broadcastTo");
  const target = checkShape(shape, "broadcastTo");
  let ok = target.length >= x.ndim;
  if (ok) {
    try {
      ok = shapesEqual(broadcastShapes(x.shape, target), target);
    } catch {
      ok = false;
    }
  }
  if (!ok)
    throw new ShapeError(`broadcastTo: cannot broadcast ${formatShape(x.shape)} to ${formatShape(shape)}`);
  if (shapesEqual(x.shape, target)) return x;
  return apply(shapeRules.broadcastTo, [x], { shape: target });
}

/** Removes `axis` (which must have size 1), or every size-1 axis when omitted. */
export const squeeze = composite("squeeze", function squeeze(x: Tensor, axis?: number): Tensor {
  checkTensor(x, "squeeze");
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const ax = normalizeAxis(axis, x.ndim, "squeeze");
  if (x.shape[ax] !== 1) {
    throw new ShapeError(
      `squeeze: axis ${axis} of ${formatShape(x.shape)} has size ${x.shape[ax]}, expected 1`,
    );
  }
  return reshape(
    x,
    x.shape.filter((_, i) => i !== ax),
  );
});

/** Inserts a size-1 axis at `axis` (−1 appends). */
export const unsqueeze = composite("unsqueeze", function unsqueeze(x: Tensor, axis: number): Tensor {
  checkTensor(x, "unsqueeze");
  const ax = normalizeAxis(axis, x.ndim + 1, "unsqueeze");
  const shape = x.shape.slice();
  shape.splice(ax, 0, 1);
  return reshape(x, shape);
});

/** Entries start, start + step, … below end. */
function stridedCount(start: number, end: number, step: number): number {
  return Math.max(0, Math.ceil((end - start) / step));
}

/**
 * The transpose of a strided slice, from primitives: each row of g is followed by step − 1 zero rows
 * (pad on a new axis, then merge it), then the whole is shifted to `start` and cut or padded to `size`.
 */
function spreadStrided(g: Tensor, axis: number, start: number, step: number, size: number): Tensor {
  const count = g.shape[axis];
  const spread = unsqueeze(g, axis + 1).pad(axis + 1, 0, step - 1);
  const merged = spread.shape.slice();
  merged.splice(axis, 2, count * step);
  const rows = pad(reshape(spread, merged), axis, start, 0);
  const length = start + count * step;
  return length >= size ? slice(rows, axis, 0, size) : pad(rows, axis, 0, size - length);
}

/**
 * Slice [start, end) along `axis`, every `step`-th entry (step >= 1, default 1), as Python's
 * x[start:end:step]: negative indices count from the end, bounds are clamped.
 */
export function slice(x: Tensor, axis: number, start: number, end?: number, step = 1): Tensor {
  checkTensor(x, "slice");
  const ax = normalizeAxis(axis, x.ndim, "slice");
  const n = x.shape[ax];
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
    throw new ValueError(`slice: start and end must be integers, got ${start} and ${end}`);
  }
  if (!Number.isInteger(step) || step < 1) {
    throw new ValueError(
      `slice: step must be an integer >= 1, got ${step} (slicing axis ${axis} of ${formatShape(x.shape)}); use flip for a reversed order`,
    );
  }
  const clampIndex = (i: number): number => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  const s = clampIndex(start);
  const e = Math.max(s, end === undefined ? n : clampIndex(end));
  if (s === 0 && e === n && step === 1) return x;
  return apply(shapeRules.slice, [x], { axis: ax, start: s, end: e, step });
}

/** Zero padding along one axis. */
export function pad(x: Tensor, axis: number, before: number, after: number): Tensor {
  checkTensor(x, "pad");
  const ax = normalizeAxis(axis, x.ndim, "pad");
  if (!Number.isInteger(before) || !Number.isInteger(after) || before < 0 || after < 0) {
    throw new ValueError(`pad: before and after must be integers >= 0, got ${before} and ${after}`);
  }
  if (before === 0 && after === 0) return x;
  return apply(shapeRules.pad, [x], { axis: ax, before, after });
}

/** Joins tensors along an existing axis; all other dimensions must match. */
export const concat = composite("concat", function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0)
    throw new ValueError("concat: expected a non-empty array of tensors");
  tensors.forEach((t, i) => {
    checkTensor(t, "concat", `tensors[${i}]`);
  });
  const first = tensors[0];
  const ax = normalizeAxis(axis, first.ndim, "concat");
  let dtype: DType = first.dtype;
  for (const t of tensors)
    if (t.dtype !== dtype) dtype = t.dtype === "float64" || dtype === "float64" ? "float64" : "float32";
  tensors.forEach((t, i) => {
    const same =
      t.ndim === first.ndim && t.shape.every((d: number, k: number) => k === ax || d === first.shape[k]);
    if (!same) {
      throw new ShapeError(
        `concat: tensors[${i}] has shape ${formatShape(t.shape)}, which does not match ${formatShape(first.shape)} outside axis ${ax}`,
      );
    }
  });
  const inputs = tensors.map((t) => (t.dtype === dtype ? t : cast(t, dtype)));
  if (inputs.length === 1) return inputs[0];
  return apply(shapeRules.concat, inputs, { axis: ax });
});

/** Joins tensors of equal shape along a new axis. */
export const stack = composite("stack", function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0)
    throw new ValueError("stack: expected a non-empty array of tensors");
  const first = checkTensor(tensors[0], "stack", "tensors[0]");
  tensors.forEach((t, i) => {
    checkTensor(t, "stack", `tensors[${i}]`);
    if (!shapesEqual(t.shape, first.shape)) {
      throw new ShapeError(
        `stack: tensors[${i}] has shape ${formatShape(t.shape)}, expected ${formatShape(first.shape)} like tensors[0]`,
      );
    }
  });
  const ax = normalizeAxis(axis, first.ndim + 1, "stack");
  return concat(
    tensors.map((t) => unsqueeze(t, ax)),
    ax,
  );
});

/**
 * Converts to another dtype (differentiable between float dtypes). To int32, a float truncates toward
 * zero, as torch's .to(torch.int32) does; NaN, ±Infinity and values whose truncation lies outside
 * [-2^31, 2^31 - 1] are a ValueError (torch gives an unspecified int there, C++ undefined behaviour).
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  checkTensor(x, "cast");
  checkDtype(dtype, "cast");
  if (x.dtype === dtype) return x;
  if (dtype === "int32") {
    const d = storageOf(x); // every example's values when batched (vmap)
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (!(v > INT32_MIN - 1 && v < INT32_MAX + 1)) {
        throw new ValueError(
          `cast: the value ${v} at flat index ${i} cannot be converted to int32 (a finite number whose truncation lies in [${INT32_MIN}, ${INT32_MAX}]); tensor of shape ${formatShape(x.shape)}`,
        );
      }
    }
  }
  return apply(shapeRules.cast, [x], { dtype });
}

/** A tensor sharing x's data, cut from the graph (the free-function form of x.detach()). */
export function detach(x: Tensor): Tensor {
  return checkTensor(x, "detach").detach();
}

// ---- batching rules (vmap) -------------------------------------------------------------------------

/** Layout ops move the batch axis to the front only when their target is given as a whole shape or order. */
export const shapeBatchRules: BatchRuleTable<ShapePrimitive> = {
  reshape: ({ rule, values: [x], dims: [d], params: { shape } }) => {
    const front = batchFirst(x, d as number);
    return { value: apply(rule, [front], { shape: [front.shape[0], ...shape] }), dim: 0 };
  },
  transpose: ({ rule, values: [x], dims: [d], params: { perm } }) => {
    const dim = d as number;
    return { value: apply(rule, [x], { perm: [dim, ...perm.map((p) => physicalAxis(p, dim))] }), dim: 0 };
  },
  broadcastTo: ({ rule, values: [x], dims: [d], params: { shape } }) => {
    const front = batchFirst(x, d as number);
    const size = front.shape[0];
    const lead = shape.length - (x.ndim - 1);
    const padded = reshape(front, [size, ...new Array<number>(lead).fill(1), ...front.shape.slice(1)]);
    return { value: apply(rule, [padded], { shape: [size, ...shape] }), dim: 0 };
  },
  slice: ({ rule, values: [x], dims: [d], params }) => {
    const dim = d as number;
    return { value: apply(rule, [x], { ...params, axis: physicalAxis(params.axis, dim) }), dim };
  },
  pad: ({ rule, values: [x], dims: [d], params }) => {
    const dim = d as number;
    return { value: apply(rule, [x], { ...params, axis: physicalAxis(params.axis, dim) }), dim };
  },
  concat: ({ rule, values, dims, params: { axis }, size }) => {
    const d0 = dims[0];
    if (d0 !== null && dims.every((d) => d === d0)) {
      return { value: apply(rule, values, { axis: physicalAxis(axis, d0) }), dim: d0 };
    }
    // Unbatched pieces are copied for every example: the result holds them once per example anyway.
    const pieces = values.map((v, i) => materialize(v, dims[i], size));
    return { value: apply(rule, pieces, { axis: axis + 1 }), dim: 0 };
  },
  cast: ({ rule, values: [x], dims: [d], params }) => ({ value: apply(rule, [x], params), dim: d }),
};
