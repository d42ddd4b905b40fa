import type { Shape } from "../shape.js";
import { recordElementwise } from "./backend.js";
import { broadcastWalk } from "./broadcast-walk.js";
import type { NumericArray } from "./types.js";
import { binaryWasm, gradWasm } from "./wasm/elementwise.js";

/** Elementwise binary functions over broadcast operands. Comparisons write 1 / 0. */
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "greater"
  | "greaterEqual"
  | "less"
  | "lessEqual"
  | "equal"
  | "notEqual";

/**
 * out = op(a, b) with NumPy broadcasting. The loops walk the output row by row: every row is one call
 * of `row`, whose operand strides are 0 (broadcast) or 1, so the inner loop stays simple.
 */
export function binary(
  op: BinaryOp,
  a: NumericArray,
  aShape: Shape,
  b: NumericArray,
  bShape: Shape,
  out: NumericArray,
  outShape: Shape,
): void {
  const n = out.length;
  if (n === 0) return;
  // WASM SIMD for the common broadcasts where it pays (wasm/elementwise.ts); these loops otherwise.
  if (binaryWasm(op, a, aShape, b, bShape, out, outShape)) return;
  recordElementwise("js");
  if (a.length === n && (b.length === n || b.length === 1)) {
    row(op, a, 0, 1, b, 0, b.length === n ? 1 : 0, out, 0, n);
    return;
  }
  if (a.length === 1 && b.length === n) {
    row(op, a, 0, 0, b, 0, 1, out, 0, n);
    return;
  }
  // Merged dimensions (broadcast-walk.ts): runs as long as the layouts allow, one row() call each.
  const { dims, strides } = broadcastWalk(outShape, [aShape, bShape]);
  const [sa, sb] = strides;
  const nd = dims.length;
  const inner = dims[nd - 1];
  const innerA = sa[nd - 1];
  const innerB = sb[nd - 1];
  const rows = n / inner;
  const idx = new Array<number>(nd).fill(0);
  let offA = 0;
  let offB = 0;
  for (let r = 0; r < rows; r++) {
    row(op, a, offA, innerA, b, offB, innerB, out, r * inner, inner);
    // Advance the odometer over the outer dimensions.
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      offA += sa[d];
      offB += sb[d];
      if (idx[d] < dims[d]) break;
      offA -= sa[d] * dims[d];
      offB -= sb[d] * dims[d];
      idx[d] = 0;
    }
  }
}

function row(
  op: BinaryOp,
  a: NumericArray,
  ia: number,
  sa: number,
  b: NumericArray,
  ib: number,
  sb: number,
  out: NumericArray,
  io: number,
  n: number,
): void {
  // A fixed operand (stride 0) or both contiguous: loops without the stride products (float arithmetic).
  if (!(out instanceof Int32Array)) {
    if (sa === 1 && sb === 0 && rowVectorScalar(op, a, ia, b[ib], out, io, n)) return;
    if (sa === 0 && sb === 1 && rowScalarVector(op, a[ia], b, ib, out, io, n)) return;
    if (sa === 1 && sb === 1 && rowVectors(op, a, ia, b, ib, out, io, n)) return;
  }
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] + b[ib + i * sb];
      return;
    case "sub":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] - b[ib + i * sb];
      return;
    case "mul":
      // int32 products wrap modulo 2^32 like int32 arithmetic; a double product above 2^53 has lost
      // the low bits that wrapping keeps, so int32 multiplies with Math.imul.
      if (out instanceof Int32Array) {
        for (let i = 0; i < n; i++) out[io + i] = Math.imul(a[ia + i * sa], b[ib + i * sb]);
        return;
      }
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] * b[ib + i * sb];
      return;
    case "div":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] / b[ib + i * sb];
      return;
    case "pow":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] ** b[ib + i * sb];
      return;
    case "maximum":
      for (let i = 0; i < n; i++) {
        const x = a[ia + i * sa];
        const y = b[ib + i * sb];
        out[io + i] = x > y || x !== x ? x : y; // NaN propagates, as in NumPy
      }
      return;
    case "minimum":
      for (let i = 0; i < n; i++) {
        const x = a[ia + i * sa];
        const y = b[ib + i * sb];
        out[io + i] = x < y || x !== x ? x : y;
      }
      return;
    // +(boolean) is 1 or 0 without a branch: on random data `? 1 : 0` mispredicts half the time (6x slower).
    case "greater":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i * sa] > b[ib + i * sb]);
      return;
    case "greaterEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i * sa] >= b[ib + i * sb]);
      return;
    case "less":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i * sa] < b[ib + i * sb]);
      return;
    case "lessEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i * sa] <= b[ib + i * sb]);
      return;
    case "equal":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i * sa] === b[ib + i * sb]);
      return;
    case "notEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i * sa] !== b[ib + i * sb]);
      return;
  }
}

