import { type FunctionBuilder, I32, type Local, V128 } from "./assembler.js";
import {
  type DTypeIsa,
  forRange,
  type ImportedMemory,
  i32Function,
  isaFor,
  moduleWithMemory,
  type VectorOps,
  type WasmDType,
} from "./codegen.js";

/**
 * Generates the elementwise module: unary functions, activation gradients, binary arithmetic with the
 * broadcasts dense layers need, and the 2-D transpose, in f32x4 (float32) or f64x2 (float64) lanes.
 *
 * Arrays live in scratch memory the caller owns, so every loop runs in whole vectors: the last vector
 * reads up to 15 bytes past an input (harmless scratch) and writes up to 15 bytes past the output,
 * which lands either in the caller's padding or, for the row-broadcast kernels, on the start of the
 * next row, which that row's own pass overwrites afterwards (rows run in order). Outputs must not
 * overlap inputs. Addresses are byte addresses; counts are elements.
 *
 * exp: Cody-Waite reduction x = n·ln2 + r (ln2 split into a short high part, so n·hi is exact, and a
 * low part), e^r by a polynomial (float32: degree-7 Taylor-like minimax form, |r| <= ln2/2) or a
 * rational form (float64: e^r = 1 + 2r·P(r²)/(Q(r²) − r·P(r²))), then 2^n built from exponent bits in
 * two halves 2^⌊n/2⌋·2^(n−⌊n/2⌋), so results that overflow to +Infinity or become subnormal round
 * once, as Math.exp's do. The input is clamped first (by comparisons, so NaN passes), which maps
 * ±Infinity to 0 and +Infinity. Coefficients are the classic Cephes ones. Max error observed
 * against Math.exp over dense sweeps of the whole finite range (2,000,001 points, see
 * elementwise.test.ts for the asserted sweeps): float32 1 ulp from Math.fround(Math.exp(x)) (in
 * f32 arithmetic), float64 2 ulp from Math.exp(x) (at x ≈ -701); sigmoid 2 ulp in both, subnormal
 * results included.
 */

export type EwUnaryOp = "exp" | "sigmoid" | "relu" | "neg" | "abs" | "square" | "sqrt";
export type EwGradOp = "sigmoidGrad" | "tanhGrad" | "reluGrad";
export type EwBinaryOp = "add" | "sub" | "mul" | "div" | "maximum" | "minimum";

export const EW_UNARY_OPS: readonly EwUnaryOp[] = ["exp", "sigmoid", "relu", "neg", "abs", "square", "sqrt"];
export const EW_GRAD_OPS: readonly EwGradOp[] = ["sigmoidGrad", "tanhGrad", "reluGrad"];
export const EW_BINARY_OPS: readonly EwBinaryOp[] = ["add", "sub", "mul", "div", "maximum", "minimum"];

/** Exported functions, by name: `u_<op>`, `g_<op>`, `b_<op>_rows`, `b_<op>_vs`, `b_<op>_sv`, `b_<op>_cols`, `transpose`. */
export type EwUnaryKernel = (x: number, out: number, n: number) => void;
export type EwGradKernel = (y: number, g: number, out: number, n: number) => void;
/** out[r·inner + i] = op(a[r·aStep/es + i], b[r·bStep/es + i]) for r < rows, i < inner. */
export type EwRowsKernel = (
  a: number,
  b: number,
  out: number,
  rows: number,
  inner: number,
  aStep: number,
  bStep: number,
) => void;
/** One operand is the scalar at its address, the other n elements. */
export type EwScalarKernel = (a: number, b: number, out: number, n: number) => void;
/**
 * One value per row broadcast along it (NCHW's per-channel values, softmax's row maxima):
 * out[r·inner + i] = op(x[r·inner + i], col[r]) when colIsB is 1, op(col[r], x[r·inner + i]) when 0.
 */
export type EwColsKernel = (
  x: number,
  col: number,
  out: number,
  rows: number,
  inner: number,
  colIsB: number,
) => void;
export type EwTransposeKernel = (x: number, out: number, rows: number, cols: number) => void;

export interface ElementwiseModuleOptions extends ImportedMemory {
  dtype: WasmDType;
}

