import { type FunctionBuilder, I32, type Local, V128 } from "./assembler.js";
import {
  forRange,
  type ImportedMemory,
  i32Function,
  isaFor,
  moduleWithMemory,
  type WasmDType,
} from "./codegen.js";

/**
 * Generates the convolution/pooling module: im2col and col2im in the GEMM-ready layout of
 * ../conv.ts (rows = kernel taps, columns = batch × output positions), the max-pool argmax, gather /
 * scatter-add along the last axis and the per-channel bias add, for one dtype. Addresses are byte
 * addresses. Window bounds are precomputed by the caller into small i32 tables (which output rows
 * and columns a tap reaches inside the input; for the argmax, which taps of a window do), so the
 * generated loops need no divisions or bounds tests.
 *
 * im2col/col2im copy each run of output columns with f32x4/f64x2 moves at stride 1 (the common
 * case), element by element otherwise and for the tail. The results
 * are bit-identical to the JS loops (copies; col2im adds in the same order).
 */

export interface ConvModuleOptions extends ImportedMemory {
  dtype: WasmDType;
}

/**
 * (x, cols, tabKi, tabKj, n, c, plane, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, b0, b1): samples
 * [b0, b1) of the n in x and cols, so that threads can split a call by samples (disjoint in both).
 */
export type WindowKernel = (...args: number[]) => void;

export interface ConvKernels {
  im2col: WindowKernel;
  col2im: WindowKernel;
  /** (x, out, tabY, tabX, planes, plane, w, oh, ow, dh, dw, vecLo, vecHi); the SIMD columns [vecLo, vecHi) are for float32 only */
  argmax: (...args: number[]) => void;
  /** (x, index, out, size, m, rows) */
  gather: (...args: number[]) => void;
  /** (g, index, out, size, m, rows) */
  scatterAdd: (...args: number[]) => void;
  /** (c, b, blocks, channels, len) */
  addBias: (...args: number[]) => void;
  /** (src, dst, a, b, lenBytes) */
  swapBlocks: (...args: number[]) => void;
  /** (x, index, out, size, m, outer, rowBytes) */
  gatherRows: (...args: number[]) => void;
  /** (g, index, out, size, m, outer, inner) */
  scatterAddRows: (...args: number[]) => void;
  /** (x, bp, n, c, plane, w, oh, ow, kh, kw, dh, dw): float32 only, see buildIm2colPacked */
  im2colPacked: (...args: number[]) => void;
}

function loadTriple(f: FunctionBuilder, tab: Local, i: Local, k0: Local, k1: Local, i0: Local): void {
  const at = () => f.get(tab).get(i).i32Const(12).i32Mul().i32Add();
  at().i32Load(0).set(k0);
  at().i32Load(4).set(k1);
  at().i32Load(8).set(i0);
}

/**
 * im2col (add = false: cols[d] = x[s]) or col2im (add = true: x[s] += cols[d]) in the layout
 * [Cg·kh·kw·groups rows = (c, ki, kj), N·L columns]; tabKi[ki] = (oy0, oy1) and tabKj[kj] = (ox0, ox1)
 * are the output rows and columns whose tap falls inside the input. Only samples [b0, b1) are done.
 */
