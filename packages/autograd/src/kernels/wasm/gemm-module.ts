import { type FunctionBuilder, I32, type Local, V128 } from "./assembler.js";
import {
  type DTypeIsa,
  forRange,
  type ImportedMemory,
  i32Function,
  isaFor,
  moduleWithMemory,
  repeat,
  type WasmDType,
} from "./codegen.js";

/**
 * Generates the GEMM module (GotoBLAS/BLIS structure): A packed into MR-row k-major strips, B into
 * NR-column k-major strips (both zero-padded to whole tiles, transposes handled only here), and a
 * register-blocked MR x NR micro-kernel whose C tile lives in v128 locals. All addresses and strides
 * the exported functions take are in bytes.
 */

export type { WasmDType } from "./codegen.js";

export interface GemmShape {
  dtype: WasmDType;
  /** Rows of the register tile. */
  mr: number;
  /** Columns of the register tile (a multiple of the SIMD lane count). */
  nr: number;
  /** Depth of a cache block along K. */
  kc: number;
  /** Rows of a cache block of packed A, in tiles. */
  mcTiles: number;
  /** Columns of a cache block of packed B, in tiles. */
  ncTiles: number;
  /** k-steps per micro-kernel loop iteration; each step ends with its own exit test. */
  unroll: number;
  /** Multiply-adds as one relaxed-SIMD `relaxed_madd` (relaxed-simd.ts) instead of a multiply and an add. */
  fma?: boolean;
}

export const DEFAULT_SHAPES: Record<WasmDType, GemmShape> = {
  float32: { dtype: "float32", mr: 4, nr: 8, kc: 256, mcTiles: 24, ncTiles: 128, unroll: 2 },
  float64: { dtype: "float64", mr: 4, nr: 4, kc: 256, mcTiles: 24, ncTiles: 128, unroll: 2 },
};

export interface GemmModuleOptions extends ImportedMemory {
  shape: GemmShape;
}

