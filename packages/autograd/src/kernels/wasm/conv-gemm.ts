import { getKernelBackend, getKernelThreads, recordGemm } from "../backend.js";
import type { ConvDims } from "../conv.js";
import { recordConv } from "../conv-stats.js";
import type { FloatArray } from "../types.js";
import type { WasmDType } from "./codegen.js";
import { convKernelsOf, convModuleFor, coversAll, tapRanges, windowArgs } from "./conv.js";
import { type ConvKernels, PACKED_NR } from "./conv-module.js";
import { nowMs } from "./platform.js";
import { ensureCapacity, HEAP_BASE, type WasmArena, type WasmRuntime, wasmRuntime } from "./runtime.js";
import { chooseThreads, POLICY_MIN_MACS, recordRun, type ThreadedKind } from "./thread-policy.js";
import {
  helpersMustJoin,
  type KernelFns,
  productJob,
  readyHelpers,
  runJob,
  runWindowJob,
  sharedConvModule,
  startHelpers,
  threadsSupported,
} from "./workers.js";

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

interface GemmFns {
  packA(a: number, rsA: number, csA: number, m: number, k: number, ap: number, s0: number, s1: number): void;
  packB(b: number, csB: number, rsB: number, n: number, k: number, bp: number, s0: number, s1: number): void;
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
}

interface Setup {
  rt: WasmRuntime;
  arena: WasmArena;
  es: number;
  view: FloatArray;
  fns: GemmFns;
  mr: number;
  nr: number;
  conv: ConvKernels;
  /** Threads taking part in the products (1: the calling thread alone, on the unshared arena). */
  threads: number;
  f32: boolean;
  kind: ThreadedKind;
  macs: number;
  start: number;
}

/** The conv module instantiated on the shared memory, for calls whose products use helper threads. */
const sharedModules: Record<WasmDType, ConvKernels | null | undefined> = {
  float32: undefined,
  float64: undefined,
};

function sharedConvKernels(rt: WasmRuntime, dtype: WasmDType): ConvKernels | null {
  const cached = sharedModules[dtype];
  if (cached !== undefined) return cached;
  try {
    // The module the helper threads instantiate too (their part of a split im2col or col2im).
    const { exports } = new rt.api.Instance(sharedConvModule(rt, dtype), { env: { memory: rt.memory } });
    return (sharedModules[dtype] = convKernelsOf(exports));
  } catch {
    return (sharedModules[dtype] = null);
  }
}

/**
 * Backend, dtypes, and how many threads: the products of one call are split over helper threads
 * when the thread policy (thread-policy.ts, measured as it goes) says helpers pay at this size, as
 * for a plain matmul; everything then lives in the shared arena.
 */
function setup(kind: ThreadedKind, macs: number, ...arrays: FloatArray[]): Setup | null {
  const backend = getKernelBackend();
  // Empty products (a zero-size batch or output) go to the JS path: packing needs k >= 1.
  if (backend === "js" || macs === 0 || (backend === "auto" && macs < MIN_MACS)) return null;
  const f32 = arrays[0] instanceof Float32Array;
  for (const a of arrays) if (a instanceof Float32Array !== f32) return null;
  const rt = wasmRuntime();
  if (rt === null) return null;
  const dtype = f32 ? "float32" : "float64";
  let threads = 1;
  let conv: ConvKernels | null = null;
  const want = threadsSupported(rt) ? chooseThreads(macs, f32, getKernelThreads(), kind) : 1;
  if (want > 1) {
    startHelpers(rt, want - 1);
    const ready = readyHelpers(rt, want - 1);
    conv = ready > 0 ? sharedConvKernels(rt, dtype) : null;
    if (conv !== null) threads = 1 + ready;
  }
  if (threads === 1) {
    const local = convModuleFor(dtype);
    if (local === null || local.arena !== rt.local) return null;
    conv = local.kernels;
  }
  const arena = threads > 1 ? rt : rt.local;
  const engine = arena.engines[dtype];
  return {
    rt,
    arena,
    es: f32 ? 4 : 8,
    view: f32 ? arena.f32 : arena.f64,
    fns: engine.fns as unknown as GemmFns,
    mr: engine.shape.mr,
    nr: engine.shape.nr,
    conv: conv as ConvKernels,
    threads,
    f32,
    kind,
    macs,
    start: macs >= POLICY_MIN_MACS ? nowMs() : 0,
  };
}

