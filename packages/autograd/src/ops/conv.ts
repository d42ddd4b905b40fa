import { ShapeError, ValueError } from "../errors.js";
import { type ConvDims, convForward, convInputGrad, convWeightGrad, type Window2d } from "../kernels/conv.js";
import type { FloatArray } from "../kernels/types.js";
import { formatShape } from "../shape.js";
import { apply } from "../tape.js";
import { Tensor } from "../tensor.js";
import { type BatchRuleTable, batchFirst, materialize } from "./batching.js";
import type { JvpTable, RuleTable } from "./primitive.js";
import { concat, reshape, transpose } from "./shape.js";
import {
  addTangents,
  checkTensor,
  coerce,
  composite,
  fitTangent,
  requireFloat,
  uninitialized,
} from "./util.js";

/**
 * Convolution as three primitives, like PyTorch's convolution / convolution_backward: the forward
 * cross-correlation and its two vjps, each one im2col or col2im plus GEMMs (Caffe's CPU scheme) run
 * inside the wasm memory (kernels/wasm/conv-gemm.ts), so the kh·kw-times-larger column matrix never
 * crosses into JS. The three are bilinear and each one's vjps are the other two:
 *   y  = conv(x, w)          dx = inputGrad(ct, w)   dw = weightGrad(x, ct)
 *   dx = inputGrad(g, w)     dg = conv(ct, w)        dw = weightGrad(ct, g)
 *   dw = weightGrad(x, g)    dx = inputGrad(g, ct)   dg = conv(x, ct)
 * so every order of gradient is defined. conv2d's optional bias is a third input (added per channel
 * in the forward; its gradient sums the cotangent over batch and positions). convTranspose2d is
 * inputGrad, unfold a grouped conv with one-hot weights, avgPool2d a depthwise conv with ones.
 * Measured on the reference CNN (bench/kernels/conv.ts): faster than the composite of an im2col
 * tensor and matmul this replaced (numbers in kernels/wasm/README.md).
 */
export type ConvParams = Window2d & { groups: number };

function dims(p: ConvParams, n: number, c: number, o: number): ConvDims {
  return { ...p, n, c, o };
}

export const convRules: RuleTable<"conv" | "convInputGrad" | "convWeightGrad"> = {
  // x [N, C, h, w], w [O, C/groups, kh, kw], b? [O] -> [N, O, oh, ow]
  conv: {
    name: "conv",
    forward: ([x, w, b], p) => {
      const [n, c] = x.shape;
      const o = w.shape[0];
      const out = uninitialized(x.dtype, [n, o, p.oh, p.ow]);
      const bias = b === undefined ? null : (b.data as FloatArray);
      convForward(x.data as FloatArray, w.data as FloatArray, bias, out.data as FloatArray, dims(p, n, c, o));
      return out;
    },
    vjp: (ct, { inputs: [x, w, b], params: p }, needs) => [
      needs[0] ? convInputGradOp(ct, w, p) : null,
      needs[1] ? convWeightGradOp(x, ct, p) : null,
      ...(b === undefined
        ? []
        : [needs[2] ? ct.reshape([ct.shape[0], ct.shape[1], -1]).sum(2).sum(0) : null]),
    ],
  },
  // g [N, O, oh, ow], w [O, C/groups, kh, kw] -> [N, C, h, w]
  convInputGrad: {
    name: "convInputGrad",
    forward: ([g, w], p) => {
      const [n, o] = g.shape;
      const c = w.shape[1] * p.groups;
      const out = uninitialized(g.dtype, [n, c, p.h, p.w]);
      convInputGrad(g.data as FloatArray, w.data as FloatArray, out.data as FloatArray, dims(p, n, c, o));
      return out;
    },
    vjp: (ct, { inputs: [g, w], params: p }, needs) => [
      needs[0] ? conv2dOp(ct, w, null, p) : null,
      needs[1] ? convWeightGradOp(ct, g, p) : null,
    ],
  },
  // x [N, C, h, w], g [N, O, oh, ow] -> [O, C/groups, kh, kw]
  convWeightGrad: {
    name: "convWeightGrad",
    forward: ([x, g], p) => {
      const [n, c] = x.shape;
      const o = g.shape[1];
      const out = uninitialized(x.dtype, [o, c / p.groups, p.kh, p.kw]);
      convWeightGrad(x.data as FloatArray, g.data as FloatArray, out.data as FloatArray, dims(p, n, c, o));
      return out;
    },
    vjp: (ct, { inputs: [x, g], params: p }, needs) => [
      needs[0] ? convInputGradOp(g, ct, p) : null,
      needs[1] ? conv2dOp(x, ct, null, p) : null,
    ],
  },
};