function buildWindows(dtype: WasmDType, add: boolean): FunctionBuilder {
  const isa = isaFor(dtype);
  const es = isa.es;
  const [f, [x, cols, tabKi, tabKj, n, c, plane, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, b0, b1]] =
    i32Function(20);
  const ch = f.local(I32);
  const ki = f.local(I32);
  const kj = f.local(I32);
  const b = f.local(I32);
  const oy = f.local(I32);
  const y0 = f.local(I32);
  const y1 = f.local(I32);
  const x0 = f.local(I32);
  const x1 = f.local(I32);
  const row = f.local(I32); // byte address of the current cols row
  const rowBytes = f.local(I32);
  const L = f.local(I32);
  const xb = f.local(I32);
  const dp = f.local(I32);
  const sp = f.local(I32);
  const cnt = f.local(I32);
  const step = f.local(I32);
  const vec = f.local(V128);
  f.get(oh).get(ow).i32Mul().set(L);
  f.get(L).get(n).i32Mul().i32Const(es).i32Mul().set(rowBytes);
  f.get(sw).i32Const(es).i32Mul().set(step);
  f.get(cols).set(row);
  forRange(f, ch, 0, c, 1, () => {
    forRange(f, ki, 0, kh, 1, () => {
      f.get(tabKi).get(ki).i32Const(8).i32Mul().i32Add().i32Load(0).set(y0);
      f.get(tabKi).get(ki).i32Const(8).i32Mul().i32Add().i32Load(4).set(y1);
      forRange(f, kj, 0, kw, 1, () => {
        f.get(tabKj).get(kj).i32Const(8).i32Mul().i32Add().i32Load(0).set(x0);
        f.get(tabKj).get(kj).i32Const(8).i32Mul().i32Add().i32Load(4).set(x1);
        forRange(f, b, b0, b1, 1, () => {
          // xb = x + ((b·c + ch)·plane − pw + kj·dw + x0·sw)·es: the first valid column of the row
          f.get(b).get(c).i32Mul().get(ch).i32Add().get(plane).i32Mul();
          f.get(pw).i32Sub().get(kj).get(dw).i32Mul().i32Add().get(x0).get(sw).i32Mul().i32Add();
          f.i32Const(es).i32Mul().get(x).i32Add().set(xb);
          forRange(f, oy, y0, y1, 1, () => {
            // sp = xb + (oy·sh − ph + ki·dh)·w·es; dp = row + (b·L + oy·ow + x0)·es
            f.get(oy).get(sh).i32Mul().get(ph).i32Sub().get(ki).get(dh).i32Mul().i32Add().get(w).i32Mul();
            f.i32Const(es).i32Mul().get(xb).i32Add().set(sp);
            f.get(b).get(L).i32Mul().get(oy).get(ow).i32Mul().i32Add().get(x0).i32Add();
            f.i32Const(es).i32Mul().get(row).i32Add().set(dp);
            f.get(x1).get(x0).i32Sub().set(cnt);
            // Whole vectors while the run is contiguous in x (stride 1 along the row).
            f.get(sw).i32Const(1).i32Eq().if();
            f.block().loop();
            f.get(cnt).i32Const(isa.lanes).i32LtS().brIf(1);
            if (add) {
              f.get(sp).get(sp).v128Load().get(dp).v128Load();
              isa.vec.add(f).v128Store();
            } else {
              f.get(dp).get(sp).v128Load().set(vec).get(vec).v128Store();
            }
            f.get(dp).i32Const(16).i32Add().set(dp);
            f.get(sp).i32Const(16).i32Add().set(sp);
            f.get(cnt).i32Const(isa.lanes).i32Sub().set(cnt);
            f.br(0).end().end();
            f.end();
            f.block().loop();
            f.get(cnt).i32Const(1).i32LtS().brIf(1);
            if (add) {
              f.get(sp);
              isa.scalar.load(f.get(sp));
              isa.scalar.load(f.get(dp));
              isa.scalar.add(f);
              isa.scalar.store(f);
            } else {
              f.get(dp);
              isa.scalar.load(f.get(sp));
              isa.scalar.store(f);
            }
            f.get(dp).i32Const(es).i32Add().set(dp);
            f.get(sp).get(step).i32Add().set(sp);
            f.get(cnt).i32Const(1).i32Sub().set(cnt);
            f.br(0).end().end();
          });
        });
        f.get(row).get(rowBytes).i32Add().set(row);
      });
    });
  });
  return f;
}

/**
 * First maximum of each window (a NaN wins, as in the JS loop); writes flat in-plane indices, -1 for
 * a window with no tap inside the plane. Pointers step through the window; the index is recovered
 * from the winning address once per window.
 */
