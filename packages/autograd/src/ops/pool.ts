import { liftBatched } from "../batched.js";
import { ShapeError, ValueError } from "../errors.js";
import { maxPoolArgmax, type Window2d } from "../kernels/conv.js";
import { formatShape } from "../shape.js";
import { apply, recordNonDifferentiable } from "../tape.js";
import { Tensor } from "../tensor.js";
import { alongAxisRules } from "./along-axis.js";
import { batchFirst } from "./batching.js";
import { conv2dOp, pairOf, type Size2d } from "./conv.js";
import { matmul } from "./matmul.js";
import { reshape } from "./shape.js";
import { checkTensor, composite, requireFloat } from "./util.js";

/**
 * Pooling. Max pooling picks one input per window, so it is a gather: the argmax positions are
 * found by a kernel (constants of the forward pass, like torch's saved indices), and the output is
 * the takeAlongAxis primitive over the last axis of the flattened planes at those positions (that
 * case runs the WASM gather). Its vjp is scatterAddAlongAxis to the same positions and the vjp of
 * that scatter is the gather again, so second order, jvp and vmap come from takeAlongAxis's rules.
 * Average pooling is im2col and a sum; adaptive average pooling is two small averaging matmuls.
 */
export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2d;
  /** Implicit −∞ on both sides, at most half the kernel. */
  padding?: Size2d;
  dilation?: Size2d;
  /** Round the output size up (windows may start in the right/bottom padding, never past it). */
  ceilMode?: boolean;
}

export interface AvgPool2dOptions {
  stride?: Size2d;
  padding?: Size2d;
  ceilMode?: boolean;
  /** Count the zero padding in the divisor (torch's default, true). */
  countIncludePad?: boolean;
}

/** x as [N, C, H, W] and whether it was unbatched [C, H, W] (torch accepts both). */
function planes(x: Tensor, op: string): [Tensor, boolean] {
  checkTensor(x, op, "input");
  requireFloat(x, op);
  if (x.ndim === 3) return [x.unsqueeze(0), true];
  if (x.ndim !== 4) {
    throw new ShapeError(
      `${op}: input must be 4-D [N, C, H, W] or 3-D [C, H, W], got ${formatShape(x.shape)}`,
    );
  }
  return [x, false];
}

