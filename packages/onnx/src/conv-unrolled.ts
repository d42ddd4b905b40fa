import { type Dim, staticDim } from "./builder.js";
import type { EmitContext } from "./mapping.js";

/**
 * Convolutions written out with MatMul, for float64: onnxruntime's CPU provider has Conv and
 * ConvTranspose kernels for float32 only. The forward is im2col (one strided Slice of the padded input
 * per kernel tap) and a grouped MatMul; the transpose is that MatMul's transpose and col2im (each tap's
 * columns spread out by the stride, shifted into place with Pad, and summed).
 */
export interface ConvWindow {
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
  groups: number;
}

const d = staticDim;

/** x [N, C, H, W] -> columns [N, groups, C/groups·kh·kw, oh·ow] (taps row-major, as w's [kh, kw]). */
function im2col(c: EmitContext<ConvWindow>, x: string, n: Dim, channels: number): string {
  const p = c.params;
  const padded =
    p.ph === 0 && p.pw === 0
      ? x
      : c.op("Pad", [x, c.b.ints([0, 0, p.ph, p.pw, 0, 0, p.ph, p.pw], "pads")], { mode: "constant" });
  const taps: string[] = [];
  for (let i = 0; i < p.kh; i++) {
    for (let j = 0; j < p.kw; j++) {
      const start = [i * p.dh, j * p.dw];
      const end = [start[0] + (p.oh - 1) * p.sh + 1, start[1] + (p.ow - 1) * p.sw + 1];
      const tap = c.op("Slice", [
        padded,
        c.b.ints(start, "starts"),
        c.b.ints(end, "ends"),
        c.b.ints([2, 3], "spatial_axes"),
        c.b.ints([p.sh, p.sw], "steps"),
      ]);
      taps.push(c.op("Unsqueeze", [tap, c.b.ints([2], "tap_axis")]));
    }
  }
  const cols = taps.length === 1 ? taps[0] : c.op("Concat", taps, { axis: 2 });
  const k = (channels / p.groups) * p.kh * p.kw;
  return c.op("Reshape", [cols, c.b.shape([n, d(p.groups), d(k), d(p.oh * p.ow)], "columns")]);
}

/** conv(x, w, b?) as im2col + MatMul: w [O, C/g, kh, kw] viewed as [g, O/g, C/g·kh·kw]. */
export function convUnrolled(c: EmitContext<ConvWindow>): string {
  const p = c.params;
  const [x, w, b] = c.inputs;
  const n = c.inputShapes[0][0];
  const channels = c.inputShapes[0][1].c;
  const o = c.inputShapes[1][0].c;
  const k = (channels / p.groups) * p.kh * p.kw;
  const cols = im2col(c, x, n, channels);
  const weights = c.op("Reshape", [w, c.b.ints([p.groups, o / p.groups, k], "weight_view")]);
  const product = c.op("MatMul", [weights, cols]); // [N, g, O/g, oh·ow]
  const y = c.op("Reshape", [product, c.b.shape([n, d(o), d(p.oh), d(p.ow)], "conv_out")]);
  if (b === undefined) return y;
  return c.op("Add", [y, c.op("Reshape", [b, c.b.ints([o, 1, 1], "bias_view")])]);
}

/**
 * The transpose of conv with respect to its input (convTranspose2d): columns = wᵀ·g per group, then
 * col2im: tap (i, j)'s [N, C, oh, ow] block is spread out by the stride (zeros between entries),
 * shifted to offset (i·dh, j·dw) of the padded input with Pad, summed, and the padding cut off.
 */
export function convTransposeUnrolled(c: EmitContext<ConvWindow>): string {
  const p = c.params;
  const [g, w] = c.inputs;
  const n = c.inputShapes[0][0];
  const o = c.inputShapes[0][1].c;
  const cg = c.inputShapes[1][1].c; // C/groups
  const channels = cg * p.groups;
  const k = cg * p.kh * p.kw;
  const l = p.oh * p.ow;
  const gv = c.op("Reshape", [g, c.b.shape([n, d(p.groups), d(o / p.groups), d(l)], "grad_view")]);
  const wv = c.op("Reshape", [w, c.b.ints([p.groups, o / p.groups, k], "weight_view")]);
  const wt = c.op("Transpose", [wv], { perm: [0, 2, 1] }); // [g, C/g·K, O/g]
  const cols = c.op("MatMul", [wt, gv]); // [N, g, C/g·K, L]
  const blocks = c.op("Reshape", [
    cols,
    c.b.shape([n, d(channels), d(p.kh * p.kw), d(p.oh), d(p.ow)], "col_blocks"),
  ]);
  const hp = p.h + 2 * p.ph;
  const wp = p.w + 2 * p.pw;
  // rows/columns the strided block covers: (oh − 1)·sh + 1
  const spanH = (p.oh - 1) * p.sh + 1;
  const spanW = (p.ow - 1) * p.sw + 1;
  let total: string | null = null;
  for (let i = 0; i < p.kh; i++) {
    for (let j = 0; j < p.kw; j++) {
      const t = i * p.kw + j;
      let block = c.op("Slice", [
        blocks,
        c.b.ints([t], "tap_start"),
        c.b.ints([t + 1], "tap_end"),
        c.b.ints([2], "tap_axis"),
      ]); // [N, C, 1, oh, ow]
      if (p.sh > 1 || p.sw > 1) {
        // [N, C, oh, 1, ow, 1] padded to [N, C, oh, sh, ow, sw]: each entry followed by stride − 1 zeros
        const six = c.op("Reshape", [
          block,
          c.b.shape([n, d(channels), d(p.oh), d(1), d(p.ow), d(1)], "spread"),
        ]);
        const spread = c.op(
          "Pad",
          [six, c.b.ints([0, 0, 0, 0, 0, 0, 0, 0, 0, p.sh - 1, 0, p.sw - 1], "stride_pads")],
          {
            mode: "constant",
          },
        );
        const flat = c.op("Reshape", [
          spread,
          c.b.shape([n, d(channels), d(p.oh * p.sh), d(p.ow * p.sw)], "spread_flat"),
        ]);
        block = c.op("Slice", [
          flat,
          c.b.ints([0, 0], "zeros2"),
          c.b.ints([spanH, spanW], "span"),
          c.b.ints([2, 3], "spatial_axes"),
        ]);
      } else {
        block = c.op("Reshape", [block, c.b.shape([n, d(channels), d(p.oh), d(p.ow)], "block")]);
      }
      const top = i * p.dh;
      const left = j * p.dw;
      const placed = c.op(
        "Pad",
        [block, c.b.ints([0, 0, top, left, 0, 0, hp - top - spanH, wp - left - spanW], "place")],
        { mode: "constant" },
      );
      total = total === null ? placed : c.op("Add", [total, placed]);
    }
  }
  if (p.ph === 0 && p.pw === 0) return total as string;
  return c.op("Slice", [
    total as string,
    c.b.ints([p.ph, p.pw], "unpad_start"),
    c.b.ints([p.ph + p.h, p.pw + p.w], "unpad_end"),
    c.b.ints([2, 3], "spatial_axes"),
  ]);
}