function buildArgmax(dtype: WasmDType): FunctionBuilder {
  const isa = isaFor(dtype);
  const es = isa.es;
  const shift = es === 4 ? 2 : 3;
  const [f, [x, out, tabY, tabX, planes, plane, w, oh, ow, dh, dw, vecLo, vecHi]] = i32Function(13);
  const p = f.local(I32);
  const oy = f.local(I32);
  const ox = f.local(I32);
  const ki = f.local(I32);
  const kj = f.local(I32);
  const ki0 = f.local(I32);
  const ki1 = f.local(I32);
  const iy0 = f.local(I32);
  const kj0 = f.local(I32);
  const kj1 = f.local(I32);
  const ix0 = f.local(I32);
  const xb = f.local(I32);
  const o = f.local(I32);
  const rowp = f.local(I32);
  const ptr = f.local(I32);
  const best = f.local(I32);
  const rowStep = f.local(I32);
  const colStep = f.local(I32);
  const take = f.local(I32);
  const v = f.local(isa.scalar.type);
  const bestV = f.local(isa.scalar.type);
  const ne = () => (isa.f32 ? f.f32Ne() : f.f64Ne());
  const vBest = f.local(V128);
  const vIdx = f.local(V128);
  const vA = f.local(V128);
  const vB = f.local(V128);
  const vEven = f.local(V128);
  const vOdd = f.local(V128);
  const baseIdx = f.local(I32);
  const lanesBytes = (lanes: number[]) => lanes.flatMap((l) => [l * 4, l * 4 + 1, l * 4 + 2, l * 4 + 3]);
  const idxConst = Array.from(new Uint8Array(Int32Array.from([0, 2, 4, 6]).buffer));
  /** Lanes where v beats the best so far (bestV < v, or v is NaN and bestV is not) take v and its index. */
  const candidate = (vals: typeof vA, offset: number) => {
    f.get(vBest).get(vals).f32x4Lt();
    f.get(vals).get(vals).f32x4Ne();
    f.get(vBest).get(vBest).f32x4Eq();
    f.v128And().v128Or().set(vA);
    f.get(vals).get(vBest).get(vA).v128Bitselect().set(vBest);
    f.get(baseIdx);
    if (offset) f.i32Const(offset).i32Add();
    f.i32x4Splat().v128Const(idxConst).i32x4Add();
    f.get(vIdx).get(vA).v128Bitselect().set(vIdx);
  };
  /** Even and odd elements of the 8 floats at rowp: taps kj = 0 and 1 of four windows of width and stride 2. */
  const loadPairs = () => {
    f.get(rowp).v128Load().set(vA);
    f.get(rowp).v128Load(16).set(vB);
    f.get(vA)
      .get(vB)
      .i8x16Shuffle(lanesBytes([0, 2, 4, 6]))
      .set(vEven);
    f.get(vA)
      .get(vB)
      .i8x16Shuffle(lanesBytes([1, 3, 5, 7]))
      .set(vOdd);
  };
  f.get(dh).get(w).i32Mul().i32Const(es).i32Mul().set(rowStep);
  f.get(dw).i32Const(es).i32Mul().set(colStep);
  f.get(out).set(o);
  forRange(f, p, 0, planes, 1, () => {
    f.get(x).get(p).get(plane).i32Mul().i32Const(es).i32Mul().i32Add().set(xb);
    forRange(f, oy, 0, oh, 1, () => {
      loadTriple(f, tabY, oy, ki0, ki1, iy0);
      // SIMD (float32, kernel and stride 2 along the row, no dilation): four windows at once for
      // ox in [vecLo, vecHi), every window wholly inside the row; the first maximum in tap order wins.
      f.i32Const(0).set(ox);
      f.block().loop();
      f.get(ox).get(ow).i32GeU().brIf(1);
      f.get(ox).get(vecLo).i32GeS();
      f.get(ox).i32Const(4).i32Add().get(vecHi).i32LeS().i32And();
      f.get(ki0).get(ki1).i32LtS().i32And();
      f.if();
      loadTriple(f, tabX, ox, kj0, kj1, ix0);
      // baseIdx = (iy0 + ki0·dh)·w + ix0, rowp = xb + baseIdx·es
      f.get(iy0).get(ki0).get(dh).i32Mul().i32Add().get(w).i32Mul().get(ix0).i32Add().set(baseIdx);
      f.get(baseIdx).i32Const(es).i32Mul().get(xb).i32Add().set(rowp);
      loadPairs();
      f.get(vEven).set(vBest);
      f.get(baseIdx).i32x4Splat().v128Const(idxConst).i32x4Add().set(vIdx);
      candidate(vOdd, 1);
      f.get(ki0).i32Const(1).i32Add().set(ki);
      f.block().loop();
      f.get(ki).get(ki1).i32GeS().brIf(1);
      f.get(rowp).get(rowStep).i32Add().set(rowp);
      f.get(baseIdx).get(dh).get(w).i32Mul().i32Add().set(baseIdx);
      loadPairs();
      candidate(vEven, 0);
      candidate(vOdd, 1);
      f.get(ki).i32Const(1).i32Add().set(ki);
      f.br(0).end().end();
      f.get(o).get(vIdx).v128Store();
      f.get(o).i32Const(16).i32Add().set(o);
      f.get(ox).i32Const(4).i32Add().set(ox);
      f.else();
      loadTriple(f, tabX, ox, kj0, kj1, ix0);
      f.i32Const(-1).set(best);
      isa.scalar.k(f, Number.NEGATIVE_INFINITY).set(bestV);
      // rowp = xb + ((iy0 + ki0·dh)·w + ix0 + kj0·dw)·es
      f.get(iy0).get(ki0).get(dh).i32Mul().i32Add().get(w).i32Mul().get(ix0).i32Add();
      f.get(kj0).get(dw).i32Mul().i32Add().i32Const(es).i32Mul().get(xb).i32Add().set(rowp);
      forRange(f, ki, ki0, ki1, 1, () => {
        f.get(rowp).set(ptr);
        forRange(f, kj, kj0, kj1, 1, () => {
          isa.scalar.load(f.get(ptr)).set(v);
          // take = bestV < v | nothing taken yet | (v is NaN & bestV is not): branch-free, since
          // the comparison is data-dependent (a branch here mispredicted about half the time).
          isa.scalar.lt(f.get(bestV).get(v));
          f.get(best).i32Const(-1).i32Eq().i32Or();
          f.get(v).get(v);
          ne();
          f.get(bestV).get(bestV);
          ne();
          f.i32Eqz().i32And().i32Or().set(take);
          f.get(ptr).get(best).get(take).select().set(best);
          f.get(v).get(bestV).get(take).select().set(bestV);
          f.get(ptr).get(colStep).i32Add().set(ptr);
        });
        f.get(rowp).get(rowStep).i32Add().set(rowp);
      });
      // index = (best − xb) / es, or -1 when no tap was taken
      f.get(o);
      f.get(best).get(xb).i32Sub().i32Const(shift).i32ShrS();
      f.i32Const(-1);
      f.get(best).i32Const(-1).i32Ne();
      f.select().i32Store();
      f.get(o).i32Const(4).i32Add().set(o);
      f.get(ox).i32Const(1).i32Add().set(ox);
      f.end();
      f.br(0).end().end();
    });
  });
  return f;
}