/**
 * Forward mode: the three are bilinear in their two tensors, so the tangent is the same primitive on
 * (tangent, other) plus (other, tangent); conv's bias tangent adds per output channel.
 */
export const convJvpRules: JvpTable<"conv" | "convInputGrad" | "convWeightGrad"> = {
  conv: ([tx, tw, tb], { inputs: [x, w], output, params: p }) => {
    const channel = tb === null || tb === undefined ? null : tb.reshape([1, tb.shape[0], 1, 1]);
    const sum = addTangents(
      addTangents(
        tx === null ? null : conv2dOp(tx, w, null, p),
        tw === null ? null : conv2dOp(x, tw, null, p),
      ),
      channel,
    );
    return sum === null ? null : fitTangent(sum, output.shape);
  },
  convInputGrad: ([tg, tw], { inputs: [g, w], params: p }) =>
    addTangents(
      tg === null ? null : convInputGradOp(tg, w, p),
      tw === null ? null : convInputGradOp(g, tw, p),
    ),
  convWeightGrad: ([tx, tg], { inputs: [x, g], params: p }) =>
    addTangents(
      tx === null ? null : convWeightGradOp(tx, g, p),
      tg === null ? null : convWeightGradOp(x, tg, p),
    ),
};

export function conv2dOp(x: Tensor, w: Tensor, b: Tensor | null, p: ConvParams): Tensor {
  return apply(convRules.conv, b === null ? [x, w] : [x, w, b], p);
}

function convInputGradOp(g: Tensor, w: Tensor, p: ConvParams): Tensor {
  return apply(convRules.convInputGrad, [g, w], p);
}

function convWeightGradOp(x: Tensor, g: Tensor, p: ConvParams): Tensor {
  return apply(convRules.convWeightGrad, [x, g], p);
}

/** A size along both spatial axes: one number for both, or [rows, columns]. */
export type Size2d = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Size2d;
  /** Zeros added on both sides; 'same' keeps the size (stride 1 only; an odd total puts the extra one after), 'valid' is 0. */
  padding?: Size2d | "same" | "valid";
  dilation?: Size2d;
  groups?: number;
}

export interface Conv1dOptions {
  stride?: number;
  padding?: number | "same" | "valid";
  dilation?: number;
  groups?: number;
}

export interface ConvTranspose2dOptions {
  stride?: Size2d;
  padding?: Size2d;
  /** Extra rows/columns on the bottom/right of the output (each below the stride or the dilation). */
  outputPadding?: Size2d;
  dilation?: Size2d;
  groups?: number;
}

export interface UnfoldOptions {
  stride?: Size2d;
  padding?: Size2d;
  dilation?: Size2d;
}

/** `value` as [rows, columns] of integers >= min, or a ValueError naming the op and the option. */
export function pairOf(value: unknown, name: string, op: string, min: number): [number, number] {
  const pair = typeof value === "number" ? [value, value] : value;
  if (
    !Array.isArray(pair) ||
    pair.length !== 2 ||
    !pair.every((v) => typeof v === "number" && Number.isInteger(v) && v >= min)
  ) {
    throw new ValueError(
      `${op}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(value)}`,
    );
  }
  return [pair[0], pair[1]];
}

