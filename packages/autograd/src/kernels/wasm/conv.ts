import { getKernelBackend } from "../backend.js";
import { type ColsLayout, validRange, type Window2d } from "../conv.js";
import { recordConv } from "../conv-stats.js";
import type { NumericArray } from "../types.js";
import { buildConvModule, type ConvKernels } from "./conv-module.js";
import {
  copyIn,
  copyOut,
  type LocalModule,
  localModules,
  reserveScratch,
  slotBytes,
} from "./local-module.js";
import { HEAP_BASE } from "./runtime.js";

/**
 * JS side of the convolution/pooling WASM kernels (conv-module.ts): picks WASM or JS per call, copies
 * the operands into the unshared arena's scratch, runs, copies the result out. Each function returns
 * false when the JS loop in ../conv.ts should run instead (backend 'js', below the 'auto' size,
 * Int32Array data or mixed dtypes, WASM unavailable, or the arrays do not fit).
 *
 * 'auto' size: from AUTO_MIN elements moved (a guess near the elementwise thresholds; these are
 * memory-bound copies, so WASM gains less than on arithmetic: im2col of the CNN's second layer took
 * about 1.0 ms in WASM against 1.9 ms in JS, the max-pool argmax 0.2 ms against 2.3 ms, measured
 * on a loaded 2-core machine).
 */
const AUTO_MIN = 2048;

export const convKernelsOf = (e: Record<string, unknown>): ConvKernels => ({
  im2col: e.im2col as ConvKernels["im2col"],
  col2im: e.col2im as ConvKernels["col2im"],
  argmax: e.argmax as ConvKernels["argmax"],
  gather: e.gather as ConvKernels["gather"],
  scatterAdd: e.scatterAdd as ConvKernels["scatterAdd"],
  addBias: e.addBias as ConvKernels["addBias"],
  swapBlocks: e.swapBlocks as ConvKernels["swapBlocks"],
  gatherRows: e.gatherRows as ConvKernels["gatherRows"],
  scatterAddRows: e.scatterAddRows as ConvKernels["scatterAddRows"],
  im2colPacked: e.im2colPacked as ConvKernels["im2colPacked"],
});

export const convModuleFor = localModules(buildConvModule, convKernelsOf);

function moduleForCall(elements: number, ...arrays: NumericArray[]): LocalModule<ConvKernels> | null {
  const backend = getKernelBackend();
  if (backend === "js" || elements === 0 || (backend === "auto" && elements < AUTO_MIN)) return null;
  const first = arrays[0];
  const f32 = first instanceof Float32Array;
  if (!f32 && !(first instanceof Float64Array)) return null;
  for (const a of arrays) if (a.constructor !== first.constructor) return null;
  return convModuleFor(f32 ? "float32" : "float64");
}

/** Scratch regions from HEAP_BASE, each 64-byte aligned; null when the memory cannot grow that far. */
function layoutScratch(m: LocalModule<ConvKernels>, bytes: number[]): number[] | null {
  const at: number[] = [];
  let p = HEAP_BASE;
  for (const b of bytes) {
    at.push(p);
    p += slotBytes(b);
  }
  return reserveScratch(m, p - HEAP_BASE) ? at : null;
}

/** Per output row (or column): first and last+1 in-bounds kernel tap, and the window's first input index. */
export function taps(
  count: number,
  stride: number,
  pad: number,
  dil: number,
  k: number,
  size: number,
): Int32Array {
  const t = new Int32Array(3 * count);
  for (let o = 0; o < count; o++) {
    const i0 = o * stride - pad;
    const k0 = i0 >= 0 ? 0 : Math.ceil(-i0 / dil);
    const k1 = Math.max(k0, Math.min(k, Math.ceil((size - i0) / dil)));
    t[3 * o] = k0;
    t[3 * o + 1] = k1;
    t[3 * o + 2] = i0;
  }
  return t;
}