/** out[io + i] = a[ia + i] op v for arithmetic and comparisons; false for the others (row()'s loops). */
function rowVectorScalar(
  op: BinaryOp,
  a: NumericArray,
  ia: number,
  v: number,
  out: NumericArray,
  io: number,
  n: number,
): boolean {
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i] + v;
      return true;
    case "sub":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i] - v;
      return true;
    case "mul":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i] * v;
      return true;
    case "div":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i] / v;
      return true;
    case "greater":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] > v);
      return true;
    case "greaterEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] >= v);
      return true;
    case "less":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] < v);
      return true;
    case "lessEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] <= v);
      return true;
    case "equal":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] === v);
      return true;
    case "notEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] !== v);
      return true;
    default:
      return false;
  }
}

/** out[io + i] = u op b[ib + i] for arithmetic and comparisons; false for the others. */
function rowScalarVector(
  op: BinaryOp,
  u: number,
  b: NumericArray,
  ib: number,
  out: NumericArray,
  io: number,
  n: number,
): boolean {
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) out[io + i] = u + b[ib + i];
      return true;
    case "sub":
      for (let i = 0; i < n; i++) out[io + i] = u - b[ib + i];
      return true;
    case "mul":
      for (let i = 0; i < n; i++) out[io + i] = u * b[ib + i];
      return true;
    case "div":
      for (let i = 0; i < n; i++) out[io + i] = u / b[ib + i];
      return true;
    case "greater":
      for (let i = 0; i < n; i++) out[io + i] = +(u > b[ib + i]);
      return true;
    case "greaterEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(u >= b[ib + i]);
      return true;
    case "less":
      for (let i = 0; i < n; i++) out[io + i] = +(u < b[ib + i]);
      return true;
    case "lessEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(u <= b[ib + i]);
      return true;
    case "equal":
      for (let i = 0; i < n; i++) out[io + i] = +(u === b[ib + i]);
      return true;
    case "notEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(u !== b[ib + i]);
      return true;
    default:
      return false;
  }
}

/** out[io + i] = a[ia + i] op b[ib + i] for arithmetic and comparisons; false for the others. */
function rowVectors(
  op: BinaryOp,
  a: NumericArray,
  ia: number,
  b: NumericArray,
  ib: number,
  out: NumericArray,
  io: number,
  n: number,
): boolean {
  switch (op) {
    case "add":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i] + b[ib + i];
      return true;
    case "sub":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i] - b[ib + i];
      return true;
    case "mul":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i] * b[ib + i];
      return true;
    case "div":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i] / b[ib + i];
      return true;
    case "greater":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] > b[ib + i]);
      return true;
    case "greaterEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] >= b[ib + i]);
      return true;
    case "less":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] < b[ib + i]);
      return true;
    case "lessEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] <= b[ib + i]);
      return true;
    case "equal":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] === b[ib + i]);
      return true;
    case "notEqual":
      for (let i = 0; i < n; i++) out[io + i] = +(a[ia + i] !== b[ib + i]);
      return true;
    default:
      return false;
  }
}