/** One product C[m, n] = op(A)·op(B) from operands already in the arena (strides as packA/packB take them). */
function product(
  s: Setup,
  a: [number, number, number],
  b: [number, number, number],
  c: number,
  ldc: number,
  m: number,
  n: number,
  k: number,
  ap: number,
  bp: number,
): void {
  const mTiles = tilesOf(m, s.mr);
  const nTiles = tilesOf(n, s.nr);
  const packA = [a[0], a[1], a[2], m, k, ap, 0, 0];
  const packB = [b[0], b[1], b[2], n, k, bp, 0, 0];
  const compute = [ap, bp, c, ldc, k, 0, mTiles, 0, nTiles, n];
  const used = Math.min(s.threads, Math.max(mTiles, nTiles));
  if (used <= 1) {
    s.fns.packA(a[0], a[1], a[2], m, k, ap, 0, mTiles);
    s.fns.packB(b[0], b[1], b[2], n, k, bp, 0, nTiles);
    s.fns.compute(ap, bp, c, ldc, k, 0, mTiles, 0, nTiles, n);
    return;
  }
  runJob(s.rt, s.fns as unknown as KernelFns, productJob(s.f32, mTiles, nTiles, packA, packB, compute, used));
}

/**
 * C = packed A · packed B, both packed already: on one thread one compute call, otherwise the column
 * tiles split over the threads as in product() (bit-identical: every tile is computed the same way).
 */