/** A function's builder with its dtype's instructions (`V` on lanes), splatted constants, exp. */
class Lanes {
  readonly isa: DTypeIsa;
  readonly V: VectorOps;
  readonly f32: boolean;
  readonly es: number;
  readonly lanes: number;

  constructor(
    readonly f: FunctionBuilder,
    dtype: WasmDType,
  ) {
    this.isa = isaFor(dtype);
    this.V = this.isa.vec;
    this.f32 = this.isa.f32;
    this.es = this.isa.es;
    this.lanes = this.isa.lanes;
  }

  k(value: number): FunctionBuilder {
    return this.V.k(this.f, value);
  }

  /** for (off = 0; off < n·es; off += step) body(): the byte offsets of n elements (end: scratch). */
  forElements(off: Local, end: Local, n: Local, step: number, body: () => void): void {
    this.f.get(n).i32Const(this.es).i32Mul().set(end);
    forRange(this.f, off, 0, end, step, body);
  }

  /** Pushes 2^m for the integer-valued lanes m of local `m` (|m| within the normal exponent range). */
  pow2(m: Local): void {
    const f = this.f;
    // (2^p + bias + m) holds bias + m in its low mantissa bits; shifting them up by p makes them
    // the exponent field of 2^m with a zero mantissa.
    f.get(m);
    if (this.f32)
      this.k(2 ** 23 + 127)
        .f32x4Add()
        .i32Const(23)
        .i32x4Shl();
    else
      this.k(2 ** 52 + 1023)
        .f64x2Add()
        .i32Const(52)
        .i64x2Shl();
  }

