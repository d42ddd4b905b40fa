import type { Shape } from "../shape.js";
import { advanceOdometer } from "./broadcast-walk.js";
import type { NumericArray } from "./types.js";

export type ReduceOp = "sum" | "max" | "min";

/**
 * Reduces `x` over the (sorted) `axes`, writing one value per kept position into `out`.
 * Adjacent dimensions with the same kept/reduced status are merged first, so the common cases
 * (all axes, leading rows, trailing columns, a middle axis) become one [outer, reduced, inner] walk.
 */
export function reduce(
  op: ReduceOp,
  x: NumericArray,
  shape: Shape,
  axes: readonly number[],
  out: NumericArray,
): void {
  if (op !== "sum" && out instanceof Int32Array) {
    // The running max/min starts at ∓Infinity, which an Int32Array cannot hold (it would store 0):
    // reduce into float64, which holds every int32 exactly, and copy the (always finite) result back.
    const wide = new Float64Array(out.length);
    reduce(op, x, shape, axes, wide);
    out.set(wide);
    return;
  }
  const segments = mergeSegments(shape, axes);
  if (segments.length <= 3) {
    // Pad to the pattern [kept, reduced, kept].
    let outer = 1;
    let reduced = 1;
    let inner = 1;
    if (segments.length === 1) {
      if (segments[0].reduced) reduced = segments[0].size;
      else outer = segments[0].size;
    } else if (segments.length === 2) {
      if (segments[0].reduced) {
        reduced = segments[0].size;
        inner = segments[1].size;
      } else {
        outer = segments[0].size;
        reduced = segments[1].size;
      }
    } else if (!segments[0].reduced) {
      outer = segments[0].size;
      reduced = segments[1].size;
      inner = segments[2].size;
    } else {
      reduceOther(op, x, shape, axes, segments, out);
      return;
    }
    reduceOuterReducedInner(op, x, outer, reduced, inner, out);
    return;
  }
  reduceOther(op, x, shape, axes, segments, out);
}

/** The patterns the [outer, reduced, inner] walk does not cover (e.g. NCHW's per-channel sums over N, H, W). */
function reduceOther(
  op: ReduceOp,
  x: NumericArray,
  shape: Shape,
  axes: readonly number[],
  segments: Segment[],
  out: NumericArray,
): void {
  if (out instanceof Float32Array || out instanceof Float64Array) reduceRuns(op, x, segments, out);
  else reduceGeneral(op, x, shape, axes, out);
}

interface Segment {
  size: number;
  reduced: boolean;
}

function mergeSegments(shape: Shape, axes: readonly number[]): Segment[] {
  const segments: Segment[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue; // size-1 dims change nothing
    const reduced = axes.includes(d);
    const last = segments[segments.length - 1];
    if (last && last.reduced === reduced) last.size *= shape[d];
    else segments.push({ size: shape[d], reduced });
  }
  if (segments.length === 0) segments.push({ size: 1, reduced: false });
  return segments;
}

function initialValue(op: ReduceOp): number {
  return op === "sum" ? 0 : op === "max" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
}

/**
 * Row sums rounded to float32, in four float64 accumulators: one running sum is a chain of dependent
 * adds (the W5 profile's conv bias gradients, 0.7M elements a step, spent 5–6% of the step there);
 * four let the adds overlap. The float64 partial sums carry 29 bits more than the float32 result, so
 * the order of the adds shows only when a sum lies within that margin of a float32 rounding boundary.
 */
function sumRowsFloat32(x: NumericArray, outer: number, reduced: number, out: Float32Array): void {
  const tail = reduced & 3;
  for (let o = 0; o < outer; o++) {
    const base = o * reduced;
    const end = base + reduced - tail;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let r = base; r < end; r += 4) {
      a0 += x[r];
      a1 += x[r + 1];
      a2 += x[r + 2];
      a3 += x[r + 3];
    }
    for (let r = end; r < base + reduced; r++) a0 += x[r];
    out[o] = a0 + a1 + (a2 + a3);
  }
}

/**
 * Row maxima (or minima) of a float32 [outer, reduced] array, NaN winning. A function of its own that only
 * ever sees Float32Arrays, so its loads stay monomorphic: softmax's row max over [24,4,64,64] took 2.2–2.5 ms
 * per call in the shared loop below (which every dtype reaches) and 1.5 ms here (in a transformer step).
 */
