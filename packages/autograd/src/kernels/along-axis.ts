import { type Shape, stridesOf } from "../shape.js";
import { recordConv } from "./conv-stats.js";
import type { NumericArray } from "./types.js";
import { gatherLastWasm, scatterAddLastWasm } from "./wasm/conv.js";

/**
 * Offsets into a tensor of shape `shape` of every position of the (elementwise smaller or equal)
 * `indexShape`, with the `axis` coordinate left at 0: the index value picks the position along it.
 * When the shapes agree off the axis this is [outer, n, inner] arithmetic; otherwise an odometer.
 */
function forEachAlong(
  shape: Shape,
  indexShape: Shape,
  axis: number,
  visit: (pos: number, base: number, stride: number) => void,
): void {
  const nd = indexShape.length;
  const strides = stridesOf(shape);
  const stride = strides[axis];
  const total = indexShape.reduce((a, b) => a * b, 1);
  if (total === 0) return;
  const idx = new Array<number>(nd).fill(0);
  let base = 0;
  for (let pos = 0; pos < total; pos++) {
    visit(pos, base, stride);
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      if (d !== axis) base += strides[d];
      if (idx[d] < indexShape[d]) break;
      if (d !== axis) base -= strides[d] * indexShape[d];
      idx[d] = 0;
    }
  }
}

/** out[p] = x[p with its `axis` coordinate replaced by index[p]] (torch.gather). Indices are validated. */
export function takeAlong(
  x: NumericArray,
  shape: Shape,
  index: Int32Array,
  indexShape: Shape,
  axis: number,
  out: NumericArray,
): void {
  if (sameOffAxis(shape, indexShape, axis)) {
    // The common case (sort, topk, most gathers): a flat walk without the odometer.
    const { outer, inner } = view(indexShape, axis);
    const m = indexShape[axis];
    const n = shape[axis];
    if (inner === 1) {
      gatherLast(x, n, index, m, outer, out);
      return;
    }
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < m; j++) {
        const p = (o * m + j) * inner;
        for (let i = 0; i < inner; i++) out[p + i] = x[(o * n + index[p + i]) * inner + i];
      }
    }
    return;
  }
  forEachAlong(shape, indexShape, axis, (pos, base, stride) => {
    out[pos] = x[base + index[pos] * stride];
  });
}

/** out[p with its `axis` coordinate replaced by index[p]] += g[p]: takeAlong's transpose. out starts zeroed. */
export function scatterAddAlong(
  g: NumericArray,
  index: Int32Array,
  indexShape: Shape,
  axis: number,
  out: NumericArray,
  shape: Shape,
): void {
  if (sameOffAxis(shape, indexShape, axis)) {
    const { outer, inner } = view(indexShape, axis);
    const m = indexShape[axis];
    const n = shape[axis];
    if (inner === 1) {
      scatterAddLast(g, n, index, m, outer, out);
      return;
    }
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < m; j++) {
        const p = (o * m + j) * inner;
        for (let i = 0; i < inner; i++) out[(o * n + index[p + i]) * inner + i] += g[p + i];
      }
    }
    return;
  }
  forEachAlong(shape, indexShape, axis, (pos, base, stride) => {
    out[base + index[pos] * stride] += g[pos];
  });
}

/**
 * The last-axis case of takeAlong (max pooling's gather, sort and topk along the last axis):
 * out[r, j] = x[r, index[r, j]] for rows r of x [rows, size] and index [rows, m], in WASM when the
 * size and dtype allow (wasm/conv.ts), else this loop. Exported for the kernel tests.
 */
export function gatherLast(
  x: NumericArray,
  size: number,
  index: Int32Array,
  m: number,
  rows: number,
  out: NumericArray,
): void {
  if (gatherLastWasm(x, size, index, m, rows, out)) return;
  recordConv("js");
  for (let r = 0; r < rows; r++) {
    const s = r * size;
    const d = r * m;
    for (let j = 0; j < m; j++) out[d + j] = x[s + index[d + j]];
  }
}

