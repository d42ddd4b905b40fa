import { DTypeError, ShapeError, Tensor, ValueError, where } from "@tapegrad/autograd";
import { rngFrom } from "../init.js";
import { Module, Parameter } from "../module.js";
import { allocFloat } from "../util.js";
import { type LayerInitOptions, layerDtype, positiveInt } from "./common.js";

export interface EmbeddingOptions extends LayerInitOptions {
  /** A row that reads as zeros at the start and never receives a gradient (negative counts from the end). */
  paddingIdx?: number;
}

/**
 * A lookup table (torch.nn.Embedding): int32 ids of any shape → vectors, shape [...ids, dim]. weight is
 * [num, dim] drawn from N(0, 1) (PyTorch's default); the paddingIdx row starts at zero and gets no gradient.
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = positiveInt(numEmbeddings, "numEmbeddings", "Embedding");
    this.embeddingDim = positiveInt(embeddingDim, "embeddingDim", "Embedding");
    let pad: number | null = null;
    if (opts.paddingIdx !== undefined) {
      const p = opts.paddingIdx;
      if (!Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings)
        throw new ValueError(
          `Embedding: paddingIdx must be an integer in [${-numEmbeddings}, ${numEmbeddings}), got ${p}`,
        );
      pad = p < 0 ? p + numEmbeddings : p;
    }
    this.paddingIdx = pad;
    const rng = rngFrom(opts);
    const data = allocFloat(layerDtype(opts.dtype, "Embedding"), numEmbeddings * embeddingDim);
    for (let i = 0; i < data.length; i++) data[i] = rng.normal();
    if (pad !== null) data.fill(0, pad * embeddingDim, (pad + 1) * embeddingDim);
    this.weight = new Parameter(data, [numEmbeddings, embeddingDim]);
  }

  forward(ids: Tensor): Tensor {
    if (!(ids instanceof Tensor) || ids.dtype !== "int32")
      throw new DTypeError(
        `Embedding: ids must be an int32 tensor, got ${ids instanceof Tensor ? ids.dtype : typeof ids}`,
      );
    const d = ids.data;
    for (let i = 0; i < d.length; i++) {
      if (d[i] < 0 || d[i] >= this.numEmbeddings)
        throw new ShapeError(
          `Embedding: id ${d[i]} (flat position ${i}) is out of range [0, ${this.numEmbeddings})`,
        );
    }
    const flat = ids.reshape([ids.size]);
    let rows = this.weight.gather(flat, 0);
    if (this.paddingIdx !== null && (d as Int32Array).includes(this.paddingIdx)) {
      // The padding row reads its current value but passes no cotangent back to the table.
      const isPad = new Tensor(
        allocFloat(this.weight.dtype === "float32" ? "float32" : "float64", ids.size),
        [ids.size, 1],
      );
      for (let i = 0; i < d.length; i++) if (d[i] === this.paddingIdx) isPad.data[i] = 1;
      rows = where(isPad, rows.detach(), rows);
    }
    return rows.reshape([...ids.shape, this.embeddingDim]);
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "Embedding",
      numEmbeddings: this.numEmbeddings,
      embeddingDim: this.embeddingDim,
      paddingIdx: this.paddingIdx,
    };
  }
}
