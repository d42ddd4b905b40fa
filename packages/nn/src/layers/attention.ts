import { ShapeError, Tensor, ValueError, where } from "@tapegrad/autograd";
import { rngFrom } from "../init.js";
import { Module, type Parameter } from "../module.js";
import { allocFloat, type FloatDType, shapeStr } from "../util.js";
import {
  constantParameter,
  type LayerInitOptions,
  layerDtype,
  linearT,
  positiveInt,
  probability,
  TorchLinear,
  xavierParameter,
} from "./common.js";
import { Dropout } from "./dropout.js";

export interface MultiheadAttentionOptions extends LayerInitOptions {
  /** Dropout on the attention weights in training mode (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Inputs and outputs are [batch, seq, feature] (default true; false: [seq, batch, feature]). */
  batchFirst?: boolean;
  /** Feature size of the keys (default embedDim); differing sizes use q/k/v_proj_weight, as in PyTorch. */
  kdim?: number;
  /** Feature size of the values (default embedDim). */
  vdim?: number;
}

/**
 * Masks follow PyTorch: an int32 mask is boolean (nonzero = masked: that key is not attended to), a
 * float mask is added to the attention scores (−Infinity masks). Build boolean masks as int32, e.g.
 * `cond.cast("int32")`: a float 0/1 mask would be added, not applied.
 */
export interface AttentionForwardOptions {
  /** [L, S] or [batch·numHeads, L, S]. */
  attnMask?: Tensor | null;
  /** [batch, S]: true (nonzero) for padding keys. */
  keyPaddingMask?: Tensor | null;
  /** Query i attends to keys 0..i only (combined with the other masks). */
  isCausal?: boolean;
  /** Return the attention weights (default true, as PyTorch); else the second result is null. */
  needWeights?: boolean;
  /** Average the returned weights over heads ([batch, L, S], default) or not ([batch, numHeads, L, S]). */
  averageAttnWeights?: boolean;
}

/**
 * Multi-head scaled dot-product attention (torch.nn.MultiheadAttention) with PyTorch's parameters:
 * in_proj_weight [3E, E] (rows: query, key, value), in_proj_bias [3E], out_proj.weight [E, E],
 * out_proj.bias [E]. forward(query [B, L, E], key [B, S, kdim], value [B, S, vdim], opts) returns
 * [output [B, L, E], weights [B, L, S] | null].
 *
 * A query row whose keys are all masked has nothing to attend to: PyTorch 1.x returns NaN there; here its
 * attention weights are 0, so its output is out_proj's bias and no gradient flows through that row (what
 * PyTorch ≥ 2.5's scaled_dot_product_attention does). Rows with at least one open key are exact.
 */
export class MultiheadAttention extends Module<
  [Tensor, Tensor, Tensor, AttentionForwardOptions?],
  [Tensor, Tensor | null]