/** out = cond != 0 ? a : b, all three broadcast to outShape. */
export function select(
  cond: NumericArray,
  condShape: Shape,
  a: NumericArray,
  aShape: Shape,
  b: NumericArray,
  bShape: Shape,
  out: NumericArray,
  outShape: Shape,
): void {
  const n = out.length;
  if (n === 0) return;
  // 4-byte elements are chosen bit by bit (exact for NaN, ±Inf, -0): a branch per element
  // mispredicts on mixed masks (4.1 against 1.0 ms for 524K float32 values half masked).
  const bits = n >= BITWISE_SELECT_MIN ? bitViews(a, b, out) : null;
  if (cond.length === n && a.length === n && b.length === n) {
    if (bits !== null) selectRun(cond, 0, 1, bits[0], 0, 1, bits[1], 0, 1, bits[2], 0, n);
    else for (let i = 0; i < n; i++) out[i] = cond[i] !== 0 ? a[i] : b[i];
    return;
  }
  // Runs over merged dimensions (broadcast-walk.ts), the odometer advanced once per run.
  const { dims, strides } = broadcastWalk(outShape, [condShape, aShape, bShape]);
  const [sc, sa, sb] = strides;
  const nd = dims.length;
  const inner = dims[nd - 1];
  const ic = sc[nd - 1];
  const ia = sa[nd - 1];
  const ib = sb[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let oc = 0;
  let oa = 0;
  let ob = 0;
  for (let o = 0; o < n; o += inner) {
    if (bits !== null) selectRun(cond, oc, ic, bits[0], oa, ia, bits[1], ob, ib, bits[2], o, inner);
    else
      for (let i = 0; i < inner; i++) out[o + i] = cond[oc + i * ic] !== 0 ? a[oa + i * ia] : b[ob + i * ib];
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      oc += sc[d];
      oa += sa[d];
      ob += sb[d];
      if (idx[d] < dims[d]) break;
      oc -= sc[d] * dims[d];
      oa -= sa[d] * dims[d];
      ob -= sb[d] * dims[d];
      idx[d] = 0;
    }
  }
}

/** Below this many elements the views cost more than the branches (and small arrays stay in V8's heap). */
const BITWISE_SELECT_MIN = 256;

/** Int32 views of a, b and out when all three hold 4-byte elements (float32 or int32), else null. */
function bitViews(
  a: NumericArray,
  b: NumericArray,
  out: NumericArray,
): [Int32Array, Int32Array, Int32Array] | null {
  const view = (x: NumericArray): Int32Array | null => {
    if (x instanceof Int32Array) return x;
    if (x instanceof Float32Array) return new Int32Array(x.buffer, x.byteOffset, x.length);
    return null;
  };
  const va = view(a);
  const vb = view(b);
  const vo = view(out);
  return va === null || vb === null || vo === null ? null : [va, vb, vo];
}

/** out[o + i] = cond != 0 ? a : b for one run, as bits: mask −1 or 0, then (a & mask) | (b & ~mask). */
function selectRun(
  cond: NumericArray,
  oc: number,
  ic: number,
  a: Int32Array,
  oa: number,
  ia: number,
  b: Int32Array,
  ob: number,
  ib: number,
  out: Int32Array,
  o: number,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const mask = -(cond[oc + i * ic] !== 0);
    out[o + i] = (a[oa + i * ia] & mask) | (b[ob + i * ib] & ~mask);
  }
}

/** Fused gradient kernels used by backward: each replaces three elementwise passes. */
export type GradOp = "tanhGrad" | "sigmoidGrad" | "reluGrad";

/** out = g * dact where dact comes from the saved activation y (tanh, sigmoid) or the input x (relu). */
export function activationGrad(op: GradOp, y: NumericArray, g: NumericArray, out: NumericArray): void {
  if (gradWasm(op, y, g, out)) return;
  recordElementwise("js");
  const n = out.length;
  switch (op) {
    case "tanhGrad":
      for (let i = 0; i < n; i++) {
        const v = y[i];
        out[i] = g[i] * (1 - v * v);
      }
      return;
    case "sigmoidGrad":
      for (let i = 0; i < n; i++) {
        const v = y[i];
        out[i] = g[i] * v * (1 - v);
      }
      return;
    case "reluGrad":
      for (let i = 0; i < n; i++) out[i] = y[i] <= 0 ? 0 : g[i]; // a NaN input passes g on, as in PyTorch
      return;
  }
}