/** Per tap k < kernel: the output range [lo, hi) whose input index lies inside [0, size), as i32 pairs. */
export function tapRanges(
  kernel: number,
  dil: number,
  stride: number,
  pad: number,
  size: number,
  count: number,
): Int32Array {
  const t = new Int32Array(2 * kernel);
  for (let k = 0; k < kernel; k++) {
    const [lo, hi] = validRange(k * dil, stride, pad, size, count);
    t[2 * k] = lo;
    t[2 * k + 1] = hi;
  }
  return t;
}

/** True when every tap reaches every output (no padding in play): im2col then writes every element. */
export function coversAll(t: Int32Array, count: number): boolean {
  for (let i = 0; i < t.length; i += 2) if (t[i] !== 0 || t[i + 1] !== count) return false;
  return true;
}

/** The window kernel's arguments after (x, cols, tabKi, tabKj), for all samples (b0 = 0, b1 = n). */
export function windowArgs(layout: ColsLayout, g: Window2d): number[] {
  const { n, c } = layout;
  return [n, c, g.h * g.w, g.w, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, 0, n];
}

function windowCall(
  x: NumericArray,
  layout: ColsLayout,
  g: Window2d,
  cols: NumericArray,
  toCols: boolean,
): boolean {
  const m = moduleForCall(cols.length, x, cols);
  if (m === null) return false;
  const tabKi = tapRanges(g.kh, g.dh, g.sh, g.ph, g.h, g.oh);
  const tabKj = tapRanges(g.kw, g.dw, g.sw, g.pw, g.w, g.ow);
  const es = m.es;
  const at = layoutScratch(m, [x.length * es, cols.length * es, tabKi.length * 4, tabKj.length * 4]);
  if (at === null) return false;
  const [xp, cp, ti, tj] = at;
  const view = m.es === 4 ? m.arena.f32 : m.arena.f64;
  const i32 = m.arena.i32;
  i32.set(tabKi, ti / 4);
  i32.set(tabKj, tj / 4);
  if (toCols) {
    copyIn(view, x, 0, x.length, xp, es);
    // Without padding every tap of every window is written: nothing to zero.
    if (!coversAll(tabKi, g.oh) || !coversAll(tabKj, g.ow)) view.fill(0, cp / es, cp / es + cols.length);
  } else {
    copyIn(view, cols, 0, cols.length, cp, es);
    view.fill(0, xp / es, xp / es + x.length);
  }
  const args = [xp, cp, ti, tj, ...windowArgs(layout, g)];
  if (toCols) m.kernels.im2col(...args);
  else m.kernels.col2im(...args);
  if (toCols) copyOut(view, cols, 0, cols.length, cp, es);
  else copyOut(view, x, 0, x.length, xp, es);
  recordConv("wasm");
  return true;
}

export function im2colWasm(x: NumericArray, layout: ColsLayout, g: Window2d, out: NumericArray): boolean {
  return windowCall(x, layout, g, out, true);
}

/** `out` (the image) is overwritten: callers pass it zeroed, which the sum below starts from anyway. */
export function col2imWasm(cols: NumericArray, layout: ColsLayout, g: Window2d, out: NumericArray): boolean {
  return windowCall(out, layout, g, cols, false);
}

export function maxPoolArgmaxWasm(x: NumericArray, planes: number, g: Window2d, out: Int32Array): boolean {
  const m = moduleForCall(x.length, x);
  if (m === null) return false;
  const tabY = taps(g.oh, g.sh, g.ph, g.dh, g.kh, g.h);
  const tabX = taps(g.ow, g.sw, g.pw, g.dw, g.kw, g.w);
  const es = m.es;
  const at = layoutScratch(m, [x.length * es, out.length * 4, tabY.length * 4, tabX.length * 4]);
  if (at === null) return false;
  const [xp, op, ty, tx] = at;
  const view = m.es === 4 ? m.arena.f32 : m.arena.f64;
  const i32 = m.arena.i32;
  i32.set(tabY, ty / 4);
  i32.set(tabX, tx / 4);
  copyIn(view, x, 0, x.length, xp, es);
  // The SIMD path (float32, windows of width and stride 2 along rows): output columns whose windows lie wholly inside the row.
  let vecLo = 0;
  let vecHi = 0;
  if (es === 4 && g.kw === 2 && g.sw === 2 && g.dw === 1) {
    vecLo = g.ow;
    for (let ox = 0; ox < g.ow; ox++) {
      if (tabX[3 * ox] === 0 && tabX[3 * ox + 1] === 2) {
        vecLo = Math.min(vecLo, ox);
        vecHi = ox + 1;
      }
    }
  }
  m.kernels.argmax(xp, op, ty, tx, planes, g.h * g.w, g.w, g.oh, g.ow, g.dh, g.dw, vecLo, vecHi);
  out.set(i32.subarray(op / 4, op / 4 + out.length));
  recordConv("wasm");
  return true;
}

