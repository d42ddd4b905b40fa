import { recordConv } from "./conv-stats.js";
import { gemm } from "./gemm.js";
import type { FloatArray, NumericArray } from "./types.js";
import { col2imWasm, im2colWasm, maxPoolArgmaxWasm } from "./wasm/conv.js";
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
 * Output positions o in [0, count) whose input index o·stride − pad + off lies in [0, size): [lo, hi).
 * (ix = o·stride + off − pad ∈ [0, size)  ⇔  o ∈ [ceil((pad − off)/stride), ceil((size + pad − off)/stride)).)
 */
export function validRange(
  off: number,
  stride: number,
  pad: number,
  size: number,
  count: number,
): [number, number] {
  const lo = Math.max(0, Math.ceil((pad - off) / stride));
  const hi = Math.min(count, Math.ceil((size + pad - off) / stride));
  return [lo, Math.max(lo, hi)];
}

/**
 * im2col in the layout the GEMM wants: out[g, (cg·kh + ki)·kw + kj, n·L + oy·ow + ox] =
 * x[n, g·Cg + cg, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw] (0 outside), i.e. [groups, Cg·kh·kw, N·L]
 * with L = oh·ow. One row per kernel tap, the whole batch along it: a convolution is one product
 * per sample and group against the weight [O/groups, Cg·kh·kw], its weight gradient one product per
 * group, and at stride 1 every (tap, sample, output row) is one contiguous run of both arrays.
 * `out` must be zeroed.
 */
export function im2col(x: NumericArray, layout: ColsLayout, g: Window2d, out: NumericArray): void {
  if (im2colWasm(x, layout, g, out)) return;
  recordConv("js");
  const { kh, kw, sh, sw, ph, pw, dh, dw, h, w, oh, ow } = g;
  const { n, c, groups } = layout;
  const cg = c / groups;
  const L = oh * ow;
  const NL = n * L;
  for (let ch = 0; ch < c; ch++) {
    const grp = Math.floor(ch / cg);
    const rowBase = (grp * cg * kh * kw + (ch - grp * cg) * kh * kw) * NL;
    for (let ki = 0; ki < kh; ki++) {
      const [y0, y1] = validRange(ki * dh, sh, ph, h, oh);
      for (let kj = 0; kj < kw; kj++) {
        const [x0, x1] = validRange(kj * dw, sw, pw, w, ow);
        const row = rowBase + (ki * kw + kj) * NL;
        for (let b = 0; b < n; b++) {
          const xBase = (b * c + ch) * h * w - pw + kj * dw;
          for (let oy = y0; oy < y1; oy++) {
            const src = xBase + (oy * sh - ph + ki * dh) * w;
            const dst = row + b * L + oy * ow;
            for (let ox = x0; ox < x1; ox++) out[dst + ox] = x[src + ox * sw];
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
  const { kh, kw, sh, sw, ph, pw, dh, dw, h, w, oh, ow } = g;
  const { n, c, groups } = layout;
  const cg = c / groups;
  const L = oh * ow;
  const NL = n * L;
  for (let ch = 0; ch < c; ch++) {
    const grp = Math.floor(ch / cg);
    const rowBase = (grp * cg * kh * kw + (ch - grp * cg) * kh * kw) * NL;
    for (let ki = 0; ki < kh; ki++) {
      const [y0, y1] = validRange(ki * dh, sh, ph, h, oh);
      for (let kj = 0; kj < kw; kj++) {
        const [x0, x1] = validRange(kj * dw, sw, pw, w, ow);
        const row = rowBase + (ki * kw + kj) * NL;
        for (let b = 0; b < n; b++) {
          const xBase = (b * c + ch) * h * w - pw + kj * dw;
          for (let oy = y0; oy < y1; oy++) {
            const dst = xBase + (oy * sh - ph + ki * dh) * w;
            const src = row + b * L + oy * ow;
            for (let ox = x0; ox < x1; ox++) out[dst + ox * sw] += cols[src + ox];
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

/** g [N, O, L] regrouped as [groups, O/groups, N·L]: the batch along the rows, like im2col's columns. */
function regroup(g: FloatArray, d: ConvDims, L: number): FloatArray {
  const { n, o } = d;
  const gt = like(g, n * o * L);
  for (let oc = 0; oc < o; oc++) {
    for (let b = 0; b < n; b++) {
      const src = (b * o + oc) * L;
      gt.set(g.subarray(src, src + L), (oc * n + b) * L);
    }
  }
  return gt;
}

/**
 * out[n, o, oy, ox] = Σ w[o, cg, ki, kj]·x[n, g·Cg + cg, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw]
 * (+ bias[o] when given; cross-correlation, o in group g). WASM: im2col and the products stay in
 * the wasm memory (see wasm/conv-gemm.ts); JS: im2col, one GEMM per group, back to NCHW.
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
  const NL = n * L;
  const og = o / groups;
  const K = (c / groups) * d.kh * d.kw;
  const cols = like(x, groups * K * NL);
  im2col(x, { n, c, groups }, d, cols);
  const y = like(x, o * NL); // [groups, O/groups, N·L] = [O, N, L]
  for (let g = 0; g < groups; g++)
    gemm(w, g * og * K, cols, g * K * NL, y, g * og * NL, og, NL, K, false, false);
  for (let oc = 0; oc < o; oc++) {
    const v = bias === null ? 0 : bias[oc];
    for (let b = 0; b < n; b++) {
      const src = (oc * n + b) * L;
      const dst = (b * o + oc) * L;
      for (let j = 0; j < L; j++) out[dst + j] = y[src + j] + v;
    }
  }
}

/** The vjp of convForward with respect to x: dx = col2im(w_gᵀ·g_g) (a transposed convolution of g). */
export function convInputGrad(g: FloatArray, w: FloatArray, dx: FloatArray, d: ConvDims): void {
  if (convInputGradWasm(g, w, dx, d)) return;
  const { n, c, o, groups, oh, ow } = d;
  const L = oh * ow;
  const NL = n * L;
  const og = o / groups;
  const K = (c / groups) * d.kh * d.kw;
  const gt = regroup(g, d, L);
  const cols = like(g, groups * K * NL);
  for (let grp = 0; grp < groups; grp++) {
    gemm(w, grp * og * K, gt, grp * og * NL, cols, grp * K * NL, K, NL, og, true, false);
  }
  dx.fill(0);
  col2im(cols, { n, c, groups }, d, dx);
}

/** The vjp of convForward with respect to w: dw_g = g_g·im2col(x)_gᵀ, one GEMM per group over all samples. */
export function convWeightGrad(x: FloatArray, g: FloatArray, dw: FloatArray, d: ConvDims): void {
  if (convWeightGradWasm(x, g, dw, d)) return;
  const { n, c, o, groups, oh, ow } = d;
  const L = oh * ow;
  const NL = n * L;
  const og = o / groups;
  const K = (c / groups) * d.kh * d.kw;
  const cols = like(x, groups * K * NL);
  im2col(x, { n, c, groups }, d, cols);
  const gt = regroup(g, d, L);
  for (let grp = 0; grp < groups; grp++) {
    gemm(gt, grp * og * NL, cols, grp * K * NL, dw, grp * og * K, og, K, NL, false, true);
  }
}
