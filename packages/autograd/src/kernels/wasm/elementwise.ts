import type { Shape } from "../../shape.js";
import { getKernelBackend, recordElementwise } from "../backend.js";
import { advanceOdometer, broadcastWalk } from "../broadcast-walk.js";
import type { NumericArray } from "../types.js";
import {
  buildElementwiseModule,
  type EwBinaryOp,
  type EwColsKernel,
  type EwGradKernel,
  type EwGradOp,
  type EwRowsKernel,
  type EwScalarKernel,
  type EwTransposeKernel,
  type EwUnaryKernel,
  type EwUnaryOp,
  OVERSHOOT_BYTES,
} from "./elementwise-module.js";
import {
  copyIn,
  copyOut,
  type LocalModule,
  localModules,
  reserveScratch,
  slotBytes,
  viewOf,
} from "./local-module.js";
import { HEAP_BASE } from "./runtime.js";

/**
 * JS side of the elementwise WASM kernels: picks WASM or JS per call, copies the operands into the
 * unshared arena's scratch (from HEAP_BASE; calls never overlap), runs, copies the result out.
 * Each `*Wasm` function returns false when the call should run the JS loop instead (backend 'js',
 * below the 'auto' threshold, an Int32Array or mixed dtypes, an uncovered op or broadcast, WASM
 * unavailable), so the kernels in ../unary.ts, ../binary.ts and ../layout.ts keep their JS loops
 * as the fallback and the reference.
 *
 * 'auto' thresholds (element counts from which WASM runs), from `bench/kernels/elementwise.ts
 * --sweep` (float32, Node 20, this 2-core machine; JS/WASM time per call through the kernel entry
 * points, copies included, JS warm and polymorphic as in real use). Measured crossovers (ratio > 1):
 * exp and sigmoid from 16-32 elements (Math.exp costs ~9 ns an element; WASM is 2.5x faster at 32,
 * 7-10x from 512); relu, add, mul, reluGrad, sigmoidGrad from about 64-128 (2-4x at 256, 4-8x at
 * 1024); a bias-row add from 8-16 (the JS broadcast path walks an odometer); the transpose from about
 * 64. The thresholds sit well above those crossovers for the cheap ops, because a monomorphic JS loop
 * (one op, one dtype) is 2-3x faster than the polymorphic one measured and would still win at a few
 * hundred elements (add over 300 floats: 0.2-0.4 µs monomorphic, 0.5 µs WASM).
 */

const UNARY_MIN: Readonly<Record<string, number>> = {
  exp: 32,
  sigmoid: 32,
  relu: 1024,
  neg: 1024,
  abs: 1024,
  square: 1024,
  sqrt: 256,
};
const GRAD_MIN: Readonly<Record<string, number>> = {
  sigmoidGrad: 1024,
  tanhGrad: 1024,
  reluGrad: 1024,
};
const BINARY_MIN: Readonly<Record<string, number>> = {
  add: 1024,
  sub: 1024,
  mul: 1024,
  div: 512,
  maximum: 512,
  minimum: 512,
};
const TRANSPOSE_MIN: Readonly<Record<string, number>> = { transpose: 1024 };

interface Kernels {
  readonly unary: Record<string, EwUnaryKernel>;
  readonly grad: Record<string, EwGradKernel>;
  readonly rows: Record<string, EwRowsKernel>;
  readonly vs: Record<string, EwScalarKernel>;
  readonly sv: Record<string, EwScalarKernel>;
  readonly cols: Record<string, EwColsKernel>;
  readonly transpose: EwTransposeKernel;
}

type Engine = LocalModule<Kernels>;

/** The exports whose names start with prefix and end with suffix, by the name between. */
function pick<T>(exports: Record<string, unknown>, prefix: string, suffix = ""): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [name, fn] of Object.entries(exports)) {
    if (name.startsWith(prefix) && name.endsWith(suffix)) {
      out[name.slice(prefix.length, name.length - suffix.length)] = fn as T;
    }
  }
  return out;
}

const engineFor = localModules(
  buildElementwiseModule,
  (exports): Kernels => ({
    unary: pick<EwUnaryKernel>(exports, "u_"),
    grad: pick<EwGradKernel>(exports, "g_"),
    rows: pick<EwRowsKernel>(exports, "b_", "_rows"),
    vs: pick<EwScalarKernel>(exports, "b_", "_vs"),
    sv: pick<EwScalarKernel>(exports, "b_", "_sv"),
    cols: pick<EwColsKernel>(exports, "b_", "_cols"),
    transpose: exports.transpose as EwTransposeKernel,
  }),
);