/** addBias(c, b, blocks, channels, len): c[i·len + j] += b[i mod channels] for i < blocks, j < len. */
function buildAddBias(dtype: WasmDType): FunctionBuilder {
  const isa = isaFor(dtype);
  const es = isa.es;
  const [f, [c, b, blocks, channels, len]] = i32Function(5);
  const i = f.local(I32);
  const ch = f.local(I32);
  const p = f.local(I32);
  const end = f.local(I32);
  const vecEnd = f.local(I32);
  const bv = f.local(V128);
  f.get(c).set(p);
  f.i32Const(0).set(ch);
  forRange(f, i, 0, blocks, 1, () => {
    isa.vec.splatLoad(f.get(b).get(ch).i32Const(es).i32Mul().i32Add()).set(bv);
    f.get(p).get(len).i32Const(es).i32Mul().i32Add().set(end);
    f.get(end).i32Const(16).i32Sub().set(vecEnd);
    f.block().loop();
    f.get(p).get(vecEnd).i32GtS().brIf(1);
    f.get(p);
    isa.vec.add(f.get(p).v128Load().get(bv)).v128Store();
    f.get(p).i32Const(16).i32Add().set(p);
    f.br(0).end().end();
    f.block().loop();
    f.get(p).get(end).i32GeS().brIf(1);
    f.get(p);
    isa.scalar.load(f.get(p));
    isa.vec.extractLane(f.get(bv), 0);
    isa.scalar.add(f);
    isa.scalar.store(f);
    f.get(p).i32Const(es).i32Add().set(p);
    f.br(0).end().end();
    // ch = (ch + 1) mod channels
    f.get(ch).i32Const(1).i32Add().tee(ch).get(channels).i32Eq().if();
    f.i32Const(0).set(ch);
    f.end();
  });
  return f;
}