/** Export names and signatures (all i32, byte addresses) of the generated module. */
export interface GemmExports {
  /**
   * packA(a, rsA, csA, m, k, ap, s0, s1): MR-row strips s0..s1 of op(A), element (i, p) at
   * a + i*rsA + p*csA, into ap. Requires k >= 1.
   */
  packA(a: number, rsA: number, csA: number, m: number, k: number, ap: number, s0: number, s1: number): void;
  /**
   * packB(b, csB, rsB, n, k, bp, s0, s1): NR-column strips s0..s1 of op(B), element (p, j) at
   * b + p*rsB + j*csB (note the order: columns play the role of A's rows), into bp. Requires k >= 1.
   */
  packB(b: number, csB: number, rsB: number, n: number, k: number, bp: number, s0: number, s1: number): void;
  /**
   * compute(ap, bp, c, ldc, k, mt0, mt1, nt0, nt1, n): C tiles [mt0,mt1) x [nt0,nt1) from packed
   * panels; C has n columns (the last tile column stores only what is left), and its rows may run
   * past m up to a whole tile.
   */
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

/** out = min(x, y) (signed i32); x and y push side-effect-free expressions and are emitted twice. */
function minInto(f: FunctionBuilder, out: Local, x: () => void, y: () => void): void {
  x();
  y();
  x();
  y();
  f.i32LtS().select().set(out);
}

function buildMicroKernel(shape: GemmShape, isa: DTypeIsa): FunctionBuilder {
  const { mr, nr } = shape;
  const nv = nr / isa.lanes;
  const [f, [kc, ap, bp, c, ldc, accumulate, cols]] = i32Function(7);
  const acc: Local[][] = [];
  for (let r = 0; r < mr; r++) {
    acc.push([]);
    for (let v = 0; v < nv; v++) acc[r]!.push(f.local(V128));
  }
  const bv: Local[] = [];
  for (let v = 0; v < nv; v++) bv.push(f.local(V128));
  const av = f.local(V128);
  const apEnd = f.local(I32);

  for (const row of acc) for (const a of row) f.v128Zero().set(a);
  f.get(ap)
    .get(kc)
    .i32Const(mr * isa.es)
    .i32Mul()
    .i32Add()
    .set(apEnd);

  // One k-step: NR values of packed B times MR broadcast values of packed A, in program order.
  const step = (): void => {
    for (let v = 0; v < nv; v++)
      f.get(bp)
        .v128Load(v * 16)
        .set(bv[v]!);
    for (let r = 0; r < mr; r++) {
      isa.vec.splatLoad(f.get(ap), r * isa.es).set(av);
      for (let v = 0; v < nv; v++) {
        if (shape.fma) {
          f.get(av).get(bv[v]!).get(acc[r]![v]!);
          if (isa.f32) f.f32x4RelaxedMadd();
          else f.f64x2RelaxedMadd();
        } else {
          f.get(acc[r]![v]!).get(av).get(bv[v]!);
          isa.vec.mul(f);
          isa.vec.add(f);
        }
        f.set(acc[r]![v]!);
      }
    }
    f.get(ap)
      .i32Const(mr * isa.es)
      .i32Add()
      .set(ap);
    f.get(bp)
      .i32Const(nr * isa.es)
      .i32Add()
      .set(bp);
  };

  // The exit test after every step splits the unrolled body into blocks, which keeps V8 from
  // hoisting all loads of the iteration to its top (that spills the C tile to the stack).
  f.block().loop();
  for (let u = 0; u < shape.unroll; u++) {
    step();
    f.get(ap).get(apEnd).i32GeU().brIf(1);
  }
  f.br(0).end().end();

  const storeTile = (withAccumulate: boolean): void => {
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) {
        f.get(c);
        if (withAccumulate) {
          f.get(c)
            .v128Load(v * 16)
            .get(acc[r]![v]!);
          isa.vec.add(f);
        } else {
          f.get(acc[r]![v]!);
        }
        f.v128Store(v * 16);
      }
      if (r + 1 < mr) f.get(c).get(ldc).i32Add().set(c);
    }
  };
  // A tile at C's right edge stores only its first `cols` columns, so C needs no column padding (and no
  // compaction before it is copied out): whole vectors while they fit, then the rest lane by lane.
  const storeEdgeTile = (): void => {
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) {
        f.get(cols)
          .i32Const((v + 1) * isa.lanes)
          .i32GeS()
          .if();
        f.get(accumulate).if();
        f.get(c)
          .get(c)
          .v128Load(v * 16)
          .get(acc[r]![v]!);
        isa.vec.add(f);
        f.v128Store(v * 16);
        f.else();
        f.get(c)
          .get(acc[r]![v]!)
          .v128Store(v * 16);
        f.end();
        f.else();
        for (let lane = 0; lane < isa.lanes; lane++) {
          const j = v * isa.lanes + lane;
          f.get(cols).i32Const(j).i32GtS().if();
          f.get(accumulate).if();
          f.get(c);
          isa.scalar.load(f.get(c), j * isa.es);
          isa.vec.extractLane(f.get(acc[r]![v]!), lane);
          isa.scalar.add(f);
          isa.scalar.store(f, j * isa.es);
          f.else();
          f.get(c);
          isa.vec.extractLane(f.get(acc[r]![v]!), lane);
          isa.scalar.store(f, j * isa.es);
          f.end();
          f.end();
        }
        f.end();
      }
      if (r + 1 < mr) f.get(c).get(ldc).i32Add().set(c);
    }
  };
  f.get(cols).i32Const(nr).i32Eq().if();
  f.get(accumulate).if();
  storeTile(true);
  f.else();
  storeTile(false);
  f.end();
  f.else();
  storeEdgeTile();
  f.end();
  return f;
}

/**
 * Packs strips s0..s1 of a matrix X (element (i, p) at x + i*rs + p*cs) into `width`-row
 * k-major strips: dst[s][p][r] = X(s*width + r, p). Where rows are adjacent in memory (rs == element
 * size: the untransposed B and the transposed A) a strip is copied a vector at a time, the last one
 * included: its rows past `rows` then hold whatever follows in memory (up to width - 1 elements past
 * X's end, which the caller keeps readable), values that only ever reach C's padding rows and
 * columns, which are never stored or copied out. Otherwise element by element, zero past `rows`.
 */
