import { broadcastStrides, type Shape } from "../shape.js";

/**
 * The iteration of an elementwise op over broadcast operands, simplified: dimensions of size 1 are
 * dropped and neighbouring dimensions merged wherever every operand steps through them as one (both
 * contiguous, or both broadcast), so the innermost run is as long as the layouts allow. A bias
 * [1, C, 1, 1] added to [N, C, H, W] walks N·C runs of H·W with the bias fixed along each; a row
 * max [B, T, 1] subtracted from [B, T, T] walks B·T runs of T. `dims` is outermost first;
 * `strides[k][d]` is operand k's step along dims[d] (0 where it is broadcast).
 */
export interface BroadcastWalk {
  dims: number[];
  strides: number[][];
}

export function broadcastWalk(outShape: Shape, operandShapes: readonly Shape[]): BroadcastWalk {
  const all = operandShapes.map((s) => broadcastStrides(s, outShape));
  const dims: number[] = [];
  const strides: number[][] = operandShapes.map(() => []);
  for (let d = 0; d < outShape.length; d++) {
    const size = outShape[d];
    if (size === 1) continue;
    const last = dims.length - 1;
    // Merge into the previous kept dimension when each operand's step there is this one's times size.
    let merge = last >= 0;
    for (let k = 0; merge && k < all.length; k++) {
      if (strides[k][last] !== all[k][d] * size) merge = false;
    }
    if (merge) {
      dims[last] *= size;
      for (let k = 0; k < all.length; k++) strides[k][last] = all[k][d];
    } else {
      dims.push(size);
      for (let k = 0; k < all.length; k++) strides[k].push(all[k][d]);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    for (const s of strides) s.push(0);
  }
  return { dims, strides };
}

/**
 * One step of an odometer over dims[0, idx.length) (the last fastest): returns `pos` moved by the
 * matching `steps`. The walks over runs (expand, copyStrided, reductions, column broadcasts) share it.
 */
export function advanceOdometer(
  idx: number[],
  dims: readonly number[],
  steps: readonly number[],
  pos: number,
): number {
  for (let d = idx.length - 1; d >= 0; d--) {
    idx[d]++;
    pos += steps[d];
    if (idx[d] < dims[d]) return pos;
    pos -= steps[d] * dims[d];
    idx[d] = 0;
  }
  return pos;
}
