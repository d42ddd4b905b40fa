import { recordConv } from "./conv-stats.js";
import type { NumericArray } from "./types.js";
import {
  col2imWasm,
  gatherLastWasm,
  im2colWasm,
  maxPoolArgmaxWasm,
  scatterAddLastWasm,
} from "./wasm/conv.js";

/**
 * Sliding-window geometry over the last two axes of planes [h, w] (one plane per batch entry and
 * channel). Window (oy, ox) reads input rows oy·sh − ph + ki·dh and columns ox·sw − pw + kj·dw for
 * ki < kh, kj < kw; positions outside the plane read zero (im2col) or are skipped (pooling). `ph`
 * and `pw` are the padding before; the padding after is whatever `oh`/`ow` imply.
 */
export interface Window2d {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
  h: number;
  w: number;
  oh: number;
  ow: number;
}

/** Output columns ox whose input column ox·sw − pw + off lies in [0, w): [lo, hi). */
function validRange(off: number, stride: number, pad: number, size: number, count: number): [number, number] {
  // ix = ox·stride + (off − pad) ∈ [0, size)  ⇔  ox ∈ [ceil((pad − off)/stride), ceil((size + pad − off)/stride))
  const lo = Math.max(0, Math.ceil((pad - off) / stride));
  const hi = Math.min(count, Math.ceil((size + pad - off) / stride));
  return [lo, Math.max(lo, hi)];
}

/**
 * out[p, ki, kj, oy, ox] = x[p, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw] (0 outside), for `planes`
 * planes: with planes = N·C this is torch's unfold layout [N, C·kh·kw, oh·ow]. `out` must be zeroed.
 */
export function im2col(x: NumericArray, planes: number, g: Window2d, out: NumericArray): void {
  if (im2colWasm(x, planes, g, out)) return;
  recordConv("js");
  const { kh, kw, sh, sw, ph, pw, dh, dw, h, w, oh, ow } = g;
  const L = oh * ow;
  for (let p = 0; p < planes; p++) {
    const xBase = p * h * w;
    for (let ki = 0; ki < kh; ki++) {
      const [y0, y1] = validRange(ki * dh, sh, ph, h, oh);
      for (let kj = 0; kj < kw; kj++) {
        const [x0, x1] = validRange(kj * dw, sw, pw, w, ow);
        const oBase = ((p * kh + ki) * kw + kj) * L;
        for (let oy = y0; oy < y1; oy++) {
          const src = xBase + (oy * sh - ph + ki * dh) * w - pw + kj * dw;
          const dst = oBase + oy * ow;
          for (let ox = x0; ox < x1; ox++) out[dst + ox] = x[src + ox * sw];
        }
      }
    }
  }
}

/** The transpose of im2col (torch's fold): out[p, iy, ix] += cols[p, ki, kj, oy, ox]. `out` must be zeroed. */
export function col2im(cols: NumericArray, planes: number, g: Window2d, out: NumericArray): void {
  if (col2imWasm(cols, planes, g, out)) return;
  recordConv("js");
  const { kh, kw, sh, sw, ph, pw, dh, dw, h, w, oh, ow } = g;
  const L = oh * ow;
  for (let p = 0; p < planes; p++) {
    const xBase = p * h * w;
    for (let ki = 0; ki < kh; ki++) {
      const [y0, y1] = validRange(ki * dh, sh, ph, h, oh);
      for (let kj = 0; kj < kw; kj++) {
        const [x0, x1] = validRange(kj * dw, sw, pw, w, ow);
        const cBase = ((p * kh + ki) * kw + kj) * L;
        for (let oy = y0; oy < y1; oy++) {
          const dst = xBase + (oy * sh - ph + ki * dh) * w - pw + kj * dw;
          const src = cBase + oy * ow;
          for (let ox = x0; ox < x1; ox++) out[dst + ox * sw] += cols[src + ox];
        }
      }
    }
  }
}

/**
 * For each plane and window, the flat index iy·w + ix (within the plane) of the window's maximum:
 * the first one in row-major window order on ties, a NaN wins (as in torch). Windows must hold at
 * least one position inside the plane (the op checks padding ≤ kernel/2 as torch does).
 */
export function maxPoolArgmax(x: NumericArray, planes: number, g: Window2d, out: Int32Array): void {
  if (maxPoolArgmaxWasm(x, planes, g, out)) return;
  recordConv("js");
  const { kh, kw, sh, sw, ph, pw, dh, dw, h, w, oh, ow } = g;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const iy0 = oy * sh - ph;
      for (let ox = 0; ox < ow; ox++) {
        const ix0 = ox * sw - pw;
        let best = -1;
        let bestV = Number.NEGATIVE_INFINITY;
        for (let ki = 0; ki < kh; ki++) {
          const iy = iy0 + ki * dh;
          if (iy < 0 || iy >= h) continue;
          for (let kj = 0; kj < kw; kj++) {
            const ix = ix0 + kj * dw;
            if (ix < 0 || ix >= w) continue;
            const v = x[base + iy * w + ix];
            if (best < 0 || v > bestV || (v !== v && bestV === bestV)) {
              best = iy * w + ix;
              bestV = v;
            }
          }
        }
        out[o++] = best;
      }
    }
  }
}

/** out[r, j] = x[r, index[r, j]] for rows r of x [rows, size] and index [rows, m]. */
export function gatherLast(
  x: NumericArray,
  size: number,
  index: Int32Array,
  m: number,
  rows: number,
  out: NumericArray,
): void {
  if (gatherLastWasm(x, size, index, m, rows, out)) return;
  recordConv("js");
  for (let r = 0; r < rows; r++) {
    const s = r * size;
    const d = r * m;
    for (let j = 0; j < m; j++) out[d + j] = x[s + index[d + j]];
  }
}

/** out[r, index[r, j]] += g[r, j]: the transpose of gatherLast. `out` [rows, size] must be zeroed. */
export function scatterAddLast(
  g: NumericArray,
  size: number,
  index: Int32Array,
  m: number,
  rows: number,
  out: NumericArray,
): void {
  if (scatterAddLastWasm(g, size, index, m, rows, out)) return;
  recordConv("js");
  for (let r = 0; r < rows; r++) {
    const s = r * m;
    const d = r * size;
    for (let j = 0; j < m; j++) out[d + index[s + j]] += g[s + j];
  }
}