function checkOptions(opts: unknown, op: string): Record<string, unknown> {
  if (opts === null || typeof opts !== "object" || Array.isArray(opts)) {
    throw new ValueError(`${op}: options must be an object, got ${JSON.stringify(opts)}`);
  }
  return opts as Record<string, unknown>;
}

function checkGroups(value: unknown, op: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ValueError(`${op}: groups must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Output length of a window sweep (floor), or a ShapeError when no window fits. */
function outLength(
  size: number,
  before: number,
  after: number,
  k: number,
  s: number,
  d: number,
  op: string,
  what: string,
): number {
  const span = d * (k - 1) + 1;
  const n = Math.floor((size + before + after - span) / s) + 1;
  if (n < 1) {
    throw new ShapeError(
      `${op}: the ${what} is too small for the kernel: size ${size} with padding ${before}+${after} is shorter than the dilated kernel (${span})`,
    );
  }
  return n;
}

function checkBias(b: Tensor | null | undefined, channels: number, op: string, like: Tensor): Tensor | null {
  if (b === undefined || b === null) return null;
  checkTensor(b, op, "bias");
  if (b.ndim !== 1 || b.shape[0] !== channels) {
    throw new ShapeError(
      `${op}: bias must have shape [${channels}] (one per output channel), got ${formatShape(b.shape)}`,
    );
  }
  return b.dtype === like.dtype ? b : b.cast(like.dtype);
}

/** Inputs of a convolution brought to one float dtype, with rank checks. */
function convInputs(x: Tensor, w: Tensor, rank: number, op: string, wLayout: string): [Tensor, Tensor] {
  checkTensor(x, op, "input");
  checkTensor(w, op, "weight");
  [x, w] = coerce(x, w, op);
  requireFloat(x, op);
  const names = rank === 4 ? "[N, C, H, W]" : "[N, C, L]";
  if (x.ndim !== rank) {
    throw new ShapeError(`${op}: input must be ${rank}-D ${names}, got ${formatShape(x.shape)}`);
  }
  if (w.ndim !== rank) {
    throw new ShapeError(`${op}: weight must be ${rank}-D ${wLayout}, got ${formatShape(w.shape)}`);
  }
  return [x, w];
}

interface Geometry {
  stride: [number, number];
  dilation: [number, number];
  /** Padding before and after, per spatial axis. */
  pad: [[number, number], [number, number]];
}

function resolvePadding(
  padding: unknown,
  kernel: [number, number],
  g: Omit<Geometry, "pad">,
  op: string,
  pairs: boolean,
): Geometry["pad"] {
  if (padding === "valid")
    return [
      [0, 0],
      [0, 0],
    ];
  if (padding === "same") {
    if (g.stride[0] !== 1 || g.stride[1] !== 1) {
      throw new ValueError(`${op}: padding 'same' needs stride 1, got stride ${JSON.stringify(g.stride)}`);
    }
    const side = (i: 0 | 1): [number, number] => {
      const total = g.dilation[i] * (kernel[i] - 1);
      const before = Math.floor(total / 2);
      return [before, total - before];
    };
    return [side(0), side(1)];
  }
  if (typeof padding === "string") {
    throw new ValueError(
      `${op}: padding must be a number${pairs ? ", a pair" : ""}, 'same' or 'valid', got '${padding}'`,
    );
  }
  const [ph, pw] = pairOf(padding, "padding", op, 0);
  return [
    [ph, ph],
    [pw, pw],
  ];
}

/** conv2d on validated 4-D inputs with resolved geometry (conv1d comes here with H = 1). */
function conv2dCore(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  geo: Geometry,
  groups: number,
  op: string,
  shapes: string,
): Tensor {
  const [, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  if (o % groups !== 0) {
    throw new ShapeError(`${op}: ${o} output channels are not divisible by groups ${groups}: ${shapes}`);
  }
  if (c !== cg * groups) {
    throw new ShapeError(
      `${op}: input has ${c} channels but weight expects ${cg * groups} (groups ${groups}): ${shapes}`,
    );
  }
  const oh = outLength(
    h,
    geo.pad[0][0],
    geo.pad[0][1],
    kh,
    geo.stride[0],
    geo.dilation[0],
    op,
    `input (${shapes})`,
  );
  const ow = outLength(
    wd,
    geo.pad[1][0],
    geo.pad[1][1],
    kw,
    geo.stride[1],
    geo.dilation[1],
    op,
    `input (${shapes})`,
  );
  const window: Window2d = {
    kh,
    kw,
    sh: geo.stride[0],
    sw: geo.stride[1],
    ph: geo.pad[0][0],
    pw: geo.pad[1][0],
    dh: geo.dilation[0],
    dw: geo.dilation[1],
    h,
    w: wd,
    oh,
    ow,
  };
  return conv2dOp(x, w, b, { ...window, groups });
}

/**
 * 2-D convolution (cross-correlation, as torch.nn.functional.conv2d): x [N, C, H, W], w [O, C/groups,
 * KH, KW], optional bias [O]; returns [N, O, OH, OW]. groups = C (with O a multiple of C) is a
 * depthwise convolution.
 */
export const conv2d = composite(
  "conv2d",
  function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
    const op = "conv2d";
    [x, w] = convInputs(x, w, 4, op, "[O, C/groups, KH, KW]");
    const o = checkOptions(opts, op);
    const shapes = `x ${formatShape(x.shape)}, w ${formatShape(w.shape)}`;
    const stride = pairOf(o.stride ?? 1, "stride", op, 1);
    const dilation = pairOf(o.dilation ?? 1, "dilation", op, 1);
    const kernel: [number, number] = [w.shape[2], w.shape[3]];
    const pad = resolvePadding(o.padding ?? 0, kernel, { stride, dilation }, op, true);
    const groups = checkGroups(o.groups ?? 1, op);
    const bias = checkBias(b, w.shape[0], op, x);
    return conv2dCore(x, w, bias, { stride, dilation, pad }, groups, op, shapes);
  },
);

/** 1-D convolution (torch.nn.functional.conv1d): x [N, C, L], w [O, C/groups, K], optional bias [O]. */
export const conv1d = composite(
  "conv1d",
  function conv1d(x: Tensor, w: Tensor, b?: Tensor | null, opts: Conv1dOptions = {}): Tensor {
    const op = "conv1d";
    [x, w] = convInputs(x, w, 3, op, "[O, C/groups, K]");
    const o = checkOptions(opts, op);
    const shapes = `x ${formatShape(x.shape)}, w ${formatShape(w.shape)}`;
    const one = (name: string): number => {
      const v = o[name] ?? 1;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
        throw new ValueError(`${op}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
      }
      return v;
    };
    const stride: [number, number] = [1, one("stride")];
    const dilation: [number, number] = [1, one("dilation")];
    const padding = o.padding ?? 0;
    if (
      typeof padding !== "string" &&
      (typeof padding !== "number" || !Number.isInteger(padding) || padding < 0)
    ) {
      throw new ValueError(
        `${op}: padding must be an integer >= 0, 'same' or 'valid', got ${JSON.stringify(padding)}`,
      );
    }
    const pad = resolvePadding(
      typeof padding === "number" ? [0, padding] : padding,
      [1, w.shape[2]],
      { stride, dilation },
      op,
      false,
    );
    const groups = checkGroups(o.groups ?? 1, op);
    const bias = checkBias(b, w.shape[0], op, x);
    const y = conv2dCore(x.unsqueeze(2), w.unsqueeze(2), bias, { stride, dilation, pad }, groups, op, shapes);
    return y.squeeze(2);
  },
);

