import {
  F32,
  F64,
  FunctionBuilder,
  I32,
  type Local,
  ModuleBuilder,
  V128,
  type ValType,
} from "./assembler.js";

/**
 * What the generated modules (elementwise, optimiser update, GEMM) share: the element types, one table
 * of instructions per dtype, loops, and the module shell around the imported memory.
 */

export type WasmDType = "float32" | "float64";

/** The memory every module imports as env.memory (the arena's, see runtime.ts). */
export interface ImportedMemory {
  /** Import a shared memory (needed when worker threads run the same instance's code). */
  shared: boolean;
  maxPages: number;
}

/** A module that imports the arena's memory; add the functions, then encode. */
export function moduleWithMemory(memory: ImportedMemory): ModuleBuilder {
  return new ModuleBuilder().importMemory({
    module: "env",
    field: "memory",
    minPages: 1,
    maxPages: memory.maxPages,
    shared: memory.shared,
  });
}

/**
 * Instructions on one step's worth of elements, a v128 of lanes or one scalar, so a formula written
 * once can be emitted for both. Each appends to `f` and returns it, for chaining.
 */
export interface LaneOps {
  readonly type: ValType;
  /** Bytes one step covers: 16, or the element size. */
  readonly bytes: number;
  load(f: FunctionBuilder, offset?: number): FunctionBuilder;
  store(f: FunctionBuilder, offset?: number): FunctionBuilder;
  /** Pushes the constant (in every lane). */
  k(f: FunctionBuilder, value: number): FunctionBuilder;
  add(f: FunctionBuilder): FunctionBuilder;
  sub(f: FunctionBuilder): FunctionBuilder;
  mul(f: FunctionBuilder): FunctionBuilder;
  div(f: FunctionBuilder): FunctionBuilder;
  sqrt(f: FunctionBuilder): FunctionBuilder;
  lt(f: FunctionBuilder): FunctionBuilder;
}

/** f32x4 or f64x2 lanes. */
export interface VectorOps extends LaneOps {
  abs(f: FunctionBuilder): FunctionBuilder;
  neg(f: FunctionBuilder): FunctionBuilder;
  floor(f: FunctionBuilder): FunctionBuilder;
  nearest(f: FunctionBuilder): FunctionBuilder;
  ne(f: FunctionBuilder): FunctionBuilder;
  gt(f: FunctionBuilder): FunctionBuilder;
  le(f: FunctionBuilder): FunctionBuilder;
  ge(f: FunctionBuilder): FunctionBuilder;
  /** a < b ? b : a, lane by lane (JS's comparison semantics for NaN). */
  pmax(f: FunctionBuilder): FunctionBuilder;
  /** The scalar on the stack, in every lane. */
  splat(f: FunctionBuilder): FunctionBuilder;
  /** The element at the address on the stack, in every lane. */
  splatLoad(f: FunctionBuilder, offset?: number): FunctionBuilder;
  extractLane(f: FunctionBuilder, lane: number): FunctionBuilder;
}

export interface DTypeIsa {
  readonly f32: boolean;
  /** Bytes per element. */
  readonly es: number;
  /** Elements per v128. */
  readonly lanes: number;
  readonly vec: VectorOps;
  readonly scalar: LaneOps;
}

/** v128.const bytes of `value` in every lane. */
function splatBytes(f32: boolean, value: number): number[] {
  const lanes = f32 ? new Float32Array(4).fill(value) : new Float64Array(2).fill(value);
  return Array.from(new Uint8Array(lanes.buffer));
}

const F32_ISA: DTypeIsa = {
  f32: true,
  es: 4,
  lanes: 4,
  vec: {
    type: V128,
    bytes: 16,
    load: (f, o = 0) => f.v128Load(o),
    store: (f, o = 0) => f.v128Store(o),
    k: (f, value) => f.v128Const(splatBytes(true, value)),
    add: (f) => f.f32x4Add(),
    sub: (f) => f.f32x4Sub(),
    mul: (f) => f.f32x4Mul(),
    div: (f) => f.f32x4Div(),
    sqrt: (f) => f.f32x4Sqrt(),
    lt: (f) => f.f32x4Lt(),
    abs: (f) => f.f32x4Abs(),
    neg: (f) => f.f32x4Neg(),
    floor: (f) => f.f32x4Floor(),
    nearest: (f) => f.f32x4Nearest(),
    ne: (f) => f.f32x4Ne(),
    gt: (f) => f.f32x4Gt(),
    le: (f) => f.f32x4Le(),
    ge: (f) => f.f32x4Ge(),
    pmax: (f) => f.f32x4Pmax(),
    splat: (f) => f.f32x4Splat(),
    splatLoad: (f, o = 0) => f.v128Load32Splat(o),
    extractLane: (f, lane) => f.f32x4ExtractLane(lane),
  },
  scalar: {
    type: F32,
    bytes: 4,
    load: (f, o = 0) => f.f32Load(o),
    store: (f, o = 0) => f.f32Store(o),
    k: (f, value) => f.f32Const(value),
    add: (f) => f.f32Add(),
    sub: (f) => f.f32Sub(),
    mul: (f) => f.f32Mul(),
    div: (f) => f.f32Div(),
    sqrt: (f) => f.f32Sqrt(),
    lt: (f) => f.f32Lt(),
  },
};