/** Engine for arrays that are all Float32Array or all Float64Array; null otherwise. */
function engineOf(x: NumericArray, y: NumericArray, out: NumericArray): Engine | null {
  if (x instanceof Float32Array && y instanceof Float32Array && out instanceof Float32Array)
    return engineFor("float32");
  if (x instanceof Float64Array && y instanceof Float64Array && out instanceof Float64Array)
    return engineFor("float64");
  return null;
}

/** The smallest 'auto' threshold: below it only the forced 'wasm' backend looks further. */
const SMALLEST_MIN = 32;

/**
 * True when the backend lets a call of n elements with this threshold run on WASM. Tiny tensors
 * (the tape's scalars) leave on the first comparison: this runs on every elementwise op.
 */
function allowed(n: number, table: Readonly<Record<string, number>>, op: string): boolean {
  if (n < SMALLEST_MIN && (n === 0 || getKernelBackend() !== "wasm")) return false;
  const min = table[op];
  if (min === undefined) return false;
  const backend = getKernelBackend();
  return backend === "wasm" || (backend === "auto" && n >= min);
}

/** Bytes of a scratch slot for n elements: the kernels' overshoot included, 64-byte aligned. */
const slot = (n: number, es: number): number => slotBytes(n * es + OVERSHOOT_BYTES);

/**
 * The engine for a call on x, y (the same array for one input) and out, or null to run
 * the JS loop: backend and threshold first, then the dtypes.
 */
function engineForCall(
  table: Readonly<Record<string, number>>,
  op: string,
  x: NumericArray,
  y: NumericArray,
  out: NumericArray,
): Engine | null {
  return allowed(out.length, table, op) ? engineOf(x, y, out) : null;
}

/**
 * Scratch for one input x and an output of n elements: copies x in at HEAP_BASE and returns
 * the output's address, or 0 when the memory cannot grow that far.
 */
function inputAndOutput(e: Engine, x: NumericArray, n: number): number {
  const s = slot(n, e.es);
  if (!reserveScratch(e, 2 * s)) return 0;
  copyIn(viewOf(e), x, 0, x.length, HEAP_BASE, e.es);
  return HEAP_BASE + s;
}

/** Copies the results at outAt to out and counts the call; true. */
function finish(e: Engine, outAt: number, out: NumericArray): true {
  copyOut(viewOf(e), out, 0, out.length, outAt, e.es);
  recordElementwise("wasm");
  return true;
}

/** out = op(x) on WASM; false to run the JS loop. */
export function unaryWasm(op: string, x: NumericArray, out: NumericArray): boolean {
  const e = engineForCall(UNARY_MIN, op, x, x, out);
  if (e === null) return false;
  const n = out.length;
  const outAt = inputAndOutput(e, x, n);
  if (outAt === 0) return false;
  e.kernels.unary[op as EwUnaryOp]!(HEAP_BASE, outAt, n);
  return finish(e, outAt, out);
}

/** out = activation gradient (../binary.ts activationGrad) on WASM; false to run the JS loop. */
export function gradWasm(op: string, y: NumericArray, g: NumericArray, out: NumericArray): boolean {
  const e = engineForCall(GRAD_MIN, op, y, g, out);
  if (e === null) return false;
  const n = out.length;
  const es = e.es;
  const s = slot(n, es);
  if (!reserveScratch(e, 3 * s)) return false;
  const yAt = HEAP_BASE;
  const gAt = yAt + s;
  const outAt = gAt + s;
  const v = viewOf(e);
  copyIn(v, y, 0, y.length, yAt, es);
  copyIn(v, g, 0, g.length, gAt, es);
  e.kernels.grad[op as EwGradOp]!(yAt, gAt, outAt, n);
  return finish(e, outAt, out);
}

/**
 * out = op(a, b) on WASM for the broadcasts it covers: equal sizes, either operand a scalar, either
 * operand a trailing block of the other (a row, or a [T, T] mask) repeated over its leading axes, or
 * either operand one value per row of the other (columnWasm). The shapes are the operands' own; false to
 * run the JS loop.
 */