> {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly batchFirst: boolean;
  readonly dropout: number;
  in_proj_weight: Parameter | null;
  q_proj_weight: Parameter | null;
  k_proj_weight: Parameter | null;
  v_proj_weight: Parameter | null;
  in_proj_bias: Parameter | null;
  out_proj: TorchLinear;
  private readonly attnDropout: Dropout;

  constructor(embedDim: number, numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    const who = "MultiheadAttention";
    this.embedDim = positiveInt(embedDim, "embedDim", who);
    this.numHeads = positiveInt(numHeads, "numHeads", who);
    if (embedDim % numHeads !== 0)
      throw new ValueError(`${who}: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    this.headDim = embedDim / numHeads;
    this.kdim = positiveInt(opts.kdim ?? embedDim, "kdim", who);
    this.vdim = positiveInt(opts.vdim ?? embedDim, "vdim", who);
    this.batchFirst = opts.batchFirst ?? true;
    this.dropout = probability(opts.dropout ?? 0, "dropout", who);
    const dtype: FloatDType = layerDtype(opts.dtype, who);
    const rng = rngFrom(opts);
    const E = embedDim;
    if (this.kdim === E && this.vdim === E) {
      this.in_proj_weight = xavierParameter(3 * E, E, rng, dtype);
      this.q_proj_weight = this.k_proj_weight = this.v_proj_weight = null;
    } else {
      this.in_proj_weight = null;
      this.q_proj_weight = xavierParameter(E, E, rng, dtype);
      this.k_proj_weight = xavierParameter(E, this.kdim, rng, dtype);
      this.v_proj_weight = xavierParameter(E, this.vdim, rng, dtype);
    }
    const bias = opts.bias ?? true;
    this.in_proj_bias = bias ? constantParameter([3 * E], 0, dtype) : null;
    this.out_proj = new TorchLinear(E, E, bias, rng, dtype);
    if (this.out_proj.bias !== null) this.out_proj.bias.data.fill(0);
    this.attnDropout = new Dropout(this.dropout, { rng });
  }

  private projection(i: 0 | 1 | 2): [Tensor, Tensor | null] {
    const E = this.embedDim;
    const w =
      this.in_proj_weight !== null
        ? this.in_proj_weight.slice(0, i * E, (i + 1) * E)
        : [this.q_proj_weight, this.k_proj_weight, this.v_proj_weight][i]!;
    const b = this.in_proj_bias === null ? null : this.in_proj_bias.slice(0, i * E, (i + 1) * E);
    return [w, b];
  }

  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    opts: AttentionForwardOptions = {},
  ): [Tensor, Tensor | null] {
    const who = "MultiheadAttention";
    const unbatched = query.ndim === 2;
    const rank = unbatched ? 2 : 3;
    for (const [name, t, dim] of [
      ["query", query, this.embedDim],
      ["key", key, this.kdim],
      ["value", value, this.vdim],
    ] as const) {
      if (!(t instanceof Tensor) || t.ndim !== rank || t.shape[rank - 1] !== dim) {
        throw new ShapeError(
          `${who}: ${name} must be ${unbatched ? "[seq, " : this.batchFirst ? "[batch, seq, " : "[seq, batch, "}${dim}]${unbatched ? "" : " (or unbatched [seq, features])"}, got ${t instanceof Tensor ? shapeStr(t.shape) : typeof t}`,
        );
      }
    }
    let [q, k, v] = [query, key, value];
    if (unbatched) [q, k, v] = [q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)];
    else if (!this.batchFirst) [q, k, v] = [q, k, v].map((t) => t.transpose([1, 0, 2]));
    const B = q.shape[0];
    const L = q.shape[1];
    const S = k.shape[1];
    if (k.shape[0] !== B || v.shape[0] !== B || v.shape[1] !== S) {
      throw new ShapeError(
        `${who}: query, key and value disagree on batch or sequence sizes: ${shapeStr(query.shape)}, ${shapeStr(key.shape)}, ${shapeStr(value.shape)}`,
      );
    }
    const H = this.numHeads;
    const D = this.headDim;
    const heads = (t: Tensor, n: number): Tensor => t.reshape([B, n, H, D]).transpose([0, 2, 1, 3]);
    const [wq, bq] = this.projection(0);
    const [wk, bk] = this.projection(1);
    const [wv, bv] = this.projection(2);
    const qh = heads(linearT(q, wq, bq), L).div(Math.sqrt(D));
    const kh = heads(linearT(k, wk, bk), S);
    const vh = heads(linearT(v, wv, bv), S);
    let scores = qh.matmul(kh, { transposeB: true }); // [B, H, L, S]

    const mask = this.combinedMask(B, L, S, opts, unbatched, scores.dtype);
    let dead: Tensor | null = null;
    if (mask !== null) {
      scores = scores.add(mask);
      dead = fullyMaskedRows(mask);
      // A row with nothing to attend to gets weights 0 instead of softmax's 0/0 = NaN.
      if (dead !== null) scores = where(dead, 0, scores);
    }
    let attn = scores.softmax(-1);
    if (dead !== null) attn = where(dead, 0, attn);
    attn = this.attnDropout.forward(attn);
    const context = attn.matmul(vh).transpose([0, 2, 1, 3]).reshape([B, L, this.embedDim]);
    let out = this.out_proj.forward(context);
    if (unbatched) out = out.squeeze(0);
    else if (!this.batchFirst) out = out.transpose([1, 0, 2]);
    if (opts.needWeights === false) return [out, null];
    let weights = opts.averageAttnWeights === false ? attn : attn.mean(1);
    if (unbatched) weights = weights.squeeze(0);
    return [out, weights];
  }

  /**
   * The masks as one additive tensor broadcastable to [B, H, L, S] (boolean masks become −Infinity),
   * or null when there is none. It is only as large as the masks need: [1, 1, L, S] for a causal or
   * [L, S] mask, [B, 1, L, S] with key padding, [B, H, L, S] for a per-head mask. Constant masks are
   * folded into one array; a float attnMask that requires grad is added as a tensor so its gradient flows.
   */
  private combinedMask(
    B: number,
    L: number,
    S: number,
    opts: AttentionForwardOptions,
    unbatched: boolean,
    dtype: FloatDType | "int32",
  ): Tensor | null {
    const who = "MultiheadAttention";
    const H = this.numHeads;
    const { attnMask, keyPaddingMask, isCausal } = opts;
    if (isCausal !== undefined && isCausal !== true && isCausal !== false)
      throw new ValueError(`${who}: isCausal must be true or false, got ${String(isCausal)}`);
    const hasAttn = attnMask !== undefined && attnMask !== null;
    const hasPadding = keyPaddingMask !== undefined && keyPaddingMask !== null;
    if (!hasAttn && !hasPadding && isCausal !== true) return null;
    let perHead = false;
    if (hasAttn) {
      const ok2 = attnMask.ndim === 2 && attnMask.shape[0] === L && attnMask.shape[1] === S;
      perHead =
        attnMask.ndim === 3 &&
        attnMask.shape[0] === B * H &&
        attnMask.shape[1] === L &&
        attnMask.shape[2] === S;
      if (!ok2 && !perHead)
        throw new ShapeError(
          `${who}: attnMask must be [${L}, ${S}] or [${B * H}, ${L}, ${S}], got ${shapeStr(attnMask.shape)}`,
        );
    }
    if (hasPadding) {
      const want = unbatched ? [S] : [B, S];
      if (keyPaddingMask.ndim !== want.length || keyPaddingMask.shape.some((d, i) => d !== want[i]))
        throw new ShapeError(
          `${who}: keyPaddingMask must be ${shapeStr(want)}, got ${shapeStr(keyPaddingMask.shape)}`,
        );
    }
    const nb = perHead || hasPadding ? B : 1;
    const nh = perHead ? H : 1;
    const total = allocFloat(dtype === "float32" ? "float32" : "float64", nb * nh * L * S);
    const tracked = hasAttn && attnMask.dtype !== "int32" && attnMask.requiresGrad;
    const am = hasAttn && !tracked ? attnMask.data : null;
    const amBool = hasAttn && attnMask.dtype === "int32";
    const kp = hasPadding ? keyPaddingMask.data : null;
    const kpBool = hasPadding && keyPaddingMask.dtype === "int32";
    for (let b = 0, o = 0; b < nb; b++) {
      for (let h = 0; h < nh; h++) {
        // a per-head mask is indexed [b·H + h, i, j], which is o itself; a 2-D one [i, j]
        for (let i = 0; i < L; i++) {
          for (let j = 0; j < S; j++, o++) {
            let v = 0;
            if (am !== null) {
              const m = am[perHead ? o : i * S + j];
              v = amBool ? (m !== 0 ? -Infinity : 0) : m;
            }
            if (kp !== null) {
              const m = kp[b * S + j];
              v += kpBool ? (m !== 0 ? -Infinity : 0) : m;
            }
            if (isCausal === true && j > i) v = -Infinity;
            total[o] = v;
          }
        }
      }
    }
    const constant = new Tensor(total, [nb, nh, L, S]);
    if (!tracked) return constant;
    return constant.add(perHead ? attnMask.reshape([B, H, L, S]) : attnMask);
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "MultiheadAttention",
      embedDim: this.embedDim,
      numHeads: this.numHeads,
      kdim: this.kdim,
      vdim: this.vdim,
      dropout: this.dropout,
      bias: this.in_proj_bias !== null,
      batchFirst: this.batchFirst,
    };
  }
}

/** A constant [b, h, L, 1] 0/1 tensor marking the rows of a [b, h, L, S] mask whose every entry is −Infinity, or null. */
function fullyMaskedRows(mask: Tensor): Tensor | null {
  const S = mask.shape[3];
  const m = mask.data;
  const rows = mask.size / S;
  let out: Tensor | null = null;
  for (let r = 0; r < rows; r++) {
    let dead = true;
    for (let j = 0; j < S && dead; j++) if (m[r * S + j] !== -Infinity) dead = false;
    if (dead) {
      out ??= new Tensor(allocFloat(mask.dtype === "float32" ? "float32" : "float64", rows), [
        ...mask.shape.slice(0, 3),
        1,
      ]);
      out.data[r] = 1;
    }
  }
  return out;
}