function flag(value: unknown, name: string, op: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean")
    throw new ValueError(`${op}: ${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** torch's pooling output length, with its ceil-mode rule (the last window must start inside the input or the left padding). */
function poolLength(
  size: number,
  k: number,
  s: number,
  p: number,
  d: number,
  ceil: boolean,
  op: string,
  shape: string,
): number {
  const span = d * (k - 1) + 1;
  const room = size + 2 * p - span;
  let n = (ceil ? Math.ceil(room / s) : Math.floor(room / s)) + 1;
  if (ceil && (n - 1) * s >= size + p) n--;
  if (room < 0 || n < 1) {
    throw new ShapeError(
      `${op}: input ${shape} is too small: size ${size} with padding ${p} is shorter than the dilated kernel (${span})`,
    );
  }
  return n;
}

function poolWindow(
  x: Tensor,
  kernel: Size2d,
  o: Record<string, unknown>,
  op: string,
  dilated: boolean,
): Window2d & { ceil: boolean } {
  const [kh, kw] = pairOf(kernel, "kernel", op, 1);
  const [sh, sw] = pairOf(o.stride ?? [kh, kw], "stride", op, 1);
  const [ph, pw] = pairOf(o.padding ?? 0, "padding", op, 0);
  const [dh, dw] = dilated ? pairOf(o.dilation ?? 1, "dilation", op, 1) : [1, 1];
  const ceil = flag(o.ceilMode, "ceilMode", op, false);
  if (2 * ph > kh || 2 * pw > kw) {
    throw new ValueError(
      `${op}: padding ${JSON.stringify([ph, pw])} must be at most half the kernel ${JSON.stringify([kh, kw])}`,
    );
  }
  const [, , h, w] = x.shape;
  const s = formatShape(x.shape);
  const oh = poolLength(h, kh, sh, ph, dh, ceil, op, s);
  const ow = poolLength(w, kw, sw, pw, dw, ceil, op, s);
  return { kh, kw, sh, sw, ph, pw, dh, dw, h, w, oh, ow, ceil };
}

function options(opts: unknown, op: string): Record<string, unknown> {
  if (opts === null || typeof opts !== "object" || Array.isArray(opts)) {
    throw new ValueError(`${op}: options must be an object, got ${JSON.stringify(opts)}`);
  }
  return opts as Record<string, unknown>;
}

/**
 * torch.nn.functional.max_pool2d: the maximum of each window (x [N, C, H, W] or [C, H, W]). The
 * gradient goes to the first maximum of each window in row-major order, as in torch.
 */
export const maxPool2d = composite(
  "maxPool2d",
  function maxPool2d(x: Tensor, kernel: Size2d, opts: MaxPool2dOptions = {}): Tensor {
    const op = "maxPool2d";
    const [x4, unbatched] = planes(x, op);
    const g = poolWindow(x4, kernel, options(opts, op), op, true);
    const [n, c, h, w] = x4.shape;
    const index = windowArgmax(x4, g, op, x.shape);
    // index is in range and of the planes' leading shape by construction: the primitive, unchecked.
    const flat = x4.reshape([n * c, h * w]);
    const y = apply(alongAxisRules.takeAlongAxis, [flat, index], { axis: 1 }).reshape([n, c, g.oh, g.ow]);
    return unbatched ? y.squeeze(0) : y;
  },
);

/**
 * The position of each window's first maximum in its flattened plane: int32 [n·c, oh·ow] for x4
 * [n, c, h, w]. Under vmap the batch is folded into n (one kernel call for every example).
 */
function windowArgmax(
  x4: Tensor,
  g: ReturnType<typeof poolWindow>,
  op: string,
  shown: readonly number[],
): Tensor {
  const lifted = liftBatched([x4], ([v], [d]) => {
    const front = batchFirst(v, d as number);
    const [b, n, c, h, w] = front.shape;
    const index = windowArgmax(reshape(front, [b * n, c, h, w]), g, op, shown);
    return { value: reshape(index, [b, n * c, g.oh * g.ow]), dim: 0 };
  });
  if (lifted !== null) return lifted;
  const [n, c] = x4.shape;
  const index = new Tensor(new Int32Array(n * c * g.oh * g.ow), [n * c, g.oh * g.ow]);
  const argmax = index.data as Int32Array;
  maxPoolArgmax(x4.data, n * c, g, argmax);
  recordNonDifferentiable("maxPoolArgmax", g, [x4], index);
  // Only possible with dilation: every tap of some window falls in the padding.
  const empty = argmax.indexOf(-1);
  if (empty >= 0) {
    const at = empty % (g.oh * g.ow);
    throw new ValueError(
      `${op}: the window at output (${Math.floor(at / g.ow)}, ${at % g.ow}) lies entirely in the padding: input ${formatShape(shown)}, kernel ${JSON.stringify([g.kh, g.kw])}, padding ${JSON.stringify([g.ph, g.pw])}, dilation ${JSON.stringify([g.dh, g.dw])}`,
    );
  }
  return index;
}

/** torch's divisor per output position: the window clipped to the padded input (countIncludePad) or to the input. */
function divisors(g: Window2d, includePad: boolean): number[] {
  const out: number[] = [];
  const clip = (start: number, k: number, size: number, pad: number): number => {
    const lo = includePad ? -pad : 0;
    const hi = includePad ? size + pad : size;
    return Math.max(0, Math.min(start + k, hi) - Math.max(start, lo));
  };
  for (let oy = 0; oy < g.oh; oy++) {
    const rows = clip(oy * g.sh - g.ph, g.kh, g.h, g.ph);
    for (let ox = 0; ox < g.ow; ox++) out.push(rows * clip(ox * g.sw - g.pw, g.kw, g.w, g.pw));
  }
  return out;
}

/** torch.nn.functional.avg_pool2d: the mean of each window (x [N, C, H, W] or [C, H, W]). */
export const avgPool2d = composite(
  "avgPool2d",
  function avgPool2d(x: Tensor, kernel: Size2d, opts: AvgPool2dOptions = {}): Tensor {
    const op = "avgPool2d";
    const [x4, unbatched] = planes(x, op);
    const o = options(opts, op);
    const g = poolWindow(x4, kernel, o, op, false);
    const includePad = flag(o.countIncludePad, "countIncludePad", op, true);
    const [n, c] = x4.shape;
    const K = g.kh * g.kw;
    // Window sums: a depthwise convolution with weights of one.
    const ones = new Tensor(new Float64Array(c * K).fill(1), [c, 1, g.kh, g.kw]).cast(x4.dtype);
    const sums = conv2dOp(x4, ones, null, { ...g, groups: c }).reshape([n, c, g.oh * g.ow]);
    const d = divisors(g, includePad);
    const uniform = d.every((v) => v === d[0]);
    const divisor = uniform ? d[0] : new Tensor(Float64Array.from(d), [d.length]).cast(x4.dtype);
    const y = sums.div(divisor).reshape([n, c, g.oh, g.ow]);
    return unbatched ? y.squeeze(0) : y;
  },
);

/** Rows of torch's adaptive averaging: output i averages [floor(i·n/m), ceil((i+1)·n/m)). */
function averagingMatrix(n: number, m: number, like: Tensor): Tensor {
  const a = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    const lo = Math.floor((i * n) / m);
    const hi = Math.ceil(((i + 1) * n) / m);
    for (let j = lo; j < hi; j++) a[i * n + j] = 1 / (hi - lo);
  }
  return new Tensor(a, [m, n]).cast(like.dtype);
}

/**
 * torch.nn.functional.adaptive_avg_pool2d: averages over windows chosen so the output is [oh, ow]
 * (sizes need not divide). Separable, so it is A_h · x · A_wᵀ with two small averaging matrices.
 */
export const adaptiveAvgPool2d = composite(
  "adaptiveAvgPool2d",
  function adaptiveAvgPool2d(x: Tensor, outputSize: Size2d): Tensor {
    const op = "adaptiveAvgPool2d";
    const [x4, unbatched] = planes(x, op);
    const [oh, ow] = pairOf(outputSize, "outputSize", op, 1);
    const [, , h, w] = x4.shape;
    let y: Tensor;
    if (oh === 1 && ow === 1) y = x4.mean([2, 3], true);
    else {
      const rows = oh === h ? x4 : matmul(averagingMatrix(h, oh, x4), x4);
      y = ow === w ? rows : matmul(rows, averagingMatrix(w, ow, x4), { transposeB: true });
    }
    return unbatched ? y.squeeze(0) : y;
  },
);
