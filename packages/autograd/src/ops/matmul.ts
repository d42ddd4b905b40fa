import { ShapeError, ValueError } from "../errors.js";
import { gemm } from "../kernels/gemm.js";
import type { FloatArray } from "../kernels/types.js";
import { broadcastShapes, formatShape, shapesEqual, sizeOf, stridesOf } from "../shape.js";
import { apply } from "../tape.js";
import type { Tensor } from "../tensor.js";
import { type BatchRuleTable, batchFirst } from "./batching.js";
import type { JvpTable, RuleTable } from "./primitive.js";
import { reshape } from "./shape.js";
import {
  addTangents,
  checkTensor,
  coerce,
  composite,
  requireFloat,
  unbroadcast,
  uninitialized,
} from "./util.js";

/** Rows and columns of op(X) for a stored matrix X of shape [..., r, c]. */
function opDims(x: Tensor, trans: boolean): [number, number] {
  const r = x.shape[x.shape.length - 2];
  const c = x.shape[x.shape.length - 1];
  return trans ? [c, r] : [r, c];
}

/**
 * The matmul primitive: op(A)·op(B) over inputs of rank >= 2 whose leading (batch) dims broadcast.
 * Transpose flags let backward form A·Bᵀ and Aᵀ·B without materialising a transposed copy.
 */
export const matmulRules: RuleTable<"matmul"> = {
  matmul: {
    name: "matmul",
    forward: ([a, b], { transA, transB }) => {
      const [m, k] = opDims(a, transA);
      const [k2, n] = opDims(b, transB);
      const batchA = a.shape.slice(0, -2);
      const batchB = b.shape.slice(0, -2);
      const batch = shapesEqual(batchA, batchB) ? batchA : broadcastShapes(batchA, batchB, "matmul");
      const out = uninitialized(a.dtype, [...batch, m, n]);
      if (k !== k2) throw new ShapeError(`matmul: inner dimensions differ (${k} != ${k2})`);
      const count = sizeOf(batch);
      // One matrix B for a batch of untransposed A (a Linear layer on [B, T, in]): A's rows of every batch
      // entry are consecutive, so the whole batch is one product with count·m rows (the same bits as
      // count products, without packing B count times).
      const shared = count > 1 && !transA && sizeOf(batchB) === 1 && sizeOf(batchA) === count;
      if (count === 1 || shared) {
        gemm(
          a.data as FloatArray,
          0,
          b.data as FloatArray,
          0,
          out.data as FloatArray,
          0,
          count * m,
          n,
          k,
          transA,
          transB,
        );
        return out;
      }
      // Offsets of each batch entry in A and B, following broadcasting (stride 0 on broadcast dims).
      const aOffsets = batchOffsets(batchA, batch, m * k);
      const bOffsets = batchOffsets(batchB, batch, k * n);
      for (let i = 0; i < count; i++) {
        gemm(
          a.data as FloatArray,
          aOffsets[i],
          b.data as FloatArray,
          bOffsets[i],
          out.data as FloatArray,
          i * m * n,
          m,
          n,
          k,
          transA,
          transB,
        );
      }
      return out;
    },
    vjp: (g, { inputs: [a, b], params: { transA, transB } }, needs) => {
      // C = op(A)·op(B). Each case writes dA, dB as single products with flags; no transposed copies.
      let da: Tensor | null = null;
      let db: Tensor | null = null;
      if (needs[0]) {
        if (!transA)
          da = matmulFlags(g, b, false, !transB); // dA = G·op(B)ᵀ
        else da = matmulFlags(b, g, transB, true); // dA = op(B)·Gᵀ
        da = unbroadcast(da, a.shape);
      }
      if (needs[1]) {
        if (b.ndim === 2 && a.ndim > 2 && !transA) {
          // B shared by a batch of A: the batch folds into the product's inner dimension, one product
          // instead of one per batch entry and a sum over them.
          const rows = sizeOf(a.shape.slice(0, -1));
          const a2 = reshape(a, [rows, a.shape[a.ndim - 1]]);
          const g2 = reshape(g, [rows, g.shape[g.ndim - 1]]);
          db = transB ? matmulFlags(g2, a2, true, false) : matmulFlags(a2, g2, true, false);
        } else {
          if (!transB)
            db = matmulFlags(a, g, !transA, false); // dB = op(A)ᵀ·G
          else db = matmulFlags(g, a, true, transA); // dB = Gᵀ·op(A)
          db = unbroadcast(db, b.shape);
        }
      }
      return [da, db];
    },
  },
};

/** Forward mode: the product rule, op(dA)·op(B) + op(A)·op(dB), with the same transpose flags. */
export const matmulJvpRules: JvpTable<"matmul"> = {
  matmul: ([ta, tb], { inputs: [a, b], params: { transA, transB } }) =>
    addTangents(
      ta === null ? null : matmulFlags(ta, b, transA, transB),
      tb === null ? null : matmulFlags(a, tb, transA, transB),
    ),
};

