import { type Tensor, ValueError } from "@tapegrad/autograd";
import { rngFrom } from "../init.js";
import { Module } from "../module.js";
import { MultiheadAttention } from "./attention.js";
import {
  type LayerInitOptions,
  layerDtype,
  positiveInt,
  positiveNumber,
  probability,
  TorchLinear,
} from "./common.js";
import { Dropout } from "./dropout.js";
import { LayerNorm } from "./normalization.js";

export interface TransformerEncoderLayerOptions extends LayerInitOptions {
  /** Hidden size of the feed-forward block (default 2048, as PyTorch). */
  dimFeedforward?: number;
  /** Dropout after attention, inside and after the feed-forward block (default 0.1). */
  dropout?: number;
  /** Feed-forward activation (default 'relu'; 'gelu' is the exact erf form). */
  activation?: "relu" | "gelu";
  /** Pre-norm (x + f(norm(x))) instead of post-norm (norm(x + f(x))) (default false). */
  normFirst?: boolean;
  /** LayerNorm eps (default 1e-5). */
  layerNormEps?: number;
  /** [batch, seq, feature] (default true). */
  batchFirst?: boolean;
  /** Biases in the attention and feed-forward projections (default true; the LayerNorms keep theirs). */
  bias?: boolean;
}

export interface EncoderForwardOptions {
  /** Passed to self-attention as attnMask ([L, L] or [batch·nHead, L, L]). */
  srcMask?: Tensor | null;
  /** [batch, L]: nonzero int32 (or −Infinity float) for padding positions. */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention. */
  isCausal?: boolean;
}

/**
 * One transformer encoder block (torch.nn.TransformerEncoderLayer) with PyTorch's submodule names:
 * self_attn, linear1 [dimFeedforward, dModel], linear2 [dModel, dimFeedforward], norm1, norm2.
 */
export class TransformerEncoderLayer extends Module<[Tensor, EncoderForwardOptions?], Tensor> {
  readonly dModel: number;
  readonly nHead: number;
  readonly dimFeedforward: number;
  readonly activation: "relu" | "gelu";
  readonly normFirst: boolean;
  self_attn: MultiheadAttention;
  linear1: TorchLinear;
  dropout: Dropout;
  linear2: TorchLinear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;

  constructor(dModel: number, nHead: number, opts: TransformerEncoderLayerOptions = {}) {
    super();
    const who = "TransformerEncoderLayer";
    this.dModel = positiveInt(dModel, "dModel", who);
    this.nHead = positiveInt(nHead, "nHead", who);
    this.dimFeedforward = positiveInt(opts.dimFeedforward ?? 2048, "dimFeedforward", who);
    const activation = opts.activation ?? "relu";
    if (activation !== "relu" && activation !== "gelu")
      throw new ValueError(`${who}: activation must be 'relu' or 'gelu', got ${String(activation)}`);
    this.activation = activation;
    this.normFirst = opts.normFirst ?? false;
    const p = probability(opts.dropout ?? 0.1, "dropout", who);
    const eps = positiveNumber(opts.layerNormEps ?? 1e-5, "layerNormEps", who);
    const dtype = layerDtype(opts.dtype, who);
    const rng = rngFrom(opts);
    const bias = opts.bias ?? true;
    this.self_attn = new MultiheadAttention(dModel, nHead, {
      dropout: p,
      bias,
      batchFirst: opts.batchFirst ?? true,
      dtype,
      rng,
    });
    this.linear1 = new TorchLinear(dModel, this.dimFeedforward, bias, rng, dtype);
    this.dropout = new Dropout(p, { rng });
    this.linear2 = new TorchLinear(this.dimFeedforward, dModel, bias, rng, dtype);
    this.norm1 = new LayerNorm(dModel, { eps, elementwiseAffine: true, dtype });
    this.norm2 = new LayerNorm(dModel, { eps, elementwiseAffine: true, dtype });
    this.dropout1 = new Dropout(p, { rng });
    this.dropout2 = new Dropout(p, { rng });
  }

  private selfAttention(x: Tensor, opts: EncoderForwardOptions): Tensor {
    const [out] = this.self_attn.forward(x, x, x, {
      attnMask: opts.srcMask,
      keyPaddingMask: opts.srcKeyPaddingMask,
      isCausal: opts.isCausal,
      needWeights: false,
    });
    return this.dropout1.forward(out);
  }

  private feedForward(x: Tensor): Tensor {
    const h = this.linear1.forward(x);
    const a = this.activation === "relu" ? h.relu() : h.gelu();
    return this.dropout2.forward(this.linear2.forward(this.dropout.forward(a)));
  }

  forward(src: Tensor, opts: EncoderForwardOptions = {}): Tensor {
    let x = src;
    if (this.normFirst) {
      x = x.add(this.selfAttention(this.norm1.forward(x), opts));
      return x.add(this.feedForward(this.norm2.forward(x)));
    }
    x = this.norm1.forward(x.add(this.selfAttention(x, opts)));
    return this.norm2.forward(x.add(this.feedForward(x)));
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "TransformerEncoderLayer",
      dModel: this.dModel,
      nHead: this.nHead,
      dimFeedforward: this.dimFeedforward,
      dropout: this.dropout.p,
      activation: this.activation,
      normFirst: this.normFirst,
      layerNormEps: this.norm1.eps,
      batchFirst: this.self_attn.batchFirst,
    };
  }
}