export function binaryWasm(
  op: string,
  a: NumericArray,
  aShape: readonly number[],
  b: NumericArray,
  bShape: readonly number[],
  out: NumericArray,
  outShape: readonly number[],
): boolean {
  const e = engineForCall(BINARY_MIN, op, a, b, out);
  if (e === null) return false;
  const n = out.length;
  const es = e.es;
  const la = a.length;
  const lb = b.length;
  let inner = n;
  let rows = 1;
  let aStep = 0;
  let bStep = 0;
  let kind: "rows" | "vs" | "sv";
  if (la === n && lb === n) kind = "rows";
  else if (la === n && lb === 1) kind = "vs";
  else if (la === 1 && lb === n) kind = "sv";
  else if (la === n && trailingBlock(bShape, outShape)) {
    // b repeated over the leading axes: a bias row, or a [T, T] mask over [B, H, T, T] scores.
    kind = "rows";
    inner = lb;
    rows = n / lb;
    aStep = lb * es;
  } else if (lb === n && trailingBlock(aShape, outShape)) {
    kind = "rows";
    inner = la;
    rows = n / la;
    bStep = la * es;
  } else if (la === n) return columnWasm(e, op, a, b, bShape, out, outShape, true);
  else if (lb === n) return columnWasm(e, op, b, a, aShape, out, outShape, false);
  else return false;
  const sa = slot(la, es);
  const sb = slot(lb, es);
  if (!reserveScratch(e, sa + sb + slot(n, es))) return false;
  const aAt = HEAP_BASE;
  const bAt = aAt + sa;
  const outAt = bAt + sb;
  const v = viewOf(e);
  copyIn(v, a, 0, la, aAt, es);
  copyIn(v, b, 0, lb, bAt, es);
  const k = e.kernels;
  if (kind === "rows") k.rows[op as EwBinaryOp]!(aAt, bAt, outAt, rows, inner, aStep, bStep);
  else if (kind === "vs") k.vs[op as EwBinaryOp]!(aAt, bAt, outAt, n);
  else k.sv[op as EwBinaryOp]!(aAt, bAt, outAt, n);
  return finish(e, outAt, out);
}

/** Whether `shape` (leading 1s aside) is the trailing part of outShape, so it repeats over outShape's leading axes. */
function trailingBlock(shape: Shape, outShape: Shape): boolean {
  let first = 0;
  while (first < shape.length && shape[first] === 1) first++;
  const k = shape.length - first;
  if (k === 0 || k > outShape.length) return false;
  for (let i = 0; i < k; i++) if (shape[first + i] !== outShape[outShape.length - k + i]) return false;
  return true;
}

/**
 * out = op(x, c) (colIsB) or op(c, x), x laid out as the output and c constant along the output's merged
 * innermost run: one value per row, gathered here (NCHW's per-channel values, a [B, T, 1] row statistic).
 * False when c varies along that run or the rows are too short for vectors to pay.
 */
function columnWasm(
  e: Engine,
  op: string,
  x: NumericArray,
  c: NumericArray,
  cShape: Shape,
  out: NumericArray,
  outShape: Shape,
  colIsB: boolean,
): boolean {
  const { dims, strides } = broadcastWalk(outShape, [outShape, cShape]);
  const last = dims.length - 1;
  const inner = dims[last];
  if (strides[1][last] !== 0 || inner < 8) return false;
  const n = out.length;
  const rows = n / inner;
  const es = e.es;
  const sx = slot(n, es);
  const sc = slot(rows, es);
  if (!reserveScratch(e, sx + sc + slot(n, es))) return false;
  const xAt = HEAP_BASE;
  const cAt = xAt + sx;
  const outAt = cAt + sc;
  const v = viewOf(e);
  copyIn(v, x, 0, n, xAt, es);
  // c's value for each row: an odometer over the outer dimensions with c's strides.
  const cs = strides[1];
  const idx = new Array<number>(last).fill(0);
  let src = 0;
  const base = cAt / es;
  for (let r = 0; r < rows; r++) {
    v[base + r] = c[src];
    src = advanceOdometer(idx, dims, cs, src);
  }
  e.kernels.cols[op as EwBinaryOp]!(xAt, cAt, outAt, rows, inner, colIsB ? 1 : 0);
  return finish(e, outAt, out);
}

/**
 * out[b] = x[b]ᵀ for `batch` matrices of shape [rows, cols] stored one after another (a 2-D transpose
 * when batch = 1) on WASM; false to run the JS loop.
 */
export function transposeWasm(
  x: NumericArray,
  rows: number,
  cols: number,
  out: NumericArray,
  batch = 1,
): boolean {
  const e = engineForCall(TRANSPOSE_MIN, "transpose", x, x, out);
  if (e === null) return false;
  const outAt = inputAndOutput(e, x, out.length);
  if (outAt === 0) return false;
  const matrixBytes = rows * cols * e.es;
  const transpose = e.kernels.transpose;
  for (let i = 0; i < batch; i++) transpose(HEAP_BASE + i * matrixBytes, outAt + i * matrixBytes, rows, cols);
  return finish(e, outAt, out);
}
