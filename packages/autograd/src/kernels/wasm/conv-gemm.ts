import { getKernelBackend, recordGemm } from "../backend.js";
import type { ConvDims } from "../conv.js";
import { recordConv } from "../conv-stats.js";
import type { FloatArray } from "../types.js";
import { convModuleFor, fullTaps, taps } from "./conv.js";
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

function tables(s: Setup, d: ConvDims, ty: number, tx: number): boolean {
  const tabY = taps(d.oh, d.sh, d.ph, d.dh, d.kh, d.h);
  const tabX = taps(d.ow, d.sw, d.pw, d.dw, d.kw, d.w);
  s.arena.i32.set(tabY, ty / 4);
  s.arena.i32.set(tabX, tx / 4);
  return fullTaps(tabY, d.kh) && fullTaps(tabX, d.kw);
}

function windowArgs(d: ConvDims, xp: number, cp: number, ty: number, tx: number): number[] {
  const cg = d.c / d.groups;
  return [xp, cp, ty, tx, d.groups, d.n, d.c, cg, d.h * d.w, d.w, d.oh, d.ow, d.kh, d.kw, d.dh, d.dw];
}

const tilesOf = (size: number, tile: number) => Math.ceil(size / tile);

function sizes(d: ConvDims) {
  const L = d.oh * d.ow;
  const og = d.o / d.groups;
  const K = (d.c / d.groups) * d.kh * d.kw;
  return { L, og, K, macs: d.n * d.o * L * K };
}

function finish(s: Setup, gemms: number): void {
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
  const mTiles = tilesOf(og, mr);
  const nTiles = tilesOf(L, nr);
  const colsLen = d.groups * d.n * L * K;
  const at = regions(s, [
    x.length * es,
    w.length * es,
    colsLen * es,
    d.groups * mTiles * mr * K * es,
    nTiles * nr * K * es,
    (out.length + mr * L) * es,
    12 * d.oh,
    12 * d.ow,
    d.o * es,
  ]);
  if (at === null) return false;
  const [xp, wp, cp, ap, bp, op, ty, tx, biasp] = at;
  const full = tables(s, d, ty, tx);
  s.view.set(x, xp / es);
  s.view.set(w, wp / es);
  if (!full) s.view.fill(0, cp / es, cp / es + colsLen);
  s.conv.kernels.im2col(...windowArgs(d, xp, cp, ty, tx));
  const panel = mTiles * mr * K * es;
  for (let g = 0; g < d.groups; g++)
    fns.packA(wp + g * og * K * es, K * es, es, og, K, ap + g * panel, 0, mTiles);
  for (let b = 0; b < d.n; b++) {
    for (let g = 0; g < d.groups; g++) {
      // op(B) = cols_{g,b}ᵀ: element (p, j) = cols[(g·N + b)·L + j, p]
      fns.packB(cp + (g * d.n + b) * L * K * es, K * es, es, L, K, bp, 0, nTiles);
      fns.compute(ap + g * panel, bp, op + (b * d.o + g * og) * L * es, L * es, K, 0, mTiles, 0, nTiles, L);
    }
  }
  if (b !== null) {
    s.view.set(b, biasp / es);
    s.conv.kernels.addBias(op, biasp, d.n * d.o, d.o, L);
  }
  out.set(s.view.subarray(op / es, op / es + out.length));
  finish(s, d.n * d.groups);
  return true;
}

export function convInputGradWasm(g: FloatArray, w: FloatArray, dx: FloatArray, d: ConvDims): boolean {
  const { L, og, K, macs } = sizes(d);
  const s = setup(macs, g, w, dx);
  if (s === null) return false;
  const { es, mr, nr, fns } = s;
  const mTiles = tilesOf(L, mr);
  const nTiles = tilesOf(K, nr);
  const colsLen = d.groups * d.n * L * K;
  const at = regions(s, [
    g.length * es,
    w.length * es,
    (colsLen + mr * K) * es,
    mTiles * mr * og * es,
    d.groups * nTiles * nr * og * es,
    dx.length * es,
    12 * d.oh,
    12 * d.ow,
  ]);
  if (at === null) return false;
  const [gp, wp, cp, ap, bp, xp, ty, tx] = at;
  tables(s, d, ty, tx);
  s.view.set(g, gp / es);
  s.view.set(w, wp / es);
  const panel = nTiles * nr * og * es;
  // op(B) = w_g [O/groups, K]: element (p, j) = w[g·og + p, j]
  for (let grp = 0; grp < d.groups; grp++)
    fns.packB(wp + grp * og * K * es, es, K * es, K, og, bp + grp * panel, 0, nTiles);
  for (let grp = 0; grp < d.groups; grp++) {
    for (let b = 0; b < d.n; b++) {
      // op(A) = g_{b,grp}ᵀ [L, O/groups]: element (i, p) = g[b, grp·og + p, i]
      fns.packA(gp + (b * d.o + grp * og) * L * es, es, L * es, L, og, ap, 0, mTiles);
      fns.compute(
        ap,
        bp + grp * panel,
        cp + (grp * d.n + b) * L * K * es,
        K * es,
        og,
        0,
        mTiles,
        0,
        nTiles,
        K,
      );
    }
  }
  s.view.fill(0, xp / es, xp / es + dx.length);
  s.conv.kernels.col2im(...windowArgs(d, xp, cp, ty, tx));
  dx.set(s.view.subarray(xp / es, xp / es + dx.length));
  finish(s, d.n * d.groups);
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
  const colsLen = d.groups * NL * K;
  const at = regions(s, [
    x.length * es,
    g.length * es,
    colsLen * es,
    mTiles * mr * NL * es,
    nTiles * nr * NL * es,
    (dw.length + mr * K) * es,
    12 * d.oh,
    12 * d.ow,
  ]);
  if (at === null) return false;
  const [xp, gp, cp, ap, bp, wp, ty, tx] = at;
  const full = tables(s, d, ty, tx);
  s.view.set(x, xp / es);
  // g [N, O, L] regrouped as [groups, O/groups, N·L]: the sum over samples runs inside one product.
  const gBase = gp / es;
  for (let grp = 0; grp < d.groups; grp++) {
    for (let oc = 0; oc < og; oc++) {
      for (let b = 0; b < d.n; b++) {
        const src = (b * d.o + grp * og + oc) * L;
        s.view.set(g.subarray(src, src + L), gBase + ((grp * og + oc) * d.n + b) * L);
      }
    }
  }
  if (!full) s.view.fill(0, cp / es, cp / es + colsLen);
  s.conv.kernels.im2col(...windowArgs(d, xp, cp, ty, tx));
  for (let grp = 0; grp < d.groups; grp++) {
    fns.packA(gp + grp * og * NL * es, NL * es, es, og, NL, ap, 0, mTiles);
    fns.packB(cp + grp * NL * K * es, es, K * es, K, NL, bp, 0, nTiles);
    fns.compute(ap, bp, wp + grp * og * K * es, K * es, NL, 0, mTiles, 0, nTiles, K);
  }
  dw.set(s.view.subarray(wp / es, wp / es + dw.length));
  finish(s, d.groups);
  return true;
}