function computePacked(
  s: Setup,
  ap: number,
  bp: number,
  c: number,
  ldc: number,
  k: number,
  mTiles: number,
  nTiles: number,
  n: number,
): void {
  const used = Math.min(s.threads, nTiles);
  if (used <= 1) {
    s.fns.compute(ap, bp, c, ldc, k, 0, mTiles, 0, nTiles, n);
    return;
  }
  const unused = [0, 0, 0, 0, 0, 0, 0, 0];
  runJob(s.rt, s.fns as unknown as KernelFns, {
    dtype: s.f32 ? 0 : 1,
    splitRows: false,
    tiles: nTiles,
    chunkTiles: Math.max(1, Math.ceil(nTiles / (16 * used))),
    first: helpersMustJoin() ? 0 : -1,
    sharedTiles: 0,
    sharedChunkTiles: 1,
    pack: unused,
    sharedPack: unused,
    compute: [ap, bp, c, ldc, k, 0, mTiles, 0, nTiles, n],
    threads: used,
    splitPrepacked: true,
  });
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

/**
 * im2col (add false) or col2im (add true) of all d.n samples between x at xp and the columns at cp; on
 * several threads the samples are split into chunks the threads draw (WindowJob: disjoint writes, each
 * sample computed as on one thread, so the results are bit-identical).
 */
function windows(s: Setup, add: boolean, d: ConvDims, xp: number, cp: number, ti: number, tj: number): void {
  const args = [xp, cp, ti, tj, ...windowArgs(d, d)];
  const used = Math.min(s.threads, d.n);
  if (used <= 1) {
    if (add) s.conv.col2im(...args);
    else s.conv.im2col(...args);
    return;
  }
  runWindowJob(s.rt, add ? s.conv.col2im : s.conv.im2col, {
    dtype: s.f32 ? 0 : 1,
    add,
    samples: d.n,
    chunk: Math.max(1, Math.ceil(d.n / (4 * used))),
    first: helpersMustJoin() ? 0 : -1,
    threads: used,
    args,
  });
}

const tilesOf = (size: number, tile: number) => Math.ceil(size / tile);

function sizes(d: ConvDims) {
  const L = d.oh * d.ow;
  const og = d.o / d.groups;
  const K = (d.c / d.groups) * d.kh * d.kw;
  return { L, og, K, macs: d.n * d.o * L * K };
}

function finish(s: Setup, gemms: number): void {
  if (s.start !== 0) recordRun(s.macs, s.f32, s.threads, nowMs() - s.start, s.kind);
  recordConv("wasm");
  for (let i = 0; i < gemms; i++) recordGemm(s.threads);
}

/** g [N, O, L] copied in at byte `at` regrouped as [O, N·L] (group-major rows), the batch along the rows like the columns; `scratch` holds the raw copy. */
function regroupInto(
  s: Setup,
  at: number,
  scratch: number,
  g: FloatArray,
  n: number,
  o: number,
  L: number,
): void {
  s.view.set(g, scratch / s.es);
  s.conv.swapBlocks(scratch, at, n, o, L * s.es);
}

/**
 * y_g [O/groups, N·L] = w_g · cols_g, one product per group, then back to [N, O, L] on the way out.
 * With a bias b [O], it is added to every position of its channel first.
 */
export function convForwardWasm(
  x: FloatArray,
  w: FloatArray,
  b: FloatArray | null,
  out: FloatArray,
  d: ConvDims,
): boolean {
  const { L, og, K, macs } = sizes(d);
  const s = setup("convForward", macs, x, w, out, ...(b === null ? [] : [b]));
  if (s === null) return false;
  const { es, mr, nr } = s;
  const NL = d.n * L;
  const colsLen = d.groups * K * NL;
  const at = regions(s, [
    x.length * es,
    w.length * es,
    colsLen * es,
    tilesOf(og, mr) * mr * K * es,
    tilesOf(NL, nr) * nr * K * es,
    (out.length + mr * NL) * es,
    8 * d.kh,
    8 * d.kw,
    d.o * es,
    out.length * es,
  ]);
  if (at === null) return false;
  const [xp, wp, cp, ap, bp, yp, ti, tj, biasp, op] = at;
  const full = tables(s, d, ti, tj);
  s.view.set(x, xp / es);
  s.view.set(w, wp / es);
  const direct = packedIm2col(s, d, full);
  if (direct) {
    // The columns go straight into packed B (one pass, no cols region); then only A is packed.
    s.conv.im2colPacked(xp, bp, d.n, d.c, d.h * d.w, d.w, d.oh, d.ow, d.kh, d.kw, d.dh, d.dw);
    const mTiles = tilesOf(og, mr);
    s.fns.packA(wp, K * es, es, og, K, ap, 0, mTiles);
    computePacked(s, ap, bp, yp, NL * es, K, mTiles, tilesOf(NL, nr), NL);
  } else {
    if (!full) s.view.fill(0, cp / es, cp / es + colsLen);
    windows(s, false, d, xp, cp, ti, tj);
  }
  // Groups in memory order: a tile of rows computed past O/groups lands in the next group, written later.
  for (let g = 0; !direct && g < d.groups; g++) {
    product(
      s,
      [wp + g * og * K * es, K * es, es],
      [cp + g * K * NL * es, es, NL * es],
      yp + g * og * NL * es,
      NL * es,
      og,
      NL,
      K,
      ap,
      bp,
    );
  }
  if (b !== null) {
    s.view.set(b, biasp / es);
    s.conv.addBias(yp, biasp, d.o, d.o, NL);
  }
  s.conv.swapBlocks(yp, op, d.o, d.n, L * es); // [O, N, L] -> [N, O, L]
  out.set(s.view.subarray(op / es, op / es + out.length));
  finish(s, d.groups);
  return true;
}

/**
 * Whether the forward can im2col straight into packed B (conv-module.ts im2colPacked): float32, one
 * group, windows inside the input, stride 1, rows of outputs in whole vectors. Results are the same
 * as packing the column matrix (both are copies), so one and two threads stay bit-identical.
 */
function packedIm2col(s: Setup, d: ConvDims, full: boolean): boolean {
  return (
    s.f32 &&
    s.nr === PACKED_NR &&
    d.groups === 1 &&
    full &&
    d.ph === 0 &&
    d.pw === 0 &&
    d.sh === 1 &&
    d.sw === 1 &&
    d.ow % 4 === 0
  );
}

/** cols_g [K, N·L] = w_gᵀ · g_g, one product per group, then col2im. */
export function convInputGradWasm(g: FloatArray, w: FloatArray, dx: FloatArray, d: ConvDims): boolean {
  const { L, og, K, macs } = sizes(d);
  const s = setup("convInputGrad", macs, g, w, dx);
  if (s === null) return false;
  const { es, mr, nr } = s;
  const NL = d.n * L;
  const colsLen = d.groups * K * NL;
  const at = regions(s, [
    g.length * es,
    w.length * es,
    (colsLen + mr * NL) * es,
    tilesOf(K, mr) * mr * og * es,
    tilesOf(NL, nr) * nr * og * es,
    dx.length * es,
    8 * d.kh,
    8 * d.kw,
    g.length * es,
  ]);
  if (at === null) return false;
  const [gp, wp, cp, ap, bp, xp, ti, tj, rawg] = at;
  tables(s, d, ti, tj);
  regroupInto(s, gp, rawg, g, d.n, d.o, L);
  s.view.set(w, wp / es);
  for (let grp = 0; grp < d.groups; grp++) {
    product(
      s,
      [wp + grp * og * K * es, es, K * es], // w_gᵀ: element (i, p) = w[g·og + p, i]
      [gp + grp * og * NL * es, es, NL * es],
      cp + grp * K * NL * es,
      NL * es,
      K,
      NL,
      og,
      ap,
      bp,
    );
  }
  s.view.fill(0, xp / es, xp / es + dx.length);
  windows(s, true, d, xp, cp, ti, tj);
  dx.set(s.view.subarray(xp / es, xp / es + dx.length));
  finish(s, d.groups);
  return true;
}

/** dw_g [O/groups, K] = g_g · cols_gᵀ, one product per group over all samples. */
export function convWeightGradWasm(x: FloatArray, g: FloatArray, dw: FloatArray, d: ConvDims): boolean {
  const { L, og, K, macs } = sizes(d);
  const s = setup("convWeightGrad", macs, x, g, dw);
  if (s === null) return false;
  const { es, mr, nr } = s;
  const NL = d.n * L;
  const colsLen = d.groups * K * NL;
  const at = regions(s, [
    x.length * es,
    g.length * es,
    colsLen * es,
    tilesOf(og, mr) * mr * NL * es,
    tilesOf(K, nr) * nr * NL * es,
    (dw.length + mr * K) * es,
    8 * d.kh,
    8 * d.kw,
    g.length * es,
  ]);
  if (at === null) return false;
  const [xp, gp, cp, ap, bp, wp, ti, tj, rawg] = at;
  const full = tables(s, d, ti, tj);
  s.view.set(x, xp / es);
  regroupInto(s, gp, rawg, g, d.n, d.o, L);
  if (!full) s.view.fill(0, cp / es, cp / es + colsLen);
  windows(s, false, d, xp, cp, ti, tj);
  for (let grp = 0; grp < d.groups; grp++) {
    product(
      s,
      [gp + grp * og * NL * es, NL * es, es],
      [cp + grp * K * NL * es, NL * es, es], // cols_gᵀ: element (p, j) = cols[g·K + j, p]
      wp + grp * og * K * es,
      K * es,
      og,
      K,
      NL,
      ap,
      bp,
    );
  }
  dw.set(s.view.subarray(wp / es, wp / es + dw.length));
  finish(s, d.groups);
  return true;
}