function extremeRowsFloat32(
  max: boolean,
  x: Float32Array,
  outer: number,
  reduced: number,
  out: Float32Array,
): void {
  for (let o = 0; o < outer; o++) {
    const base = o * reduced;
    let acc = max ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    if (max) {
      for (let r = base; r < base + reduced; r++) {
        const v = x[r];
        if (v > acc || v !== v) acc = v;
      }
    } else {
      for (let r = base; r < base + reduced; r++) {
        const v = x[r];
        if (v < acc || v !== v) acc = v;
      }
    }
    out[o] = acc;
  }
}

/**
 * Column sums of a float32 [outer, reduced, inner] array: each column summed top to bottom in a float64,
 * eight columns at a time in local variables (registers), then rounded once. The same order of adds as
 * one float64 accumulator row, so the same bits, 3-3.7x faster (bias gradients, [1536, 64] to [64]:
 * 186 -> 50 µs); Float32Array only, so the loads stay monomorphic.
 */
function sumColumnsFloat32(
  x: Float32Array,
  outer: number,
  reduced: number,
  inner: number,
  out: Float32Array,
): void {
  const i8 = inner & ~7;
  const span = reduced * inner;
  for (let o = 0; o < outer; o++) {
    const base = o * span;
    const ob = o * inner;
    for (let i0 = 0; i0 < i8; i0 += 8) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      let s6 = 0;
      let s7 = 0;
      for (let p = base + i0, end = base + i0 + span; p < end; p += inner) {
        s0 += x[p];
        s1 += x[p + 1];
        s2 += x[p + 2];
        s3 += x[p + 3];
        s4 += x[p + 4];
        s5 += x[p + 5];
        s6 += x[p + 6];
        s7 += x[p + 7];
      }
      out[ob + i0] = s0;
      out[ob + i0 + 1] = s1;
      out[ob + i0 + 2] = s2;
      out[ob + i0 + 3] = s3;
      out[ob + i0 + 4] = s4;
      out[ob + i0 + 5] = s5;
      out[ob + i0 + 6] = s6;
      out[ob + i0 + 7] = s7;
    }
    for (let i = i8; i < inner; i++) {
      let sum = 0;
      for (let p = base + i, end = base + i + span; p < end; p += inner) sum += x[p];
      out[ob + i] = sum;
    }
  }
}

function reduceOuterReducedInner(
  op: ReduceOp,
  x: NumericArray,
  outer: number,
  reduced: number,
  inner: number,
  out: NumericArray,
): void {
  const init = initialValue(op);
  if (inner === 1 && op === "sum" && out instanceof Float32Array && reduced >= 8) {
    sumRowsFloat32(x, outer, reduced, out);
    return;
  }
  if (inner === 1 && op !== "sum" && x instanceof Float32Array && out instanceof Float32Array) {
    extremeRowsFloat32(op === "max", x, outer, reduced, out);
    return;
  }
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const base = o * reduced;
      let acc = init;
      if (op === "sum") for (let r = 0; r < reduced; r++) acc += x[base + r];
      else if (op === "max")
        for (let r = 0; r < reduced; r++) {
          const v = x[base + r];
          if (v > acc || v !== v) acc = v;
        }
      else
        for (let r = 0; r < reduced; r++) {
          const v = x[base + r];
          if (v < acc || v !== v) acc = v;
        }
      out[o] = acc;
    }
    return;
  }
  // Accumulate whole rows of length `inner`: contiguous reads and writes. A float32 sum accumulates in
  // a float64 row, as the inner === 1 path does in `acc`: float32 running sums over many rows drift.
  // (x has out's dtype, so a float32 out means a float32 x.)
  if (op === "sum" && out instanceof Float32Array) {
    sumColumnsFloat32(x as Float32Array, outer, reduced, inner, out);
    return;
  }
  for (let o = 0; o < outer; o++) {
    const ob = o * inner;
    for (let i = 0; i < inner; i++) out[ob + i] = init;
    for (let r = 0; r < reduced; r++) {
      const xb = (o * reduced + r) * inner;
      if (op === "sum") for (let i = 0; i < inner; i++) out[ob + i] += x[xb + i];
      else if (op === "max")
        for (let i = 0; i < inner; i++) {
          const v = x[xb + i];
          if (v > out[ob + i] || v !== v) out[ob + i] = v;
        }
      else
        for (let i = 0; i < inner; i++) {
          const v = x[xb + i];
          if (v < out[ob + i] || v !== v) out[ob + i] = v;
        }
    }
  }
}