/**
 * Transposed 2-D convolution (torch.nn.functional.conv_transpose2d), the gradient of conv2d with
 * respect to its input: x [N, C, H, W], w [C, O/groups, KH, KW], optional bias [O]. Output size
 * (H − 1)·stride − 2·padding + dilation·(KH − 1) + outputPadding + 1 per axis.
 */
export const convTranspose2d = composite(
  "convTranspose2d",
  function convTranspose2d(
    x: Tensor,
    w: Tensor,
    b?: Tensor | null,
    opts: ConvTranspose2dOptions = {},
  ): Tensor {
    const op = "convTranspose2d";
    [x, w] = convInputs(x, w, 4, op, "[C, O/groups, KH, KW]");
    const o = checkOptions(opts, op);
    const shapes = `x ${formatShape(x.shape)}, w ${formatShape(w.shape)}`;
    const stride = pairOf(o.stride ?? 1, "stride", op, 1);
    const dilation = pairOf(o.dilation ?? 1, "dilation", op, 1);
    const padding = pairOf(o.padding ?? 0, "padding", op, 0);
    const outPad = pairOf(o.outputPadding ?? 0, "outputPadding", op, 0);
    const groups = checkGroups(o.groups ?? 1, op);
    const [, c, h, wd] = x.shape;
    const [cw, og, kh, kw] = w.shape;
    if (c !== cw) {
      throw new ShapeError(
        `${op}: input has ${c} channels but weight expects ${cw} (its first axis): ${shapes}`,
      );
    }
    if (c % groups !== 0) {
      throw new ShapeError(`${op}: ${c} input channels are not divisible by groups ${groups}: ${shapes}`);
    }
    for (const i of [0, 1]) {
      if (outPad[i] >= stride[i] && outPad[i] >= dilation[i]) {
        throw new ValueError(
          `${op}: outputPadding ${JSON.stringify(outPad)} must be smaller than the stride ${JSON.stringify(stride)} or the dilation ${JSON.stringify(dilation)}`,
        );
      }
    }
    const size = (i: 0 | 1, len: number, k: number): number =>
      (len - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k - 1) + outPad[i] + 1;
    const oh = size(0, h, kh);
    const ow = size(1, wd, kw);
    if (oh < 1 || ow < 1) {
      throw new ShapeError(
        `${op}: the output would be empty (${oh} x ${ow}): ${shapes}, padding ${JSON.stringify(padding)}`,
      );
    }
    const out = og * groups;
    const bias = checkBias(b, out, op, x);
    // The transposed convolution is the input gradient of the convolution from [oh, ow] back to [h, w].
    const window: ConvParams = {
      kh,
      kw,
      sh: stride[0],
      sw: stride[1],
      ph: padding[0],
      pw: padding[1],
      dh: dilation[0],
      dw: dilation[1],
      h: oh,
      w: ow,
      oh: h,
      ow: wd,
      groups,
    };
    const y = convInputGradOp(x, w, window);
    return bias === null ? y : y.add(bias.reshape([out, 1, 1]));
  },
);

