import { recordConv } from "./conv-stats.js";
import { gemm } from "./gemm.js";
import type { FloatArray, NumericArray } from "./types.js";
import {
  col2imWasm,
  gatherLastWasm,
  im2colWasm,
  maxPoolArgmaxWasm,
  scatterAddLastWasm,
} from "./wasm/conv.js";
import { convForwardWasm, convInputGradWasm, convWeightGradWasm } from "./wasm/conv-gemm.js";

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

/** How im2col lays out its columns: batch n, channel c split into `groups` groups. */
export interface ColsLayout {
  n: number;
  c: number;
  groups: number;
}

/**
 * im2col in the layout the GEMM wants: out[g, n·L + oy·ow + ox, (cg·kh + ki)·kw + kj] =
 * x[n, g·Cg + cg, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw] (0 outside), i.e. [groups, N·L, Cg·kh·kw]
 * with L = oh·ow: one row per output position, so a convolution is one product per group against
 * the weight [O, Cg·kh·kw] (transposed while packing) and its weight gradient one product too.
 * `out` must be zeroed.
 */
export function im2col(x: NumericArray, layout: ColsLayout, g: Window2d, out: NumericArray): void {
  if (im2colWasm(x, layout, g, out)) return;
  recordConv("js");
  // Rows in memory order (group, batch, output position): the large column matrix is written
  // sequentially while the reads stay within one sample's planes.
  const { kh, kw, sh, sw, ph, pw, dh, dw, h, w, oh, ow } = g;
  const { n, c, groups } = layout;
  const cg = c / groups;
  const plane = h * w;
  const K = cg * kh * kw;
  let row = 0;
  for (let grp = 0; grp < groups; grp++) {
    for (let b = 0; b < n; b++) {
      const xBase = (b * c + grp * cg) * plane;
      for (let oy = 0; oy < oh; oy++) {
        const iy0 = oy * sh - ph;
        const ki0 = iy0 >= 0 ? 0 : Math.ceil(-iy0 / dh);
        const ki1 = Math.min(kh, Math.ceil((h - iy0) / dh));
        for (let ox = 0; ox < ow; ox++, row += K) {
          const ix0 = ox * sw - pw;
          const kj0 = ix0 >= 0 ? 0 : Math.ceil(-ix0 / dw);
          const kj1 = Math.min(kw, Math.ceil((w - ix0) / dw));
          for (let ch = 0; ch < cg; ch++) {
            for (let ki = ki0; ki < ki1; ki++) {
              const d = row + (ch * kh + ki) * kw;
              const s = xBase + ch * plane + (iy0 + ki * dh) * w + ix0;
              for (let kj = kj0; kj < kj1; kj++) out[d + kj] = x[s + kj * dw];
            }
          }
        }
      }
    }
  }
}

