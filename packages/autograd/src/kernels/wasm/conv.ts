import type { Window2d } from "../conv.js";
import type { NumericArray } from "../types.js";

export function im2colWasm(_x: NumericArray, _planes: number, _g: Window2d, _out: NumericArray): boolean {
  return false;
}
export function col2imWasm(_x: NumericArray, _planes: number, _g: Window2d, _out: NumericArray): boolean {
  return false;
}
export function maxPoolArgmaxWasm(
  _x: NumericArray,
  _planes: number,
  _g: Window2d,
  _out: Int32Array,
): boolean {
  return false;
}
export function gatherLastWasm(
  _x: NumericArray,
  _s: number,
  _i: Int32Array,
  _m: number,
  _r: number,
  _o: NumericArray,
): boolean {
  return false;
}
export function scatterAddLastWasm(
  _x: NumericArray,
  _s: number,
  _i: Int32Array,
  _m: number,
  _r: number,
  _o: NumericArray,
): boolean {
  return false;
}