/**
 * torch.nn.functional.unfold (im2col): x [N, C, H, W] -> [N, C·KH·KW, L], column l holding the
 * window at output position l (row-major), channel-major within the column.
 */
export const unfold = composite(
  "unfold",
  function unfold(x: Tensor, kernel: Size2d, opts: UnfoldOptions = {}): Tensor {
    const op = "unfold";
    checkTensor(x, op, "input");
    requireFloat(x, op);
    if (x.ndim !== 4)
      throw new ShapeError(`${op}: input must be 4-D [N, C, H, W], got ${formatShape(x.shape)}`);
    const o = checkOptions(opts, op);
    const [kh, kw] = pairOf(kernel, "kernel", op, 1);
    const [sh, sw] = pairOf(o.stride ?? 1, "stride", op, 1);
    const [ph, pw] = pairOf(o.padding ?? 0, "padding", op, 0);
    const [dh, dw] = pairOf(o.dilation ?? 1, "dilation", op, 1);
    const [, , h, w] = x.shape;
    const what = `input ${formatShape(x.shape)}`;
    const oh = outLength(h, ph, ph, kh, sh, dh, op, what);
    const ow = outLength(w, pw, pw, kw, sw, dw, op, what);
    const [n, c] = x.shape;
    // A grouped convolution (one group per channel) whose kh·kw output channels pick one tap each.
    const K = kh * kw;
    const onehot = new Float64Array(K * K);
    for (let k = 0; k < K; k++) onehot[k * K + k] = 1;
    const taps = new Tensor(onehot, [K, 1, kh, kw]).cast(x.dtype);
    const weight =
      c === 1
        ? taps
        : concat(
            Array.from({ length: c }, () => taps),
            0,
          );
    return conv2dOp(x, weight, null, { kh, kw, sh, sw, ph, pw, dh, dw, h, w, oh, ow, groups: c }).reshape([
      n,
      c * K,
      oh * ow,
    ]);
  },
);

