import { broadcastStrides, type Shape } from "../shape.js";
import { recordElementwise } from "./backend.js";
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
  const nd = outShape.length;
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const inner = outShape[nd - 1];
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
      if (idx[d] < outShape[d]) break;
      offA -= sa[d] * outShape[d];
      offB -= sb[d] * outShape[d];
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
    case "greater":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] > b[ib + i * sb] ? 1 : 0;
      return;
    case "greaterEqual":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] >= b[ib + i * sb] ? 1 : 0;
      return;
    case "less":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] < b[ib + i * sb] ? 1 : 0;
      return;
    case "lessEqual":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] <= b[ib + i * sb] ? 1 : 0;
      return;
    case "equal":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] === b[ib + i * sb] ? 1 : 0;
      return;
    case "notEqual":
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] !== b[ib + i * sb] ? 1 : 0;
      return;
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
  if (cond.length === n && a.length === n && b.length === n) {
    for (let i = 0; i < n; i++) out[i] = cond[i] !== 0 ? a[i] : b[i];
    return;
  }
  const nd = outShape.length;
  const sc = broadcastStrides(condShape, outShape);
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const idx = new Array<number>(nd).fill(0);
  let oc = 0;
  let oa = 0;
  let ob = 0;
  for (let i = 0; i < n; i++) {
    out[i] = cond[oc] !== 0 ? a[oa] : b[ob];
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      oc += sc[d];
      oa += sa[d];
      ob += sb[d];
      if (idx[d] < outShape[d]) break;
      oc -= sc[d] * outShape[d];
      oa -= sa[d] * outShape[d];
      ob -= sb[d] * outShape[d];
      idx[d] = 0;
    }
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