function alongLast(
  src: NumericArray,
  size: number,
  index: Int32Array,
  m: number,
  rows: number,
  out: NumericArray,
  scatter: boolean,
): boolean {
  const mod = moduleForCall(index.length, src, out);
  if (mod === null) return false;
  const es = mod.es;
  const at = layoutScratch(mod, [src.length * es, index.length * 4, out.length * es]);
  if (at === null) return false;
  const [sp, ip, op] = at;
  const view = mod.es === 4 ? mod.arena.f32 : mod.arena.f64;
  copyIn(view, src, 0, src.length, sp, es);
  mod.arena.i32.set(index, ip / 4);
  if (scatter) view.fill(0, op / es, op / es + out.length);
  (scatter ? mod.kernels.scatterAdd : mod.kernels.gather)(sp, ip, op, size, m, rows);
  copyOut(view, out, 0, out.length, op, es);
  recordConv("wasm");
  return true;
}

export function gatherLastWasm(
  x: NumericArray,
  size: number,
  index: Int32Array,
  m: number,
  rows: number,
  out: NumericArray,
): boolean {
  return alongLast(x, size, index, m, rows, out, false);
}

/** `out` is overwritten with the sums (callers pass it zeroed). */
export function scatterAddLastWasm(
  g: NumericArray,
  size: number,
  index: Int32Array,
  m: number,
  rows: number,
  out: NumericArray,
): boolean {
  return alongLast(g, size, index, m, rows, out, true);
}

/**
 * index_select's row gather (kernels/layout.ts gatherRows). x is copied in whole, so 'auto' takes
 * WASM only when x is not much larger than the result (an embedding lookup of a few rows from a large
 * table stays in JS, which reads only the rows it needs).
 */
export function gatherRowsWasm(
  x: NumericArray,
  size: number,
  index: Int32Array,
  out: NumericArray,
  outer: number,
  inner: number,
): boolean {
  if (getKernelBackend() === "auto" && x.length > 4 * out.length) return false;
  const m = moduleForCall(out.length, x, out);
  if (m === null) return false;
  const es = m.es;
  const at = layoutScratch(m, [x.length * es, index.length * 4, out.length * es]);
  if (at === null) return false;
  const [xp, ip, op] = at;
  const view = es === 4 ? m.arena.f32 : m.arena.f64;
  copyIn(view, x, 0, x.length, xp, es);
  m.arena.i32.set(index, ip / 4);
  m.kernels.gatherRows(xp, ip, op, size, index.length, outer, inner * es);
  copyOut(view, out, 0, out.length, op, es);
  recordConv("wasm");
  return true;
}

/** scatterAdd's rows (kernels/layout.ts scatterAddRows); `out` is overwritten with the sums (callers pass it zeroed). */
export function scatterAddRowsWasm(
  g: NumericArray,
  index: Int32Array,
  out: NumericArray,
  size: number,
  outer: number,
  inner: number,
): boolean {
  const m = moduleForCall(g.length, g, out);
  if (m === null) return false;
  const es = m.es;
  const at = layoutScratch(m, [g.length * es, index.length * 4, out.length * es]);
  if (at === null) return false;
  const [gp, ip, op] = at;
  const view = es === 4 ? m.arena.f32 : m.arena.f64;
  copyIn(view, g, 0, g.length, gp, es);
  m.arena.i32.set(index, ip / 4);
  view.fill(0, op / es, op / es + out.length);
  m.kernels.scatterAddRows(gp, ip, op, size, index.length, outer, inner);
  copyOut(view, out, 0, out.length, op, es);
  recordConv("wasm");
  return true;
}
