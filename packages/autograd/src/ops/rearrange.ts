import { ShapeError, ValueError } from "../errors.js";
import { formatShape, normalizeAxes, normalizeAxis } from "../shape.js";
import { Tensor } from "../tensor.js";
import { where } from "./elementwise.js";
import { gather } from "./indexing.js";
import { concat, reshape, slice } from "./shape.js";
import { checkTensor, composite } from "./util.js";

/*
 * Rearranging composites: each is a few slices, concats, gathers or a constant mask, so they need no
 * primitive (and no jvp or batching rule) of their own.
 */

/**
 * Splits x along `axis` into consecutive parts: `count` equal parts (the axis must divide evenly; chunk
 * allows a short last part) or parts of the given `sizes` (which must add up to the axis length).
 */
export const split = composite(
  "split",
  function split(x: Tensor, sizesOrCount: number | readonly number[], axis = 0): Tensor[] {
    checkTensor(x, "split");
    const ax = normalizeAxis(axis, x.ndim, "split");
    const n = x.shape[ax];
    let sizes: number[];
    if (typeof sizesOrCount === "number") {
      const count = sizesOrCount;
      if (!Number.isInteger(count) || count < 1) {
        throw new ValueError(`split: the number of parts must be an integer >= 1, got ${count}`);
      }
      if (n % count !== 0) {
        throw new ShapeError(
          `split: axis ${axis} of ${formatShape(x.shape)} (size ${n}) cannot be split into ${count} equal parts; pass a list of sizes, or use chunk for a shorter last part`,
        );
      }
      sizes = new Array<number>(count).fill(n / count);
    } else if (Array.isArray(sizesOrCount)) {
      sizes = sizesOrCount.slice();
      if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < 0)) {
        throw new ValueError(
          `split: sizes must be a non-empty list of integers >= 0, got ${JSON.stringify(sizesOrCount)}`,
        );
      }
      const total = sizes.reduce((a, b) => a + b, 0);
      if (total !== n) {
        throw new ShapeError(
          `split: sizes ${JSON.stringify(sizes)} add up to ${total}, but axis ${axis} of ${formatShape(x.shape)} has size ${n}`,
        );
      }
    } else {
      throw new ValueError(
        `split: expected a number of parts or a list of sizes, got ${String(sizesOrCount)}`,
      );
    }
    const parts: Tensor[] = [];
    let at = 0;
    for (const s of sizes) {
      parts.push(slice(x, ax, at, at + s));
      at += s;
    }
    return parts;
  },
);

/**
 * torch.chunk: up to n parts of ceil(size / n) entries along `axis`, the last one shorter when the
 * size does not divide (so fewer than n parts can come back).
 */
export const chunk = composite("chunk", function chunk(x: Tensor, n: number, axis = 0): Tensor[] {
  checkTensor(x, "chunk");
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`chunk: n must be an integer >= 1, got ${n}`);
  const ax = normalizeAxis(axis, x.ndim, "chunk");
  const length = x.shape[ax];
  if (length === 0) return [x];
  const step = Math.ceil(length / n);
  const parts: Tensor[] = [];
  for (let at = 0; at < length; at += step) parts.push(slice(x, ax, at, Math.min(length, at + step)));
  return parts;
});

function indexTensor(values: number[]): Tensor {
  return new Tensor(Int32Array.from(values), [values.length]);
}

/** Reverses the order of entries along each of `axes` (all axes when omitted). */
export const flip = composite("flip", function flip(x: Tensor, axes?: number | readonly number[]): Tensor {
  checkTensor(x, "flip");
  let out = x;
  for (const a of normalizeAxes(axes, x.ndim, "flip")) {
    const n = x.shape[a];
    if (n <= 1) continue;
    out = gather(out, indexTensor(Array.from({ length: n }, (_, i) => n - 1 - i)), a);
  }
  return out;
});

/**
 * Rotates entries along `axis` by `shift` places (torch.roll): entry i moves to (i + shift) mod n.
 * shift and axis may be lists of equal length; without axis the flattened tensor is rolled.
 */
export const roll = composite(
  "roll",
  function roll(x: Tensor, shift: number | readonly number[], axis?: number | readonly number[]): Tensor {
    checkTensor(x, "roll");
    const shifts = typeof shift === "number" ? [shift] : Array.isArray(shift) ? shift.slice() : null;
    if (shifts === null || shifts.some((s) => !Number.isInteger(s))) {
      throw new ValueError(`roll: shift must be an integer or a list of integers, got ${String(shift)}`);
    }
    if (axis === undefined) {
      if (shifts.length !== 1) {
        throw new ValueError(
          `roll: without an axis, shift must be a single integer, got ${JSON.stringify(shift)}`,
        );
      }
      return reshape(roll(reshape(x, [x.size]), shifts[0], 0), x.shape);
    }
    const axes = typeof axis === "number" ? [axis] : Array.isArray(axis) ? axis.slice() : null;
    if (axes === null || axes.length !== shifts.length) {
      throw new ValueError(
        `roll: shift ${JSON.stringify(shift)} and axis ${JSON.stringify(axis)} must have the same length`,
      );
    }
    let out = x;
    axes.forEach((a, i) => {
      const ax = normalizeAxis(a, x.ndim, "roll");
      const n = x.shape[ax];
      const s = n === 0 ? 0 : ((shifts[i] % n) + n) % n;
      if (s === 0) return;
      out = concat([slice(out, ax, n - s), slice(out, ax, 0, n - s)], ax);
    });
    return out;
  },
);

/** 1 where keep(row, col) on the last two axes of `shape`, else 0: a constant int32 mask. */
function triangleMask(x: Tensor, op: string, keep: (row: number, col: number) => boolean): Tensor {
  checkTensor(x, op);
  if (x.ndim < 2) {
    throw new ShapeError(
      `${op}: expected a tensor of at least 2 dimensions (a matrix or a batch of them), got shape ${formatShape(x.shape)}`,
    );
  }
  const rows = x.shape[x.ndim - 2];
  const cols = x.shape[x.ndim - 1];
  const data = new Int32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[r * cols + c] = keep(r, c) ? 1 : 0;
  return new Tensor(data, [rows, cols]);
}

function checkDiagonal(k: number, op: string): void {
  if (!Number.isInteger(k)) throw new ValueError(`${op}: diagonal offset k must be an integer, got ${k}`);
}

/** The lower triangle of the last two axes: entries with col − row <= k kept, the rest 0. */
export const tril = composite("tril", function tril(x: Tensor, k = 0): Tensor {
  checkDiagonal(k, "tril");
  return where(
    triangleMask(x, "tril", (r, c) => c - r <= k),
    x,
    0,
  );
});

/** The upper triangle of the last two axes: entries with col − row >= k kept, the rest 0. */
export const triu = composite("triu", function triu(x: Tensor, k = 0): Tensor {
  checkDiagonal(k, "triu");
  return where(
    triangleMask(x, "triu", (r, c) => c - r >= k),
    x,
    0,
  );
});