/**
 * swapBlocks(src, dst, a, b, len): dst block (j, i) = src block (i, j) for blocks of `len` bytes,
 * src viewed as [a, b] blocks: [N, O, L] <-> [O, N, L] without a JS call per block.
 */
function buildSwapBlocks(): FunctionBuilder {
  const [f, [src, dst, a, b, len]] = i32Function(5);
  const i = f.local(I32);
  const j = f.local(I32);
  const sp = f.local(I32);
  f.get(src).set(sp);
  forRange(f, i, 0, a, 1, () => {
    forRange(f, j, 0, b, 1, () => {
      // dst + (j·a + i)·len  ←  sp
      f.get(dst).get(j).get(a).i32Mul().get(i).i32Add().get(len).i32Mul().i32Add();
      f.get(sp).get(len).memoryCopy();
      f.get(sp).get(len).i32Add().set(sp);
    });
  });
  return f;
}

/**
 * Row gather/scatter of index_select (ops/indexing.ts): x viewed as [outer, size, inner], rows of
 * `inner` elements. gatherRows(x, index, out, size, m, outer, innerBytes): out[o, j] = x[o, index[j]]
 * (memory.copy per row); scatterAddRows(g, index, out, size, m, outer, inner): out[o, index[j]] += g[o, j].
 */
function buildGatherRows(): FunctionBuilder {
  const [f, [x, index, out, size, m, outer, rowBytes]] = i32Function(7);
  const o = f.local(I32);
  const j = f.local(I32);
  const dp = f.local(I32);
  const sp = f.local(I32);
  const base = f.local(I32);
  f.get(out).set(dp);
  forRange(f, o, 0, outer, 1, () => {
    f.get(x).get(o).get(size).i32Mul().get(rowBytes).i32Mul().i32Add().set(base);
    forRange(f, j, 0, m, 1, () => {
      f.get(base)
        .get(index)
        .get(j)
        .i32Const(4)
        .i32Mul()
        .i32Add()
        .i32Load()
        .get(rowBytes)
        .i32Mul()
        .i32Add()
        .set(sp);
      // Rows of one element (gathers along the last axis) move as one load and store: a memory.copy
      // per element ran slower than the JS loop. Loads and stores keep every bit (NaN payloads too).
      f.get(rowBytes).i32Const(4).i32Eq().if();
      f.get(dp).get(sp).i32Load().i32Store();
      f.else();
      f.get(rowBytes).i32Const(8).i32Eq().if();
      f.get(dp).get(sp).f64Load().f64Store();
      f.else();
      f.get(dp).get(sp).get(rowBytes).memoryCopy();
      f.end().end();
      f.get(dp).get(rowBytes).i32Add().set(dp);
    });
  });
  return f;
}