/** The transpose of im2col (torch's fold, from im2col's layout): out[n, c, iy, ix] += cols[...]. `out` must be zeroed. */
export function col2im(cols: NumericArray, layout: ColsLayout, g: Window2d, out: NumericArray): void {
  if (col2imWasm(cols, layout, g, out)) return;
  recordConv("js");
  // The same walk as im2col's: the column matrix is read sequentially.
  const { kh, kw, sh, sw, ph, pw, dh, dw, h, w, oh, ow } = g;
  const { n, c, groups } = layout;
  const cg = c / groups;
  const plane = h * w;
  const K = cg * kh * kw;
  let row = 0;
  for (let grp = 0; grp < groups; grp++) {
    for (let b = 0; b < n; b++) {
      const xBase = (b * c + grp * cg) * plane;
      for (let oy = 0; oy < oh; oy++) {
        const iy0 = oy * sh - ph;
        const ki0 = iy0 >= 0 ? 0 : Math.ceil(-iy0 / dh);
        const ki1 = Math.min(kh, Math.ceil((h - iy0) / dh));
        for (let ox = 0; ox < ow; ox++, row += K) {
          const ix0 = ox * sw - pw;
          const kj0 = ix0 >= 0 ? 0 : Math.ceil(-ix0 / dw);
          const kj1 = Math.min(kw, Math.ceil((w - ix0) / dw));
          for (let ch = 0; ch < cg; ch++) {
            for (let ki = ki0; ki < ki1; ki++) {
              const d = row + (ch * kh + ki) * kw;
              const t = xBase + ch * plane + (iy0 + ki * dh) * w + ix0;
              for (let kj = kj0; kj < kj1; kj++) out[t + kj * dw] += cols[d + kj];
            }
          }
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

/** A convolution's sizes: the window over [h, w] planes plus batch, channels in and out, groups. */
export interface ConvDims extends Window2d {
  n: number;
  c: number;
  o: number;
  groups: number;
}

function like(a: NumericArray, n: number): FloatArray {
  return a instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
}

/**
 * out[n, o, oy, ox] = Σ w[o, cg, ki, kj]·x[n, g·Cg + cg, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw]
 * (+ bias[o] when given; cross-correlation, o in group g). WASM: im2col and the products stay in the wasm memory (see
 * wasm/conv-gemm.ts); JS: im2col, then one GEMM per sample and group.
 */
export function convForward(
  x: FloatArray,
  w: FloatArray,
  bias: FloatArray | null,
  out: FloatArray,
  d: ConvDims,
): void {
  if (convForwardWasm(x, w, bias, out, d)) return;
  const { n, c, o, groups, oh, ow } = d;
  const L = oh * ow;
  const og = o / groups;
  const K = (c / groups) * d.kh * d.kw;
  const cols = like(x, groups * n * L * K);
  im2col(x, { n, c, groups }, d, cols);
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < groups; g++) {
      gemm(w, g * og * K, cols, (g * n + b) * L * K, out, (b * o + g * og) * L, og, L, K, false, true);
    }
  }
  if (bias !== null) {
    for (let i = 0; i < n * o; i++) {
      const v = bias[i % o];
      for (let j = i * L; j < (i + 1) * L; j++) out[j] += v;
    }
  }
}

/** The vjp of convForward with respect to x: dx = col2im(w_gᵀ·g_n) (a transposed convolution of g). */
export function convInputGrad(g: FloatArray, w: FloatArray, dx: FloatArray, d: ConvDims): void {
  if (convInputGradWasm(g, w, dx, d)) return;
  const { n, c, o, groups, oh, ow } = d;
  const L = oh * ow;
  const og = o / groups;
  const K = (c / groups) * d.kh * d.kw;
  const cols = like(g, groups * n * L * K);
  for (let grp = 0; grp < groups; grp++) {
    for (let b = 0; b < n; b++) {
      gemm(g, (b * o + grp * og) * L, w, grp * og * K, cols, (grp * n + b) * L * K, L, K, og, true, false);
    }
  }
  dx.fill(0);
  col2im(cols, { n, c, groups }, d, dx);
}

/** The vjp of convForward with respect to w: dw_g = Σ_n g_{n,g}·im2col(x)_{g,n}, one GEMM per group over all samples. */
export function convWeightGrad(x: FloatArray, g: FloatArray, dw: FloatArray, d: ConvDims): void {
  if (convWeightGradWasm(x, g, dw, d)) return;
  const { n, c, o, groups, oh, ow } = d;
  const L = oh * ow;
  const og = o / groups;
  const K = (c / groups) * d.kh * d.kw;
  const cols = like(x, groups * n * L * K);
  im2col(x, { n, c, groups }, d, cols);
  // g [N, O, L] regrouped as [groups, O/groups, N·L], so the sum over samples is inside one product.
  const gt = like(g, n * o * L);
  for (let grp = 0; grp < groups; grp++) {
    for (let oc = 0; oc < og; oc++) {
      for (let b = 0; b < n; b++) {
        const src = (b * o + grp * og + oc) * L;
        gt.set(g.subarray(src, src + L), ((grp * og + oc) * n + b) * L);
      }
    }
  }
  for (let grp = 0; grp < groups; grp++) {
    gemm(gt, grp * og * n * L, cols, grp * n * L * K, dw, grp * og * K, og, K, n * L, false, false);
  }
}
