import { type Shape, stridesOf } from "../shape.js";
import { recordElementwise } from "./backend.js";
import { advanceOdometer, broadcastWalk } from "./broadcast-walk.js";
import type { NumericArray } from "./types.js";
import { gatherRowsWasm, scatterAddRowsWasm } from "./wasm/conv.js";
import { transposeWasm } from "./wasm/elementwise.js";

/** Copies x (shape `shape`) into out with its axes permuted: out.shape[i] = shape[perm[i]]. */
export function permute(x: NumericArray, shape: Shape, perm: readonly number[], out: NumericArray): void {
  const nd = shape.length;
  const n = out.length;
  if (n === 0) return;
  if (nd === 2 && perm[0] === 1) {
    const rows = shape[0];
    const cols = shape[1];
    if (transposeWasm(x, rows, cols, out)) return;
    recordElementwise("js");
    // Tiled 2-D transpose: both sides stay within a few cache lines.
    const T = 32;
    for (let r0 = 0; r0 < rows; r0 += T) {
      const r1 = Math.min(rows, r0 + T);
      for (let c0 = 0; c0 < cols; c0 += T) {
        const c1 = Math.min(cols, c0 + T);
        for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) out[c * rows + r] = x[r * cols + c];
      }
    }
    return;
  }
  if (nd > 2 && swapsLastTwo(perm)) {
    // A batch of 2-D transposes (WASM copies the batch in once); the odometer below otherwise.
    const rows = shape[nd - 2];
    const cols = shape[nd - 1];
    if (transposeWasm(x, rows, cols, out, n / (rows * cols))) return;
    recordElementwise("js");
  }
  const inStrides = stridesOf(shape);
  copyStrided(
    x,
    perm.map((p) => inStrides[p]),
    perm.map((p) => shape[p]),
    out,
  );
}

/** True for [0, 1, …, nd−3, nd−1, nd−2]: a batch of 2-D transposes. */
function swapsLastTwo(perm: readonly number[]): boolean {
  const nd = perm.length;
  for (let d = 0; d < nd - 2; d++) if (perm[d] !== d) return false;
  return perm[nd - 2] === nd - 1 && perm[nd - 1] === nd - 2;
}

/**
 * Copies x (shape xShape) broadcast to outShape into out, one run of the merged innermost dimension at a
 * time (broadcast-walk.ts): a run is a fill where x is broadcast along it, a block copy where x is
 * contiguous. Broadcasting a per-channel [1, C, 1, 1] to [N, C, H, W] (BatchNorm's backward) is N·C fills.
 */
export function expand(x: NumericArray, xShape: Shape, outShape: Shape, out: NumericArray): void {
  const n = out.length;
  if (n === 0) return;
  if (x.length === 1) {
    out.fill(x[0]);
    return;
  }
  const { dims, strides } = broadcastWalk(outShape, [xShape]);
  const outer = dims.length - 1;
  const run = dims[outer];
  const step = strides[0][outer];
  const idx = new Array<number>(outer).fill(0);
  let src = 0;
  for (let start = 0; start < n; start += run) {
    if (step === 0) {
      const v = x[src];
      if (run >= 64) out.fill(v, start, start + run);
      else for (let i = 0; i < run; i++) out[start + i] = v;
    } else if (step === 1 && run >= 64) out.set(x.subarray(src, src + run), start);
    else for (let i = 0; i < run; i++) out[start + i] = x[src + i * step];
    src = advanceOdometer(idx, dims, strides[0], src);
  }
}

/**
 * out[i] = x[Σ idx_d·strides_d] over the row-major indices of outShape. Neighbouring dimensions that x
 * also steps through as one are merged, and the innermost is copied a run at a time (a block copy where
 * x is contiguous along it), with an odometer over the runs: a permute that keeps the last axis (attention's
 * [B, T, H, D] -> [B, H, T, D]) copies runs of D.
 */
function copyStrided(x: NumericArray, strides: readonly number[], outShape: Shape, out: NumericArray): void {
  const n = out.length;
  if (n === 0) return;
  const dims: number[] = [];
  const steps: number[] = [];
  for (let d = 0; d < outShape.length; d++) {
    const size = outShape[d];
    if (size === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && steps[last] === strides[d] * size) {
      dims[last] *= size;
      steps[last] = strides[d];
    } else {
      dims.push(size);
      steps.push(strides[d]);
    }
  }
  if (dims.length === 0) {
    out[0] = x[0];
    return;
  }
  const outer = dims.length - 1;
  const run = dims[outer];
  const step = steps[outer];
  const idx = new Array<number>(outer).fill(0);
  let src = 0;
  for (let start = 0; start < n; start += run) {
    if (step === 1 && run >= 64) out.set(x.subarray(src, src + run), start);
    else for (let i = 0; i < run; i++) out[start + i] = x[src + i * step];
    src = advanceOdometer(idx, dims, steps, src);
  }
}

/**
 * Block copy for slicing/padding along one axis, with x viewed as [outer, srcLen, inner] and out as
 * [outer, dstLen, inner]: copies `count` rows starting at srcStart into dstStart.
 */
export function copyAxisBlock(
  src: NumericArray,
  srcLen: number,
  srcStart: number,
  dst: NumericArray,
  dstLen: number,
  dstStart: number,
  outer: number,
  inner: number,
  count: number,
): void {
  const block = count * inner;
  for (let o = 0; o < outer; o++) {
    const s = (o * srcLen + srcStart) * inner;
    const d = (o * dstLen + dstStart) * inner;
    if (block > 64) dst.set(src.subarray(s, s + block), d);
    else for (let i = 0; i < block; i++) dst[d + i] = src[s + i];
  }
}

/** out[o, j, i] = x[o, index[j], i] (x viewed as [outer, size, inner]). Indices are already validated. */
export function gatherRows(
  x: NumericArray,
  size: number,
  index: Int32Array,
  out: NumericArray,
  outer: number,
  inner: number,
): void {
  if (gatherRowsWasm(x, size, index, out, outer, inner)) return;
  const m = index.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const s = (o * size + index[j]) * inner;
      const d = (o * m + j) * inner;
      for (let i = 0; i < inner; i++) out[d + i] = x[s + i];
    }
  }
}

/** out[o, index[j], i] += g[o, j, i]: the transpose of gatherRows. `out` must be zeroed by the caller. */
export function scatterAddRows(
  g: NumericArray,
  index: Int32Array,
  out: NumericArray,
  size: number,
  outer: number,
  inner: number,
): void {
  if (scatterAddRowsWasm(g, index, out, size, outer, inner)) return;
  const m = index.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const s = (o * m + j) * inner;
      const d = (o * size + index[j]) * inner;
      for (let i = 0; i < inner; i++) out[d + i] += g[s + i];
    }
  }
}

/** Converts between dtypes (float64 -> float32 rounds; float -> int32 truncates toward zero). */
export function castInto(x: NumericArray, out: NumericArray): void {
  if (out instanceof Int32Array && !(x instanceof Int32Array)) {
    for (let i = 0; i < x.length; i++) out[i] = Math.trunc(x[i]);
    return;
  }
  out.set(x);
}