function buildScatterAddRows(dtype: WasmDType): FunctionBuilder {
  const isa = isaFor(dtype);
  const es = isa.es;
  const [f, [g, index, out, size, m, outer, inner]] = i32Function(7);
  const o = f.local(I32);
  const j = f.local(I32);
  const sp = f.local(I32);
  const dp = f.local(I32);
  const base = f.local(I32);
  const cnt = f.local(I32);
  f.get(g).set(sp);
  forRange(f, o, 0, outer, 1, () => {
    f.get(out).get(o).get(size).i32Mul().get(inner).i32Mul().i32Const(es).i32Mul().i32Add().set(base);
    forRange(f, j, 0, m, 1, () => {
      f.get(base).get(index).get(j).i32Const(4).i32Mul().i32Add().i32Load().get(inner).i32Mul();
      f.i32Const(es).i32Mul().i32Add().set(dp);
      f.get(inner).set(cnt);
      f.block().loop();
      f.get(cnt).i32Const(isa.lanes).i32LtS().brIf(1);
      f.get(dp).get(dp).v128Load().get(sp).v128Load();
      isa.vec.add(f).v128Store();
      f.get(dp).i32Const(16).i32Add().set(dp);
      f.get(sp).i32Const(16).i32Add().set(sp);
      f.get(cnt).i32Const(isa.lanes).i32Sub().set(cnt);
      f.br(0).end().end();
      f.block().loop();
      f.get(cnt).i32Const(1).i32LtS().brIf(1);
      f.get(dp);
      isa.scalar.load(f.get(dp));
      isa.scalar.load(f.get(sp));
      isa.scalar.add(f);
      isa.scalar.store(f);
      f.get(dp).i32Const(es).i32Add().set(dp);
      f.get(sp).i32Const(es).i32Add().set(sp);
      f.get(cnt).i32Const(1).i32Sub().set(cnt);
      f.br(0).end().end();
    });
  });
  return f;
}

/** gather (scatter = false): out[r, j] = x[r, index[r, j]]; scatter-add: out[r, index[r, j]] += x[r, j]. */
function buildAlongLast(dtype: WasmDType, scatter: boolean): FunctionBuilder {
  const isa = isaFor(dtype);
  const es = isa.es;
  const [f, [x, index, out, size, m, rows]] = i32Function(6);
  const r = f.local(I32);
  const j = f.local(I32);
  const dense = f.local(I32); // byte address in the [rows, m] array
  const wide = f.local(I32); // byte address of row r in the [rows, size] array
  const ip = f.local(I32);
  const at = f.local(I32);
  f.get(index).set(ip);
  f.get(scatter ? x : out).set(dense);
  forRange(f, r, 0, rows, 1, () => {
    f.get(scatter ? out : x)
      .get(r)
      .get(size)
      .i32Mul()
      .i32Const(es)
      .i32Mul()
      .i32Add()
      .set(wide);
    forRange(f, j, 0, m, 1, () => {
      f.get(wide).get(ip).i32Load().i32Const(es).i32Mul().i32Add().set(at);
      if (scatter) {
        f.get(at);
        isa.scalar.load(f.get(at));
        isa.scalar.load(f.get(dense));
        isa.scalar.add(f);
        isa.scalar.store(f);
      } else {
        f.get(dense);
        isa.scalar.load(f.get(at));
        isa.scalar.store(f);
      }
      f.get(ip).i32Const(4).i32Add().set(ip);
      f.get(dense).i32Const(es).i32Add().set(dense);
    });
  });
  return f;
}

/** Columns per packed strip of the float32 GEMM (gemm-module.ts DEFAULT_SHAPES.float32.nr). */
export const PACKED_NR = 8;

/**
 * im2col written straight into the GEMM's packed B layout (float32: strips of PACKED_NR columns,
 * k-major: element (p, j) at bp + ((j / NR)·K + p)·NR·4 + (j mod NR)·4, K = c·kh·kw), so the forward
 * product skips packing B: one pass over the column matrix instead of a write, a read and a write.
 * Only for windows that stay inside the input (no padding: every tap reaches every output), stride 1
 * along the row and ow a multiple of 4, where every 4 consecutive outputs of a row are one vector of
 * x and land in one half-strip. Columns past N·L in the last strip are left as they are: they only
 * reach C's padding columns, which are never stored.
 */