function batchOffsets(
  batchShape: readonly number[],
  batch: readonly number[],
  matrixSize: number,
): Int32Array | number[] {
  const count = sizeOf(batch);
  const offsets = new Array<number>(count);
  const lead = batch.length - batchShape.length;
  const strides = stridesOf(batchShape);
  const idx = new Array<number>(batch.length).fill(0);
  for (let i = 0; i < count; i++) {
    let off = 0;
    for (let d = lead; d < batch.length; d++) {
      if (batchShape[d - lead] !== 1) off += idx[d] * strides[d - lead];
    }
    offsets[i] = off * matrixSize;
    for (let d = batch.length - 1; d >= 0; d--) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
  return offsets;
}

/** op(A)·op(B) for inputs of rank >= 2, recorded on the tape. */
export function matmulFlags(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return apply(matmulRules.matmul, [a, b], { transA, transB });
}

/** Transposes applied to matmul's operands as part of the product (no transposed copy is made). */
export interface MatmulOptions {
  /** Use A with its last two axes swapped (A·B becomes Aᵀ·B). */
  transposeA?: boolean;
  /** Use B with its last two axes swapped (A·B becomes A·Bᵀ). */
  transposeB?: boolean;
}

/**
 * NumPy matmul: 1-D operands are promoted to a row (left) or column (right) vector and the added
 * dimension removed again; N-D operands broadcast their batch dimensions. transposeA / transposeB
 * swap the last two axes of an operand inside the product, as TensorFlow.js's matMul flags do: the
 * kernel reads the operand transposed while packing it, so `matmul(a, b, { transposeB: true })`
 * costs what `matmul(a, b)` does, where `matmul(a, b.transpose())` first copies b.
 */
export const matmul = composite(
  "matmul",
  function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
    checkTensor(a, "matmul");
    checkTensor(b, "matmul");
    [a, b] = coerce(a, b, "matmul");
    requireFloat(a, "matmul");
    if (a.ndim === 0 || b.ndim === 0) {
      throw new ShapeError(
        `matmul: operands must be at least 1-D, got ${formatShape(a.shape)} x ${formatShape(b.shape)}; use mul for scalars`,
      );
    }
    const transA = flag(opts, "transposeA", a);
    const transB = flag(opts, "transposeB", b);
    const a2 = a.ndim === 1 ? a.reshape([1, a.shape[0]]) : a;
    const b2 = b.ndim === 1 ? b.reshape([b.shape[0], 1]) : b;
    const k = a2.shape[a2.ndim - (transA ? 2 : 1)];
    const k2 = b2.shape[b2.ndim - (transB ? 1 : 2)];
    if (k !== k2) {
      const t = (on: boolean) => (on ? "ᵀ" : "");
      throw new ShapeError(
        `matmul: inner dimensions differ: ${formatShape(a.shape)}${t(transA)} x ${formatShape(b.shape)}${t(transB)} (${k} != ${k2})`,
      );
    }
    const batchA = a2.shape.slice(0, -2);
    const batchB = b2.shape.slice(0, -2);
    if (!shapesEqual(batchA, batchB)) {
      try {
        broadcastShapes(batchA, batchB);
      } catch {
        throw new ShapeError(
          `matmul: batch dimensions ${formatShape(batchA)} and ${formatShape(batchB)} of ${formatShape(a.shape)} x ${formatShape(b.shape)} cannot be broadcast`,
        );
      }
    }
    let out = matmulFlags(a2, b2, transA, transB);
    if (a.ndim === 1) out = out.squeeze(-2);
    if (b.ndim === 1) out = out.squeeze(-1);
    return out;
  },
);

function flag(opts: MatmulOptions, name: keyof MatmulOptions, operand: Tensor): boolean {
  if (opts === null || typeof opts !== "object") {
    throw new ValueError(`matmul: options must be an object like { ${name}: true }, got ${String(opts)}`);
  }
  const value = opts[name] ?? false;
  if (typeof value !== "boolean") {
    throw new ValueError(`matmul: ${name} must be true or false, got ${String(value)}`);
  }
  if (value && operand.ndim < 2) {
    throw new ShapeError(
      `matmul: ${name} needs an operand of at least 2 dimensions, got shape ${formatShape(operand.shape)}`,
    );
  }
  return value;
}

// ---- batching rules (vmap) -------------------------------------------------------------------------

/** A batched operand with the batch axis in front and size-1 batch axes up to `batchRank` after it. */
function padBatch(x: Tensor, dim: number, batchRank: number): Tensor {
  const front = batchFirst(x, dim);
  const missing = batchRank - (front.ndim - 3);
  if (missing === 0) return front;
  return reshape(front, [front.shape[0], ...new Array<number>(missing).fill(1), ...front.shape.slice(1)]);
}

export const matmulBatchRules: BatchRuleTable<"matmul"> = {
  matmul: ({ rule, values: [a, b], dims: [da, db], params }) => {
    // A batch of left operands times one matrix is one product with the batch folded into the rows
    // (a per-example gradient's forward and its input cotangent): a single large gemm.
    if (db === null && !params.transA && b.ndim === 2) {
      const front = batchFirst(a, da as number);
      const k = front.shape[front.ndim - 1];
      const rows = apply(rule, [reshape(front, [sizeOf(front.shape.slice(0, -1)), k]), b], params);
      return { value: reshape(rows, [...front.shape.slice(0, -1), rows.shape[1]]), dim: 0 };
    }
    // Otherwise the batch axis leads the batch dims of a batched product; a shared operand broadcasts.
    const rankA = da === null ? a.ndim : a.ndim - 1;
    const rankB = db === null ? b.ndim : b.ndim - 1;
    const batchRank = Math.max(rankA, rankB) - 2;
    const pa = da === null ? a : padBatch(a, da, batchRank);
    const pb = db === null ? b : padBatch(b, db, batchRank);
    return { value: apply(rule, [pa, pb], params), dim: 0 };
  },
};
