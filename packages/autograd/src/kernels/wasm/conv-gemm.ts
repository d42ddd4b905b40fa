import { getKernelBackend, recordGemm } from "../backend.js";
import type { ConvDims } from "../conv.js";
import { recordConv } from "../conv-stats.js";
import type { FloatArray } from "../types.js";
import { convModuleFor, coversAll, tapRanges, windowArgs } from "./conv.js";
import { ensureCapacity, HEAP_BASE, type WasmArena, wasmRuntime } from "./runtime.js";

/**
 * Convolution forward and both vjps as im2col/col2im + GEMM inside the wasm memory: only x, w and
 * the cotangent cross into the arena and only the result comes back, where a composite of an im2col
 * tensor and a matmul copies the (kh·kw times larger) column matrix out of wasm, back in for the
 * product, and, in backward, the column gradient out and in again for col2im. The products call the
 * GEMM module's packA / packB / compute directly on the unshared arena (one thread), with the weight
 * of every group packed once.
 *
 * `compute` may write up to a whole tile of rows past m: blocks of C are therefore computed in
 * memory order (each overrun lands in a block written later) and the last one has a tile of slack.
 *
 * Each function returns false when the JS composition in ../conv.ts should run instead (backend
 * 'js', too small for 'auto', WASM unavailable, or the arrays do not fit the memory).
 */

/** 'auto' runs WASM from this many multiply-adds (the GEMM's own threshold). */
const MIN_MACS = 1024;

interface Setup {
  arena: WasmArena;
  es: number;
  view: FloatArray;
  fns: {
    packA(
      a: number,
      rsA: number,
      csA: number,
      m: number,
      k: number,
      ap: number,
      s0: number,
      s1: number,
    ): void;
    packB(
      b: number,
      csB: number,
      rsB: number,
      n: number,
      k: number,
      bp: number,
      s0: number,
      s1: number,
    ): void;
    compute(
      ap: number,
      bp: number,
      c: number,
      ldc: number,
      k: number,
      mt0: number,
      mt1: number,
      nt0: number,
      nt1: number,
      n: number,
    ): void;
  };
  mr: number;
  nr: number;
  conv: NonNullable<ReturnType<typeof convModuleFor>>;
}

function setup(macs: number, ...arrays: FloatArray[]): Setup | null {
  const backend = getKernelBackend();
  if (backend === "js" || (backend === "auto" && macs < MIN_MACS)) return null;
  const f32 = arrays[0] instanceof Float32Array;
  for (const a of arrays) if (a instanceof Float32Array !== f32) return null;
  const rt = wasmRuntime();
  if (rt === null) return null;
  const dtype = f32 ? "float32" : "float64";
  const conv = convModuleFor(dtype);
  if (conv === null || conv.arena !== rt.local) return null;
  const engine = rt.local.engines[dtype];
  return {
    arena: rt.local,
    es: f32 ? 4 : 8,
    view: f32 ? rt.local.f32 : rt.local.f64,
    fns: engine.fns as unknown as Setup["fns"],
    mr: engine.shape.mr,
    nr: engine.shape.nr,
    conv,
  };
}

/** Byte offsets of consecutive regions from HEAP_BASE (64-byte aligned, 64 bytes of slack after each), or null. */
function regions(s: Setup, bytes: number[]): number[] | null {
  const at: number[] = [];
  let p = HEAP_BASE;
  for (const b of bytes) {
    at.push(p);
    p += (b + 64 + 63) & ~63;
  }
  if (p > 2 ** 31 || !ensureCapacity(s.arena, p)) return null;
  s.view = s.es === 4 ? s.arena.f32 : s.arena.f64;
  return at;
}

/** Writes the window kernel's tap tables; true when every tap reaches every output (no zeroing needed). */
function tables(s: Setup, d: ConvDims, ti: number, tj: number): boolean {
  const tabKi = tapRanges(d.kh, d.dh, d.sh, d.ph, d.h, d.oh);
  const tabKj = tapRanges(d.kw, d.dw, d.sw, d.pw, d.w, d.ow);
  s.arena.i32.set(tabKi, ti / 4);
  s.arena.i32.set(tabKj, tj / 4);
  return coversAll(tabKi, d.oh) && coversAll(tabKj, d.ow);
}

function window(d: ConvDims, xp: number, cp: number, ti: number, tj: number): number[] {
  return [xp, cp, ti, tj, ...windowArgs(d, d)];
}

const tilesOf = (size: number, tile: number) => Math.ceil(size / tile);

function sizes(d: ConvDims) {
  const L = d.oh * d.ow;
  const og = d.o / d.groups;
  const K = (d.c / d.groups) * d.kh * d.kw;
  return { L, og, K, macs: d.n * d.o * L * K };
}

function finish(gemms: number): void {
  recordConv("wasm");
  for (let i = 0; i < gemms; i++) recordGemm(1);
}