/** out[r, index[r, j]] += g[r, j]: the transpose of gatherLast. `out` [rows, size] must be zeroed. */
export function scatterAddLast(
  g: NumericArray,
  size: number,
  index: Int32Array,
  m: number,
  rows: number,
  out: NumericArray,
): void {
  if (scatterAddLastWasm(g, size, index, m, rows, out)) return;
  recordConv("js");
  for (let r = 0; r < rows; r++) {
    const s = r * m;
    const d = r * size;
    for (let j = 0; j < m; j++) out[d + index[s + j]] += g[s + j];
  }
}

function sameOffAxis(a: Shape, b: Shape, axis: number): boolean {
  for (let d = 0; d < a.length; d++) if (d !== axis && a[d] !== b[d]) return false;
  return true;
}

function view(shape: Shape, axis: number): { outer: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, inner };
}

/**
 * Indices that sort each line along the middle axis of x viewed as [outer, n, inner], written to out
 * (same view). Stable: equal values keep their order in either direction. NaN counts as larger than
 * every number (last ascending, first descending), as in torch.sort. NaNs are set aside first and the
 * rest merge-sorted on keys negated for descending order, which keeps ties in index order both ways;
 * a hand-written merge sort is about twice as fast as Array.prototype.sort with a comparator.
 */
export function argsortAxis(
  x: NumericArray,
  out: Int32Array,
  outer: number,
  n: number,
  inner: number,
  descending: boolean,
): void {
  const keys = new Float64Array(n);
  const order = new Int32Array(n);
  const scratch = new Int32Array(n);
  const nans = new Int32Array(n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = 0;
      let nanCount = 0;
      for (let j = 0; j < n; j++) {
        const v = x[base + j * inner];
        keys[j] = descending ? -v : v;
        if (v !== v) nans[nanCount++] = j;
        else order[m++] = j;
      }
      const sorted = mergeSortByKey(order, scratch, keys, m);
      let at = 0;
      if (descending) for (let j = 0; j < nanCount; j++) out[base + at++ * inner] = nans[j];
      for (let j = 0; j < m; j++) out[base + at++ * inner] = sorted[j];
      if (!descending) for (let j = 0; j < nanCount; j++) out[base + at++ * inner] = nans[j];
    }
  }
}

const RUN = 16;

/** Stable bottom-up merge sort of a[0, m) by keys[a[i]]; returns whichever buffer holds the result. */
function mergeSortByKey(a: Int32Array, b: Int32Array, keys: Float64Array, m: number): Int32Array {
  // Insertion sort of short runs (stable: only strictly greater keys move right).
  for (let lo = 0; lo < m; lo += RUN) {
    const hi = Math.min(m, lo + RUN);
    for (let i = lo + 1; i < hi; i++) {
      const idx = a[i];
      const k = keys[idx];
      let j = i - 1;
      while (j >= lo && keys[a[j]] > k) {
        a[j + 1] = a[j];
        j--;
      }
      a[j + 1] = idx;
    }
  }
  let src = a;
  let dst = b;
  for (let width = RUN; width < m; width *= 2) {
    for (let lo = 0; lo < m; lo += 2 * width) {
      const mid = Math.min(m, lo + width);
      const hi = Math.min(m, lo + 2 * width);
      let i = lo;
      let j = mid;
      let k = lo;
      // Take from the left run on ties: that keeps the sort stable.
      while (i < mid && j < hi) dst[k++] = keys[src[j]] < keys[src[i]] ? src[j++] : src[i++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/**
 * Strided slice along the middle axis of x viewed as [outer, srcLen, inner]: rows start, start+step, …
 * (`count` of them) into out viewed as [outer, count, inner].
 */
export function copyAxisStrided(
  x: NumericArray,
  srcLen: number,
  start: number,
  step: number,
  out: NumericArray,
  count: number,
  outer: number,
  inner: number,
): void {
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < count; j++) {
      const s = (o * srcLen + start + j * step) * inner;
      const d = (o * count + j) * inner;
      for (let i = 0; i < inner; i++) out[d + i] = x[s + i];
    }
  }
}