function buildIm2colPacked(): FunctionBuilder {
  const [f, [x, bp, n, c, plane, w, oh, ow, kh, kw, dh, dw]] = i32Function(12);
  const b = f.local(I32);
  const oy = f.local(I32);
  const q = f.local(I32);
  const ch = f.local(I32);
  const ki = f.local(I32);
  const kj = f.local(I32);
  const j = f.local(I32); // column of the first of the 4 outputs: b·L + oy·ow + q
  const stripBytes = f.local(I32);
  const src = f.local(I32); // x at tap (0, 0, 0) of those 4 outputs
  const srcC = f.local(I32);
  const srcK = f.local(I32);
  const dst = f.local(I32);
  const nr = PACKED_NR;
  f.get(c)
    .get(kh)
    .i32Mul()
    .get(kw)
    .i32Mul()
    .i32Const(nr * 4)
    .i32Mul()
    .set(stripBytes);
  f.i32Const(0).set(j);
  // Output-major: the 4 outputs' K taps go down one half-strip (32-byte steps, sequential within the
  // strip), reading x near where the previous 4 read; tap-major order wrote a whole strip apart each time.
  forRange(f, b, 0, n, 1, () => {
    forRange(f, oy, 0, oh, 1, () => {
      forRange(f, q, 0, ow, 4, () => {
        // src = x + (b·c·plane + oy·w + q)·4; dst = bp + (j / NR)·stripBytes + (j mod NR)·4
        f.get(b).get(c).i32Mul().get(plane).i32Mul().get(oy).get(w).i32Mul().i32Add().get(q).i32Add();
        f.i32Const(4).i32Mul().get(x).i32Add().set(src);
        f.get(j).i32Const(3).i32ShrU().get(stripBytes).i32Mul().get(bp).i32Add();
        f.get(j)
          .i32Const(nr - 1)
          .i32And()
          .i32Const(4)
          .i32Mul()
          .i32Add()
          .set(dst);
        forRange(f, ch, 0, c, 1, () => {
          f.get(ch).get(plane).i32Mul().i32Const(4).i32Mul().get(src).i32Add().set(srcC);
          forRange(f, ki, 0, kh, 1, () => {
            f.get(ki).get(dh).i32Mul().get(w).i32Mul().i32Const(4).i32Mul().get(srcC).i32Add().set(srcK);
            forRange(f, kj, 0, kw, 1, () => {
              f.get(dst);
              f.get(kj).get(dw).i32Mul().i32Const(4).i32Mul().get(srcK).i32Add().v128Load().v128Store();
              f.get(dst)
                .i32Const(nr * 4)
                .i32Add()
                .set(dst);
            });
          });
        });
        f.get(j).i32Const(4).i32Add().set(j);
      });
    });
  });
  return f;
}

export function buildConvModule(opts: ConvModuleOptions): Uint8Array {
  const mb = moduleWithMemory(opts);
  mb.addFunction(buildWindows(opts.dtype, false), "im2col");
  mb.addFunction(buildWindows(opts.dtype, true), "col2im");
  mb.addFunction(buildArgmax(opts.dtype), "argmax");
  mb.addFunction(buildAlongLast(opts.dtype, false), "gather");
  mb.addFunction(buildAlongLast(opts.dtype, true), "scatterAdd");
  mb.addFunction(buildAddBias(opts.dtype), "addBias");
  mb.addFunction(buildSwapBlocks(), "swapBlocks");
  mb.addFunction(buildGatherRows(), "gatherRows");
  mb.addFunction(buildScatterAddRows(opts.dtype), "scatterAddRows");
  if (opts.dtype === "float32") mb.addFunction(buildIm2colPacked(), "im2colPacked");
  return mb.encode();
}