/**
 * Any axes pattern, float outputs: x is walked one contiguous run (its last merged segment) at a time, with an
 * odometer over the runs rather than the elements. A reduced last segment folds each run into one output
 * (four accumulators for a sum); a kept one adds the run into a row of the output. Float32 sums accumulate in
 * float64 and are rounded once. BatchNorm2d's per-channel sums over [N, H, W] of [64,16,24,24] went from 36 ms
 * (an odometer step per element) to well under 1 ms.
 */
function reduceRuns(
  op: ReduceOp,
  x: NumericArray,
  segments: Segment[],
  out: Float32Array | Float64Array,
): void {
  const m = segments.length - 1;
  const run = segments[m].size;
  const lastReduced = segments[m].reduced;
  const acc = op === "sum" && out instanceof Float32Array ? new Float64Array(out.length) : out;
  acc.fill(initialValue(op));
  // Output strides of the leading segments (row-major over the kept ones; 0 for a reduced one).
  const sizes = new Array<number>(m);
  const strides = new Array<number>(m);
  let stride = lastReduced ? 1 : run;
  for (let d = m - 1; d >= 0; d--) {
    sizes[d] = segments[d].size;
    strides[d] = segments[d].reduced ? 0 : stride;
    if (!segments[d].reduced) stride *= segments[d].size;
  }
  const idx = new Array<number>(m).fill(0);
  let o = 0;
  for (let start = 0; start < x.length; start += run) {
    if (lastReduced) acc[o] = combine(op, acc[o], foldRun(op, x, start, run));
    else if (op === "sum") for (let i = 0; i < run; i++) acc[o + i] += x[start + i];
    else for (let i = 0; i < run; i++) acc[o + i] = combine(op, acc[o + i], x[start + i]);
    o = advanceOdometer(idx, sizes, strides, o);
  }
  if (acc !== out) out.set(acc);
}

/** a and b combined by op; max/min keep a NaN from either side. */
function combine(op: ReduceOp, a: number, b: number): number {
  if (op === "sum") return a + b;
  if (op === "max") return b > a || b !== b ? b : a;
  return b < a || b !== b ? b : a;
}

/** op over x[start, start + n), n >= 1. */
function foldRun(op: ReduceOp, x: NumericArray, start: number, n: number): number {
  const end = start + n;
  if (op === "sum") {
    const tail = n & 3;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let i = start; i < end - tail; i += 4) {
      a0 += x[i];
      a1 += x[i + 1];
      a2 += x[i + 2];
      a3 += x[i + 3];
    }
    for (let i = end - tail; i < end; i++) a0 += x[i];
    return a0 + a1 + (a2 + a3);
  }
  let a = x[start];
  for (let i = start + 1; i < end; i++) a = combine(op, a, x[i]);
  return a;
}

/** Any axes pattern: walk x in order with an odometer that tracks the output offset. */
function reduceGeneral(
  op: ReduceOp,
  x: NumericArray,
  shape: Shape,
  axes: readonly number[],
  out: NumericArray,
): void {
  const nd = shape.length;
  const outStrides = new Array<number>(nd).fill(0);
  let s = 1;
  for (let d = nd - 1; d >= 0; d--) {
    if (!axes.includes(d)) {
      outStrides[d] = s;
      s *= shape[d];
    }
  }
  if (op === "sum" && out instanceof Float32Array) {
    // Accumulate in float64, then round once.
    const acc = new Float64Array(out.length);
    reduceGeneral(op, x, shape, axes, acc);
    out.set(acc);
    return;
  }
  out.fill(initialValue(op));
  const idx = new Array<number>(nd).fill(0);
  let o = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (op === "sum") out[o] += v;
    else if (op === "max") {
      if (v > out[o] || v !== v) out[o] = v;
    } else if (v < out[o] || v !== v) out[o] = v;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      o += outStrides[d];
      if (idx[d] < shape[d]) break;
      o -= outStrides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** Index of the first maximum (or minimum) along one axis of x viewed as [outer, size, inner]. NaN wins. */
export function argReduce(
  op: "argmax" | "argmin",
  x: NumericArray,
  outer: number,
  size: number,
  inner: number,
  out: Int32Array,
): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let best = x[base];
      let bestIdx = 0;
      if (best === best) {
        for (let r = 1; r < size; r++) {
          const v = x[base + r * inner];
          if (v !== v) {
            bestIdx = r;
            break;
          }
          if (op === "argmax" ? v > best : v < best) {
            best = v;
            bestIdx = r;
          }
        }
      }
      out[o * inner + i] = bestIdx;
    }
  }
}
