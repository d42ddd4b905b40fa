import { type Shape, stridesOf } from "../shape.js";
import type { NumericArray } from "./types.js";

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
 * every number (last ascending, first descending), as in torch.sort.
 */
export function argsortAxis(
  x: NumericArray,
  out: Int32Array,
  outer: number,
  n: number,
  inner: number,
  descending: boolean,
): void {
  const order = new Array<number>(n);
  const values = new Float64Array(n);
  const sign = descending ? -1 : 1;
  const compare = (a: number, b: number): number => {
    const va = values[a];
    const vb = values[b];
    const nanA = va !== va;
    const nanB = vb !== vb;
    let c = 0;
    if (nanA || nanB) c = nanA === nanB ? 0 : nanA ? 1 : -1;
    else if (va < vb) c = -1;
    else if (va > vb) c = 1;
    // The index tie-break makes the order stable whatever the engine's sort does.
    return c !== 0 ? sign * c : a - b;
  };
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      for (let j = 0; j < n; j++) {
        order[j] = j;
        values[j] = x[base + j * inner];
      }
      order.sort(compare);
      for (let j = 0; j < n; j++) out[base + j * inner] = order[j];
    }
  }
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