// ---- batching rules (vmap) -------------------------------------------------------------------------

/** x [B, N, C, h, w] (batch in front) as [N, B·C, h, w]: the batch becomes groups of channels. */
function batchAsChannels(x: Tensor, dim: number | null, size: number): Tensor {
  const front = materialize(x, dim, size);
  const [b, n, c, h, w] = front.shape;
  return reshape(transpose(front, [1, 0, 2, 3, 4]), [n, b * c, h, w]);
}

/** A batch of weights [B, O, ...] (or biases [B, O]) as one grouped weight [B·O, ...]. */
function batchAsRows(w: Tensor, dim: number | null, size: number): Tensor {
  const front = materialize(w, dim, size);
  return reshape(front, [front.shape[0] * front.shape[1], ...front.shape.slice(2)]);
}

/** x [B, N, ...] as [B·N, ...]: a batch of batches is one larger batch of images. */
function foldBatch(x: Tensor, dim: number): Tensor {
  const front = batchFirst(x, dim);
  return reshape(front, [front.shape[0] * front.shape[1], ...front.shape.slice(2)]);
}

/**
 * Shared weights: the batch is folded into N (one convolution). Per-example weights (or weight
 * gradients, a per-example gradient's conv layer): every example becomes a group of a grouped
 * convolution with B·groups groups, again one call.
 */
export const convBatchRules: BatchRuleTable<"conv" | "convInputGrad" | "convWeightGrad"> = {
  conv: ({ rule, values, dims, params, size }) => {
    const [x, w, b] = values;
    const [dx, dw, db] = dims;
    if (dw === null && (b === undefined || db === null)) {
      const out = apply(
        rule,
        b === undefined ? [foldBatch(x, dx as number), w] : [foldBatch(x, dx as number), w, b],
        params,
      );
      return { value: reshape(out, [size, out.shape[0] / size, ...out.shape.slice(1)]), dim: 0 };
    }
    const inputs = [batchAsChannels(x, dx, size), batchAsRows(w, dw, size)];
    if (b !== undefined) inputs.push(batchAsRows(b, db, size));
    const out = apply(rule, inputs, { ...params, groups: params.groups * size });
    const [n, bo, oh, ow] = out.shape;
    return { value: reshape(out, [n, size, bo / size, oh, ow]), dim: 1 };
  },
  convInputGrad: ({ rule, values: [g, w], dims: [dg, dw], params, size }) => {
    if (dw === null) {
      const out = apply(rule, [foldBatch(g, dg as number), w], params);
      return { value: reshape(out, [size, out.shape[0] / size, ...out.shape.slice(1)]), dim: 0 };
    }
    const out = apply(rule, [batchAsChannels(g, dg, size), batchAsRows(w, dw, size)], {
      ...params,
      groups: params.groups * size,
    });
    const [n, bc, h, wd] = out.shape;
    return { value: reshape(out, [n, size, bc / size, h, wd]), dim: 1 };
  },
  convWeightGrad: ({ rule, values: [x, g], dims: [dx, dg], params, size }) => {
    const out = apply(rule, [batchAsChannels(x, dx, size), batchAsChannels(g, dg, size)], {
      ...params,
      groups: params.groups * size,
    });
    return { value: reshape(out, [size, out.shape[0] / size, ...out.shape.slice(1)]), dim: 0 };
  },
};