  /**
   * xs[i] ← e^xs[i] for several independent vectors at once. Each statement is emitted for every
   * vector in turn, so the long dependency chains of the vectors interleave (one vector per loop
   * iteration was latency-bound: 2.3 ns an element for float32; two vectors: see UNROLL).
   */
  exp(xs: readonly Local[]): void {
    const { f, V } = this;
    const each = (emit: (i: number) => void) => {
      for (let i = 0; i < xs.length; i++) emit(i);
    };
    const vecs = () => xs.map(() => f.local(V128));
    const n = vecs();
    const r = vecs();
    const p = vecs();
    const half = vecs();
    // Clamp: below LO every result rounds to 0, above HI to +Infinity; keeps 2^(n/2) normal. By
    // comparisons, which leave NaN in place (wasm's NaN-exact min/max cost V8 ~8x more).
    const hi = this.f32 ? 100 : 710;
    const lo = this.f32 ? -110 : -746;
    each((i) => {
      this.k(hi);
      f.get(xs[i]!).get(xs[i]!);
      this.k(hi);
      V.gt(f);
      f.v128Bitselect();
      this.k(lo);
      V.pmax(f).set(xs[i]!);
    });
    each((i) => {
      f.get(xs[i]!);
      this.k(Math.LOG2E);
      V.mul(f);
      V.nearest(f).set(n[i]!);
    });
    // r = (x − n·hi) − n·lo
    each((i) => {
      f.get(xs[i]!).get(n[i]!);
      this.k(this.f32 ? 0.693359375 : 6.93145751953125e-1);
      V.mul(f);
      V.sub(f).set(r[i]!);
    });
    each((i) => {
      f.get(r[i]!).get(n[i]!);
      this.k(this.f32 ? -2.1219444e-4 : 0.0000014286068203094173);
      V.mul(f);
      V.sub(f).set(r[i]!);
    });
    // p = polynomial in r, by Horner steps.
    const horner = (x: Local[], coeffs: number[], dst: Local[]) => {
      each((i) => {
        this.k(coeffs[0]!);
        f.set(dst[i]!);
      });
      for (const c of coeffs.slice(1)) {
        each((i) => {
          f.get(dst[i]!).get(x[i]!);
          V.mul(f);
          this.k(c);
          V.add(f).set(dst[i]!);
        });
      }
    };
    if (this.f32) {
      // e^r ≈ 1 + r + r²·P(r)
      horner(
        r,
        [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
        p,
      );
      each((i) => {
        f.get(p[i]!).get(r[i]!).get(r[i]!);
        V.mul(f);
        V.mul(f);
        f.get(r[i]!);
        V.add(f);
        this.k(1);
        V.add(f).set(p[i]!);
      });
    } else {
      // e^r = 1 + 2·rP/(Q − rP), P and Q in r².
      const r2 = vecs();
      const q = vecs();
      each((i) => {
        f.get(r[i]!).get(r[i]!);
        V.mul(f).set(r2[i]!);
      });
      horner(r2, [0.00012617719307481058, 0.030299440770744195, 1], p);
      horner(r2, [0.0000030019850513866446, 0.002524483403496841, 0.22726554820815503, 2], q);
      each((i) => {
        f.get(p[i]!).get(r[i]!);
        V.mul(f).set(p[i]!);
      });
      each((i) => {
        f.get(p[i]!).get(q[i]!).get(p[i]!);
        V.sub(f);
        V.div(f);
        this.k(2);
        V.mul(f);
        this.k(1);
        V.add(f).set(p[i]!);
      });
    }
    // 2^n in two factors: n/2 rounded down, and the rest.
    each((i) => {
      f.get(n[i]!);
      this.k(0.5);
      V.mul(f);
      V.floor(f).set(half[i]!);
    });
    each((i) => {
      f.get(n[i]!).get(half[i]!);
      V.sub(f).set(n[i]!);
    });
    each((i) => {
      f.get(p[i]!);
      this.pow2(half[i]!);
      V.mul(f);
      this.pow2(n[i]!);
      V.mul(f).set(xs[i]!);
    });
  }
}

/** Vectors per loop iteration for exp and sigmoid (their chains interleave); 1 for the rest. */
const UNROLL = 2;
/** Bytes a kernel may write past its last element: callers reserve this much padding. */
export const OVERSHOOT_BYTES = 16 * UNROLL;

/** Unary: u(x, out, n), in whole vectors (UNROLL of them per iteration for exp and sigmoid). */
function buildUnary(dtype: WasmDType, op: EwUnaryOp): FunctionBuilder {
  const [f, [x, out, n]] = i32Function(3);
  const L = new Lanes(f, dtype);
  const off = f.local(I32);
  const end = f.local(I32);
  const u = op === "exp" || op === "sigmoid" ? UNROLL : 1;
  const vs = Array.from({ length: u }, () => f.local(V128));
  L.forElements(off, end, n, 16 * u, () => {
    vs.forEach((v, i) => {
      f.get(x)
        .get(off)
        .i32Add()
        .v128Load(16 * i)
        .set(v);
    });
    unaryBody(L, op, vs);
    vs.forEach((v, i) => {
      f.get(out)
        .get(off)
        .i32Add()
        .get(v)
        .v128Store(16 * i);
    });
  });
  return f;
}

/** vs[i] ← op(vs[i]). */
function unaryBody(L: Lanes, op: EwUnaryOp, vs: readonly Local[]): void {
  const { f, V } = L;
  if (op === "exp") {
    L.exp(vs);
    return;
  }
  if (op === "sigmoid") {
    // e = exp(−|x|); x >= 0 ? 1/(1+e) : e/(1+e), the JS loop's two branches (NaN takes the second).
    const xs = vs.map(() => f.local(V128));
    const es = vs.map(() => f.local(V128));
    vs.forEach((v, i) => {
      f.get(v).set(xs[i]!);
      f.get(v);
      V.abs(f);
      V.neg(f).set(es[i]!);
    });
    L.exp(es);
    vs.forEach((v, i) => {
      const e = es[i]!;
      // (x >= 0 ? 1 : e) / (1 + e): the numerator is chosen first, so one division serves both.
      L.k(1);
      f.get(e).get(xs[i]!);
      L.k(0);
      V.ge(f);
      f.v128Bitselect();
      L.k(1);
      f.get(e);
      V.add(f);
      V.div(f).set(v);
    });
    return;
  }
  for (const v of vs) {
    f.get(v);
    if (op === "relu") {
      // x <= 0 ? +0 : x (NaN passes, −0 becomes +0)
      f.get(v);
      L.k(0);
      V.le(f);
      f.v128Andnot();
    } else if (op === "square") {
      f.get(v);
      V.mul(f);
    } else {
      V[op](f);
    }
    f.set(v);
  }
}

/** With g on the stack, pushes activationGrad's op for the local y, in the JS loops' order. */
function gradBody(L: Lanes, op: EwGradOp, y: Local): void {
  const { f, V } = L;
  switch (op) {
    case "tanhGrad": // g·(1 − y²)
      L.k(1);
      f.get(y).get(y);
      V.mul(f);
      V.sub(f);
      V.mul(f);
      return;
    case "sigmoidGrad": // (g·y)·(1 − y)
      f.get(y);
      V.mul(f);
      L.k(1);
      f.get(y);
      V.sub(f);
      V.mul(f);
      return;
    case "reluGrad": // y <= 0 ? 0 : g (NaN y passes g on)
      f.get(y);
      L.k(0);
      V.le(f);
      f.v128Andnot();
      return;
  }
}

/**
 * Gradient: g(y, g, out, n) with activationGrad's formulas, in their evaluation order. float32
 * tanhGrad/sigmoidGrad widen to f64 lanes, compute, and round once, exactly as the JS loops do in
 * double before the store: the results are bit-identical (1 − y² in f32 would cancel near |y| = 1).
 */
function buildGrad(dtype: WasmDType, op: EwGradOp): FunctionBuilder {
  const [f, [y, g, out, n]] = i32Function(4);
  const L = new Lanes(f, dtype);
  const off = f.local(I32);
  const end = f.local(I32);
  const v = f.local(V128);
  L.forElements(off, end, n, 16, () => {
    f.get(y).get(off).i32Add().v128Load().set(v);
    f.get(out).get(off).i32Add();
    if (op !== "reluGrad" && L.f32) {
      // Lanes 0-1 and 2-3 in f64, rounded back to f32 halves, then joined.
      const L64 = new Lanes(f, "float64");
      const gv = f.local(V128);
      const y64 = f.local(V128);
      const g64 = f.local(V128);
      const lo = f.local(V128);
      f.get(g).get(off).i32Add().v128Load().set(gv);
      for (const half of [0, 1]) {
        for (const [src, dst] of [
          [v, y64],
          [gv, g64],
        ] as const) {
          f.get(src);
          if (half === 1) f.get(src).i8x16Shuffle(lanesOf(4, [2, 3, 2, 3]));
          f.f64x2PromoteLowF32x4().set(dst);
        }
        f.get(g64);
        gradBody(L64, op, y64);
        f.f32x4DemoteF64x2Zero();
        if (half === 0) f.set(lo);
      }
      f.set(v);
      f.get(lo)
        .get(v)
        .i8x16Shuffle(lanesOf(4, [0, 1, 4, 5]));
      f.v128Store();
      return;
    }
    f.get(g).get(off).i32Add().v128Load();
    gradBody(L, op, v);
    f.v128Store();
  });
  return f;
}

/** Pushes op(a, b) for locals a and b, with the JS loops' semantics (NaN propagates in max/min). */
function binaryBody(L: Lanes, op: EwBinaryOp, a: Local, b: Local): void {
  const { f, V } = L;
  if (op === "maximum" || op === "minimum") {
    // x > y || x !== x ? x : y (and < for minimum): equal values give y, as in JS.
    f.get(a).get(b).get(a).get(b);
    if (op === "maximum") V.gt(f);
    else V.lt(f);
    f.get(a).get(a);
    V.ne(f);
    f.v128Or().v128Bitselect();
    return;
  }
  f.get(a).get(b);
  V[op](f);
}

function buildBinaryRows(dtype: WasmDType, op: EwBinaryOp): FunctionBuilder {
  const [f, [a, b, out, rows, inner, aStep, bStep]] = i32Function(7);
  const L = new Lanes(f, dtype);
  const r = f.local(I32);
  const off = f.local(I32);
  const rowBytes = f.local(I32);
  const va = f.local(V128);
  const vb = f.local(V128);
  f.get(inner).i32Const(L.es).i32Mul().set(rowBytes);
  forRange(f, r, 0, rows, 1, () => {
    forRange(f, off, 0, rowBytes, 16, () => {
      f.get(a).get(off).i32Add().v128Load().set(va);
      f.get(b).get(off).i32Add().v128Load().set(vb);
      f.get(out).get(off).i32Add();
      binaryBody(L, op, va, vb);
      f.v128Store();
    });
    f.get(a).get(aStep).i32Add().set(a);
    f.get(b).get(bStep).i32Add().set(b);
    f.get(out).get(rowBytes).i32Add().set(out);
  });
  return f;
}

/** One operand a scalar (splatted once): `scalarB` picks which. */
function buildBinaryScalar(dtype: WasmDType, op: EwBinaryOp, scalarB: boolean): FunctionBuilder {
  const [f, [a, b, out, n]] = i32Function(4);
  const L = new Lanes(f, dtype);
  const off = f.local(I32);
  const end = f.local(I32);
  const va = f.local(V128);
  const vb = f.local(V128);
  const s = scalarB ? vb : va;
  const arr = scalarB ? a : b;
  const vArr = scalarB ? va : vb;
  L.V.splatLoad(f.get(scalarB ? b : a)).set(s);
  L.forElements(off, end, n, 16, () => {
    f.get(arr).get(off).i32Add().v128Load().set(vArr);
    f.get(out).get(off).i32Add();
    binaryBody(L, op, va, vb);
    f.v128Store();
  });
  return f;
}

/**
 * A value per row splatted along the row (EwColsKernel). Each row runs in whole vectors: its last vector
 * may spill into the next row, which that row's own pass overwrites afterwards (rows run in order).
 */
function buildBinaryCols(dtype: WasmDType, op: EwBinaryOp): FunctionBuilder {
  const [f, [x, col, out, rows, inner, colIsB]] = i32Function(6);
  const L = new Lanes(f, dtype);
  const r = f.local(I32);
  const off = f.local(I32);
  const rowBytes = f.local(I32);
  const va = f.local(V128);
  const vb = f.local(V128);
  f.get(inner).i32Const(L.es).i32Mul().set(rowBytes);
  const rowLoop = (vx: Local, vs: Local): void => {
    forRange(f, r, 0, rows, 1, () => {
      L.V.splatLoad(f.get(col)).set(vs);
      forRange(f, off, 0, rowBytes, 16, () => {
        f.get(x).get(off).i32Add().v128Load().set(vx);
        f.get(out).get(off).i32Add();
        binaryBody(L, op, va, vb);
        f.v128Store();
      });
      f.get(x).get(rowBytes).i32Add().set(x);
      f.get(col).i32Const(L.es).i32Add().set(col);
      f.get(out).get(rowBytes).i32Add().set(out);
    });
  };
  f.get(colIsB).if();
  rowLoop(va, vb);
  f.else();
  rowLoop(vb, va);
  f.end();
  return f;
}

/** Byte lanes for i8x16.shuffle: element lanes (0..15 over a‖b in elements of `es` bytes) to bytes. */
function lanesOf(es: number, elements: number[]): number[] {
  return elements.flatMap((e) => Array.from({ length: es }, (_, k) => e * es + k));
}

/**
 * transpose(x, out, rows, cols): out[c·rows + r] = x[r·cols + c]. Whole blocks of lanes×lanes by
 * shuffles (4x4 float32, 2x2 float64), walking x row-block by row-block (the stores then touch one
 * line per output row, `cols` lines in all, which stay cached); the partial rows and columns at the
 * edges element by element.
 */
function buildTranspose(dtype: WasmDType): FunctionBuilder {
  const [f, [x, out, rows, cols]] = i32Function(4);
  const L = new Lanes(f, dtype);
  const B = L.lanes;
  const es = L.es;
  const rowsB = f.local(I32);
  const colsB = f.local(I32);
  const xRowBytes = f.local(I32);
  const outRowBytes = f.local(I32);
  const r = f.local(I32);
  const c = f.local(I32);
  const src = f.local(I32);
  const dst = f.local(I32);
  const v = Array.from({ length: B }, () => f.local(V128));
  const t = Array.from({ length: B }, () => f.local(V128));
  f.get(rows).i32Const(-B).i32And().set(rowsB);
  f.get(cols).i32Const(-B).i32And().set(colsB);
  f.get(cols).i32Const(es).i32Mul().set(xRowBytes);
  f.get(rows).i32Const(es).i32Mul().set(outRowBytes);
  forRange(f, r, 0, rowsB, B, () => {
    // src = x + r·cols·es, dst = out + r·es; per column block src += 16, dst += B·rows·es.
    f.get(x).get(r).get(xRowBytes).i32Mul().i32Add().set(src);
    f.get(out).get(r).i32Const(es).i32Mul().i32Add().set(dst);
    forRange(f, c, 0, colsB, B, () => {
      for (let i = 0; i < B; i++) {
        f.get(src);
        if (i > 0) f.get(xRowBytes).i32Const(i).i32Mul().i32Add();
        f.v128Load().set(v[i]!);
      }
      if (B === 4) {
        // Interleave row pairs (v0‖v1 into t0, t1; v2‖v3 into t2, t3), then take 64-bit halves.
        const interleave = [
          [0, 4, 1, 5],
          [2, 6, 3, 7],
        ];
        for (let j = 0; j < 4; j++) {
          const p = j & 2;
          f.get(v[p]!)
            .get(v[p + 1]!)
            .i8x16Shuffle(lanesOf(4, interleave[j & 1]!))
            .set(t[j]!);
        }
        const outs: [Local, Local, number[]][] = [
          [t[0]!, t[2]!, [0, 1, 4, 5]],
          [t[0]!, t[2]!, [2, 3, 6, 7]],
          [t[1]!, t[3]!, [0, 1, 4, 5]],
          [t[1]!, t[3]!, [2, 3, 6, 7]],
        ];
        outs.forEach(([p, q, lanes], j) => {
          f.get(dst);
          if (j > 0) f.get(outRowBytes).i32Const(j).i32Mul().i32Add();
          f.get(p).get(q).i8x16Shuffle(lanesOf(4, lanes)).v128Store();
        });
      } else {
        f.get(dst)
          .get(v[0]!)
          .get(v[1]!)
          .i8x16Shuffle(lanesOf(8, [0, 2]))
          .v128Store();
        f.get(dst).get(outRowBytes).i32Add();
        f.get(v[0]!)
          .get(v[1]!)
          .i8x16Shuffle(lanesOf(8, [1, 3]))
          .v128Store();
      }
      f.get(src).i32Const(16).i32Add().set(src);
      f.get(dst).get(outRowBytes).i32Const(B).i32Mul().i32Add().set(dst);
    });
  });
  // Edges: rows [rowsB, rows) × all columns, then rows [0, rowsB) × columns [colsB, cols).
  const scalarBlock = (r0: Local | number, r1: Local, c0: Local | number, c1: Local) => {
    forRange(f, r, r0, r1, 1, () => {
      forRange(f, c, c0, c1, 1, () => {
        // out + (c·rows + r)·es  ←  x + (r·cols + c)·es
        f.get(out).get(c).get(rows).i32Mul().get(r).i32Add().i32Const(es).i32Mul().i32Add();
        f.get(x).get(r).get(cols).i32Mul().get(c).i32Add().i32Const(es).i32Mul().i32Add();
        L.isa.scalar.store(L.isa.scalar.load(f));
      });
    });
  };
  scalarBlock(rowsB, rows, 0, cols);
  scalarBlock(0, rowsB, colsB, cols);
  return f;
}

export function buildElementwiseModule(opts: ElementwiseModuleOptions): Uint8Array {
  const mb = moduleWithMemory(opts);
  for (const op of EW_UNARY_OPS) mb.addFunction(buildUnary(opts.dtype, op), `u_${op}`);
  for (const op of EW_GRAD_OPS) mb.addFunction(buildGrad(opts.dtype, op), `g_${op}`);
  for (const op of EW_BINARY_OPS) {
    mb.addFunction(buildBinaryRows(opts.dtype, op), `b_${op}_rows`);
    mb.addFunction(buildBinaryScalar(opts.dtype, op, true), `b_${op}_vs`);
    mb.addFunction(buildBinaryScalar(opts.dtype, op, false), `b_${op}_sv`);
    mb.addFunction(buildBinaryCols(opts.dtype, op), `b_${op}_cols`);
  }
  mb.addFunction(buildTranspose(opts.dtype), "transpose");
  return mb.encode();
}