/** With a bias b [O], it is added to every position of its channel before the copy out. */
export function convForwardWasm(
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  out: FloatArray,
  d: ConvDims,
): boolean {
  const { L, og, K, macs } = sizes(d);
  const s = setup(macs, x, w, out, ...(b === null ? [] : [b]));
  if (s === null) return false;
  const { es, mr, nr, fns } = s;
  const NL = d.n * L;
  const mTiles = tilesOf(og, mr);
  const nTiles = tilesOf(L, nr);
  const colsLen = d.groups * K * NL;
  const at = regions(s, [
    x.length * es,
    w.length * es,
    colsLen * es,
    d.groups * mTiles * mr * K * es,
    nTiles * nr * K * es,
    (out.length + mr * L) * es,
    8 * d.kh,
    8 * d.kw,
    d.o * es,
  ]);
  if (at === null) return false;
  const [xp, wp, cp, ap, bp, op, ti, tj, biasp] = at;
  const full = tables(s, d, ti, tj);
  s.view.set(x, xp / es);
  s.view.set(w, wp / es);
  if (!full) s.view.fill(0, cp / es, cp / es + colsLen);
  s.conv.kernels.im2col(...window(d, xp, cp, ti, tj));
  const panel = mTiles * mr * K * es;
  for (let g = 0; g < d.groups; g++)
    fns.packA(wp + g * og * K * es, K * es, es, og, K, ap + g * panel, 0, mTiles);
  for (let n = 0; n < d.n; n++) {
    for (let g = 0; g < d.groups; g++) {
      // op(B) = cols_g[:, n·L : (n+1)·L]: element (p, j) = cols[g·K + p, n·L + j]
      fns.packB(cp + (g * K * NL + n * L) * es, es, NL * es, L, K, bp, 0, nTiles);
      fns.compute(ap + g * panel, bp, op + (n * d.o + g * og) * L * es, L * es, K, 0, mTiles, 0, nTiles, L);
    }
  }
  if (b !== null) {
    s.view.set(b, biasp / es);
    s.conv.kernels.addBias(op, biasp, d.n * d.o, d.o, L);
  }
  out.set(s.view.subarray(op / es, op / es + out.length));
  finish(d.n * d.groups);
  return true;
}

export function convInputGradWasm(g: FloatArray, w: FloatArray, dx: FloatArray, d: ConvDims): boolean {
  const { L, og, K, macs } = sizes(d);
  const s = setup(macs, g, w, dx);
  if (s === null) return false;
  const { es, mr, nr, fns } = s;
  const NL = d.n * L;
  const mTiles = tilesOf(K, mr);
  const nTiles = tilesOf(L, nr);
  const colsLen = d.groups * K * NL;
  const at = regions(s, [
    g.length * es,
    w.length * es,
    (colsLen + mr * NL) * es,
    d.groups * mTiles * mr * og * es,
    nTiles * nr * og * es,
    dx.length * es,
    8 * d.kh,
    8 * d.kw,
  ]);
  if (at === null) return false;
  const [gp, wp, cp, ap, bp, xp, ti, tj] = at;
  tables(s, d, ti, tj);
  s.view.set(g, gp / es);
  s.view.set(w, wp / es);
  const panel = mTiles * mr * og * es;
  // op(A) = w_gᵀ [K, O/groups]: element (i, p) = w[g·og + p, i]
  for (let grp = 0; grp < d.groups; grp++)
    fns.packA(wp + grp * og * K * es, es, K * es, K, og, ap + grp * panel, 0, mTiles);
  // Blocks in memory order (group-major, as the rows of cols): each tile of rows computed past K lands in the next group, written later.
  for (let grp = 0; grp < d.groups; grp++) {
    for (let n = 0; n < d.n; n++) {
      // op(B) = g[n, group rows] [O/groups, L]
      fns.packB(gp + (n * d.o + grp * og) * L * es, es, L * es, L, og, bp, 0, nTiles);
      fns.compute(
        ap + grp * panel,
        bp,
        cp + (grp * K * NL + n * L) * es,
        NL * es,
        og,
        0,
        mTiles,
        0,
        nTiles,
        L,
      );
    }
  }
  s.view.fill(0, xp / es, xp / es + dx.length);
  s.conv.kernels.col2im(...window(d, xp, cp, ti, tj));
  dx.set(s.view.subarray(xp / es, xp / es + dx.length));
  finish(d.n * d.groups);
  return true;
}

export function convWeightGradWasm(x: FloatArray, g: FloatArray, dw: FloatArray, d: ConvDims): boolean {
  const { L, og, K, macs } = sizes(d);
  const s = setup(macs, x, g, dw);
  if (s === null) return false;
  const { es, mr, nr, fns } = s;
  const NL = d.n * L;
  const mTiles = tilesOf(og, mr);
  const nTiles = tilesOf(K, nr);
  const colsLen = d.groups * K * NL;
  const at = regions(s, [
    x.length * es,
    g.length * es,
    colsLen * es,
    mTiles * mr * NL * es,
    nTiles * nr * NL * es,
    (dw.length + mr * K) * es,
    8 * d.kh,
    8 * d.kw,
  ]);
  if (at === null) return false;
  const [xp, gp, cp, ap, bp, wp, ti, tj] = at;
  const full = tables(s, d, ti, tj);
  s.view.set(x, xp / es);
  // g [N, O, L] regrouped as [O, N·L] (group-major rows): the sum over samples runs inside one product.
  const gBase = gp / es;
  for (let oc = 0; oc < d.o; oc++) {
    for (let n = 0; n < d.n; n++) {
      const src = (n * d.o + oc) * L;
      s.view.set(g.subarray(src, src + L), gBase + (oc * d.n + n) * L);
    }
  }
  if (!full) s.view.fill(0, cp / es, cp / es + colsLen);
  s.conv.kernels.im2col(...window(d, xp, cp, ti, tj));
  for (let grp = 0; grp < d.groups; grp++) {
    fns.packA(gp + grp * og * NL * es, NL * es, es, og, NL, ap, 0, mTiles);
    // op(B) = cols_gᵀ [N·L, K]: element (p, j) = cols[g·K + j, p]
    fns.packB(cp + grp * K * NL * es, NL * es, es, K, NL, bp, 0, nTiles);
    fns.compute(ap, bp, wp + grp * og * K * es, K * es, NL, 0, mTiles, 0, nTiles, K);
  }
  dw.set(s.view.subarray(wp / es, wp / es + dw.length));
  finish(d.groups);
  return true;
}