const F64_ISA: DTypeIsa = {
  f32: false,
  es: 8,
  lanes: 2,
  vec: {
    type: V128,
    bytes: 16,
    load: (f, o = 0) => f.v128Load(o),
    store: (f, o = 0) => f.v128Store(o),
    k: (f, value) => f.v128Const(splatBytes(false, value)),
    add: (f) => f.f64x2Add(),
    sub: (f) => f.f64x2Sub(),
    mul: (f) => f.f64x2Mul(),
    div: (f) => f.f64x2Div(),
    sqrt: (f) => f.f64x2Sqrt(),
    lt: (f) => f.f64x2Lt(),
    abs: (f) => f.f64x2Abs(),
    neg: (f) => f.f64x2Neg(),
    floor: (f) => f.f64x2Floor(),
    nearest: (f) => f.f64x2Nearest(),
    ne: (f) => f.f64x2Ne(),
    gt: (f) => f.f64x2Gt(),
    le: (f) => f.f64x2Le(),
    ge: (f) => f.f64x2Ge(),
    pmax: (f) => f.f64x2Pmax(),
    splat: (f) => f.f64x2Splat(),
    splatLoad: (f, o = 0) => f.v128Load64Splat(o),
    extractLane: (f, lane) => f.f64x2ExtractLane(lane),
  },
  scalar: {
    type: F64,
    bytes: 8,
    load: (f, o = 0) => f.f64Load(o),
    store: (f, o = 0) => f.f64Store(o),
    k: (f, value) => f.f64Const(value),
    add: (f) => f.f64Add(),
    sub: (f) => f.f64Sub(),
    mul: (f) => f.f64Mul(),
    div: (f) => f.f64Div(),
    sqrt: (f) => f.f64Sqrt(),
    lt: (f) => f.f64Lt(),
  },
};

export function isaFor(dtype: WasmDType): DTypeIsa {
  return dtype === "float32" ? F32_ISA : F64_ISA;
}

type Tuple<T, N extends number, R extends T[] = []> = R["length"] extends N ? R : Tuple<T, N, [T, ...R]>;

/** A function of `arity` i32 parameters (addresses, counts, strides) and no result, and its parameters. */
export function i32Function<N extends number>(arity: N): [FunctionBuilder, Tuple<Local, N>] {
  const f = new FunctionBuilder(new Array<ValType>(arity).fill(I32), []);
  return [f, f.params as Tuple<Local, N>];
}

function push(f: FunctionBuilder, value: Local | number): FunctionBuilder {
  return typeof value === "number" ? f.i32Const(value) : f.get(value);
}

/**
 * for (i = from; i < to; i += step) body(), tested at the top (no iteration when from >= to).
 * Unsigned comparison: byte offsets run up to the 4 GiB a 65536-page memory holds (the GEMM's loops
 * over tile and strip indices, never negative, compare alike).
 */
export function forRange(
  f: FunctionBuilder,
  i: Local,
  from: Local | number,
  to: Local | number,
  step: number,
  body: () => void,
): void {
  push(f, from).set(i);
  f.block().loop();
  push(f.get(i), to).i32GeU().brIf(1);
  body();
  f.get(i).i32Const(step).i32Add().set(i);
  f.br(0).end().end();
}

/**
 * if (i < to) do { body(); i += step } while (i < to): continues from i as it is. One branch per
 * iteration, which ran the SGD kernel 1.6x faster than forRange's test at the top.
 */
export function whileBelow(f: FunctionBuilder, i: Local, to: Local, step: number, body: () => void): void {
  f.get(i).get(to).i32LtU().if();
  f.loop();
  body();
  f.get(i).i32Const(step).i32Add().tee(i);
  f.get(to).i32LtU().brIf(0);
  f.end().end();
}

/** Repeats body `count` times (count >= 1 at run time), counting a scratch local down. */
export function repeat(f: FunctionBuilder, counter: Local, count: Local, body: () => void): void {
  f.get(count).set(counter);
  f.loop();
  body();
  f.get(counter).i32Const(1).i32Sub().tee(counter).brIf(0);
  f.end();
}