function buildPack(isa: DTypeIsa, width: number): FunctionBuilder {
  const [f, [x, rs, cs, rows, k, dst, s0, s1]] = i32Function(8);
  const s = f.local(I32);
  const r = f.local(I32);
  const src = f.local(I32);
  const d = f.local(I32);
  const cnt = f.local(I32);
  const stripBytes = f.local(I32);
  const dStrip = f.local(I32);
  const strideOut = width * isa.es;

  const scalarStrip = (): void => {
    forRange(f, r, 0, width, 1, () => {
      f.get(dStrip).get(r).i32Const(isa.es).i32Mul().i32Add().set(d);
      f.get(s).i32Const(width).i32Mul().get(r).i32Add().get(rows).i32LtS().if();
      f.get(x).get(s).i32Const(width).i32Mul().get(r).i32Add().get(rs).i32Mul().i32Add().set(src);
      repeat(f, cnt, k, () => {
        f.get(d);
        isa.scalar.load(f.get(src));
        isa.scalar.store(f);
        f.get(src).get(cs).i32Add().set(src);
        f.get(d).i32Const(strideOut).i32Add().set(d);
      });
      f.else();
      repeat(f, cnt, k, () => {
        f.get(d);
        isa.scalar.k(f, 0);
        isa.scalar.store(f);
        f.get(d).i32Const(strideOut).i32Add().set(d);
      });
      f.end();
    });
  };

  const vectorStrip = (): void => {
    f.get(x).get(s).i32Const(strideOut).i32Mul().i32Add().set(src);
    f.get(dStrip).set(d);
    repeat(f, cnt, k, () => {
      for (let v = 0; v < strideOut / 16; v++)
        f.get(d)
          .get(src)
          .v128Load(v * 16)
          .v128Store(v * 16);
      f.get(src).get(cs).i32Add().set(src);
      f.get(d).i32Const(strideOut).i32Add().set(d);
    });
  };

  // Rows apart, each contiguous along k (row-major A, the transposed B of a weight gradient): 4 rows ×
  // 4 k-steps at a time, loaded as four vectors and transposed in registers (8 shuffles), so the
  // strip is written a vector at a time; the k % 4 tail element by element. float32 only.
  const transposable = isa.lanes === 4 && width % 4 === 0;
  const k4 = f.local(I32);
  const p = f.local(I32);
  const rowBase = f.local(I32);
  const t = transposable ? [0, 1, 2, 3, 4, 5, 6, 7].map(() => f.local(V128)) : [];
  const lanes = (l: number[]) => l.flatMap((i) => [i * 4, i * 4 + 1, i * 4 + 2, i * 4 + 3]);
  const rb = f.local(I32);
  const src4 = f.local(I32);
  const dst4 = f.local(I32);
  const transposedStrip = (): void => {
    f.get(x).get(s).i32Const(width).i32Mul().get(rs).i32Mul().i32Add().set(rowBase);
    f.get(k).i32Const(-4).i32And().set(k4);
    forRange(f, rb, 0, width, 4, () => {
      forRange(f, p, 0, k4, 4, () => {
        // t[i] = X(rb + i, p .. p+3); the block's column q goes to dst[p + q][rb .. rb+3]
        f.get(rowBase).get(rb).get(rs).i32Mul().i32Add().get(p).i32Const(isa.es).i32Mul().i32Add().set(src4);
        f.get(dStrip).get(p).i32Const(strideOut).i32Mul().i32Add().get(rb).i32Const(isa.es).i32Mul().i32Add();
        f.set(dst4);
        for (let i = 0; i < 4; i++) {
          f.get(src4).v128Load().set(t[i]);
          if (i < 3) f.get(src4).get(rs).i32Add().set(src4);
        }
        f.get(t[0])
          .get(t[1])
          .i8x16Shuffle(lanes([0, 4, 1, 5]))
          .set(t[4]);
        f.get(t[0])
          .get(t[1])
          .i8x16Shuffle(lanes([2, 6, 3, 7]))
          .set(t[5]);
        f.get(t[2])
          .get(t[3])
          .i8x16Shuffle(lanes([0, 4, 1, 5]))
          .set(t[6]);
        f.get(t[2])
          .get(t[3])
          .i8x16Shuffle(lanes([2, 6, 3, 7]))
          .set(t[7]);
        const store = (q: number, a: number, b: number, sel: number[]) =>
          f
            .get(dst4)
            .get(t[a])
            .get(t[b])
            .i8x16Shuffle(lanes(sel))
            .v128Store(q * strideOut);
        store(0, 4, 6, [0, 1, 4, 5]);
        store(1, 4, 6, [2, 3, 6, 7]);
        store(2, 5, 7, [0, 1, 4, 5]);
        store(3, 5, 7, [2, 3, 6, 7]);
      });
    });
    forRange(f, p, k4, k, 1, () => {
      forRange(f, r, 0, width, 1, () => {
        f.get(dStrip).get(p).i32Const(strideOut).i32Mul().i32Add().get(r).i32Const(isa.es).i32Mul().i32Add();
        isa.scalar.load(
          f.get(rowBase).get(r).get(rs).i32Mul().i32Add().get(p).i32Const(isa.es).i32Mul().i32Add(),
        );
        isa.scalar.store(f);
      });
    });
  };

  f.get(k).i32Const(strideOut).i32Mul().set(stripBytes);
  forRange(f, s, s0, s1, 1, () => {
    f.get(dst).get(s).get(stripBytes).i32Mul().i32Add().set(dStrip);
    if (strideOut % 16 === 0) {
      f.get(rs).i32Const(isa.es).i32Eq().if();
      vectorStrip();
      f.else();
      if (transposable) {
        // A whole strip (no zero rows) whose rows are contiguous along k.
        f.get(cs)
          .i32Const(isa.es)
          .i32Eq()
          .get(s)
          .i32Const(1)
          .i32Add()
          .i32Const(width)
          .i32Mul()
          .get(rows)
          .i32LeS()
          .i32And()
          .if();
        transposedStrip();
        f.else();
        scalarStrip();
        f.end();
      } else {
        scalarStrip();
      }
      f.end();
    } else {
      scalarStrip();
    }
  });
  return f;
}

/** compute(ap, bp, c, ldc, k, mt0, mt1, nt0, nt1, n): loops over cache blocks, then tiles. */
function buildCompute(shape: GemmShape, isa: DTypeIsa, microIndex: number): FunctionBuilder {
  const { mr, nr, kc: KC, mcTiles, ncTiles } = shape;
  const [f, [ap, bp, c, ldc, k, mt0, mt1, nt0, nt1, n]] = i32Function(10);
  const jc = f.local(I32);
  const jcEnd = f.local(I32);
  const pc = f.local(I32);
  const kc = f.local(I32);
  const ic = f.local(I32);
  const icEnd = f.local(I32);
  const jr = f.local(I32);
  const ir = f.local(I32);
  const bStrip = f.local(I32);
  const cCol = f.local(I32);
  const aRowBytes = f.local(I32);
  const bRowBytes = f.local(I32);
  const cTileRowBytes = f.local(I32);
  const cols = f.local(I32);

  f.get(k)
    .i32Const(mr * isa.es)
    .i32Mul()
    .set(aRowBytes); // bytes of one packed A strip
  f.get(k)
    .i32Const(nr * isa.es)
    .i32Mul()
    .set(bRowBytes); // bytes of one packed B strip
  f.get(ldc).i32Const(mr).i32Mul().set(cTileRowBytes);
  forRange(f, jc, nt0, nt1, ncTiles, () => {
    minInto(
      f,
      jcEnd,
      () => f.get(jc).i32Const(ncTiles).i32Add(),
      () => f.get(nt1),
    );
    forRange(f, pc, 0, k, KC, () => {
      minInto(
        f,
        kc,
        () => f.i32Const(KC),
        () => f.get(k).get(pc).i32Sub(),
      );
      forRange(f, ic, mt0, mt1, mcTiles, () => {
        minInto(
          f,
          icEnd,
          () => f.get(ic).i32Const(mcTiles).i32Add(),
          () => f.get(mt1),
        );
        forRange(f, jr, jc, jcEnd, 1, () => {
          f.get(bp)
            .get(jr)
            .get(bRowBytes)
            .i32Mul()
            .i32Add()
            .get(pc)
            .i32Const(nr * isa.es)
            .i32Mul()
            .i32Add();
          f.set(bStrip);
          minInto(
            f,
            cols,
            () => f.i32Const(nr),
            () => f.get(n).get(jr).i32Const(nr).i32Mul().i32Sub(),
          );
          f.get(c)
            .get(jr)
            .i32Const(nr * isa.es)
            .i32Mul()
            .i32Add()
            .set(cCol);
          forRange(f, ir, ic, icEnd, 1, () => {
            f.get(kc);
            f.get(ap)
              .get(ir)
              .get(aRowBytes)
              .i32Mul()
              .i32Add()
              .get(pc)
              .i32Const(mr * isa.es)
              .i32Mul()
              .i32Add();
            f.get(bStrip);
            f.get(cCol).get(ir).get(cTileRowBytes).i32Mul().i32Add();
            f.get(ldc);
            f.get(pc);
            f.get(cols);
            f.call(microIndex);
          });
        });
      });
    });
  });
  return f;
}

export function buildGemmModule(opts: GemmModuleOptions): Uint8Array {
  const { shape } = opts;
  const isa = isaFor(shape.dtype);
  if (shape.nr % isa.lanes !== 0)
    throw new RangeError(`gemm module: nr=${shape.nr} is not a multiple of ${isa.lanes}`);
  const mb = moduleWithMemory(opts);
  const micro = mb.addFunction(buildMicroKernel(shape, isa));
  mb.addFunction(buildPack(isa, shape.mr), "packA");
  mb.addFunction(buildPack(isa, shape.nr), "packB");
  mb.addFunction(buildCompute(shape, isa, micro), "compute");
  return mb.encode();
}
