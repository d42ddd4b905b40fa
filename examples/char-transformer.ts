// A tiny causal transformer that learns Ambrose Bierce's "The Devil's Dictionary" (A–E, public domain;
// examples/data/README.md) one character at a time: token + learned positional Embedding, pre-norm
// TransformerEncoderLayers with causal self-attention, a final LayerNorm and a Linear head. It prints the
// held-out perplexity and a sample at a few checkpoints, so the samples can be seen improving.
// Run: pnpm tsx --conditions=@tapegrad/source examples/char-transformer.ts [--steps N] [--quiet]
// (CHAR_STEPS=N in the environment also sets the steps; the test runs it at reduced size.)
import { pathToFileURL } from "node:url";
import { noGrad, type Rng, Tensor } from "@tapegrad/autograd";
import { Adam, Embedding, LayerNorm, Linear, Module, TransformerEncoderLayer } from "@tapegrad/nn";
import {
  type CharCorpus,
  loadCorpus,
  parseArgs,
  sampleIndex,
  TRAIN_DEFAULTS,
  type TrainOptions,
  type TrainResult,
  trainCharModel,
} from "./char-text.js";

export interface TransformerSize {
  dModel: number;
  heads: number;
  layers: number;
  /** Longest context: the positional table's length. */
  context: number;
}

/** ids [B, L] (L ≤ context) → next-character logits [B·L, vocab]. */
export class CharTransformer extends Module {
  readonly context: number;
  tok: Embedding;
  pos: Embedding;
  blocks: TransformerEncoderLayer[];
  norm: LayerNorm;
  head: Linear;

  constructor(vocab: number, s: TransformerSize, seed: number) {
    super();
    this.context = s.context;
    this.tok = new Embedding(vocab, s.dModel, { seed });
    this.pos = new Embedding(s.context, s.dModel, { seed: seed + 1 });
    // Embedding's N(0, 1) start is large next to attention's output; shrinking both tables keeps the first
    // steps from being dominated by the embeddings (GPT-style models start them at N(0, 0.02²)).
    for (const t of [this.tok.weight, this.pos.weight]) for (let i = 0; i < t.size; i++) t.data[i] *= 0.1;
    this.blocks = Array.from(
      { length: s.layers },
      (_, i) =>
        new TransformerEncoderLayer(s.dModel, s.heads, {
          dimFeedforward: 4 * s.dModel,
          dropout: 0,
          activation: "relu",
          normFirst: true,
          seed: seed + 10 + i,
        }),
    );
    this.norm = new LayerNorm(s.dModel);
    this.head = new Linear(s.dModel, vocab, { seed: seed + 2 });
  }

  forward(ids: Tensor): Tensor {
    const [B, L] = ids.shape;
    const positions = new Tensor(
      Int32Array.from({ length: L }, (_, i) => i),
      [L],
    );
    let x = this.tok.forward(ids).add(this.pos.forward(positions)); // [B, L, d] + [L, d]
    for (const block of this.blocks) x = block.forward(x, { isCausal: true });
    return this.head.forward(this.norm.forward(x).reshape([B * L, x.shape[2]]));
  }

  /** Continues `prompt` one character at a time, attending to at most the last `context` characters. */
  sample(prompt: Int32Array, length: number, temperature: number, rng: Rng): Int32Array {
    const ids = Array.from(prompt);
    return noGrad(() => {
      for (let n = 0; n < length; n++) {
        const window = ids.slice(-this.context);
        const logits = this.forward(new Tensor(Int32Array.from(window), [1, window.length]));
        const V = logits.shape[1];
        ids.push(sampleIndex(logits.data.subarray((window.length - 1) * V), temperature, rng));
      }
      return Int32Array.from(ids.slice(prompt.length));
    });
  }
}

export const TRANSFORMER_DEFAULTS: TrainOptions & TransformerSize = {
  dModel: 64,
  heads: 4,
  layers: 2,
  context: 64,
  ...TRAIN_DEFAULTS,
};

export function trainCharTransformer(
  opts: Partial<TrainOptions & TransformerSize> = {},
  corpus: CharCorpus = loadCorpus(),
): TrainResult & { model: CharTransformer } {
  const o = { ...TRANSFORMER_DEFAULTS, ...opts };
  const model = new CharTransformer(
    corpus.chars.length,
    { ...o, context: Math.max(o.context, o.seqLen) },
    o.seed,
  );
  const optimizer = new Adam(model.parameters(), { lr: o.lr });
  const result = trainCharModel(
    "char-transformer",
    corpus,
    {
      parameters: () => model.parameters(),
      train: () => model.train(),
      eval: () => model.eval(),
      logits: (x) => model.forward(x),
      sample: (p, n, t, r) => model.sample(p, n, t, r),
    },
    optimizer,
    o,
  );
  return { ...result, model };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  trainCharTransformer(parseArgs(process.argv.slice(2), TRANSFORMER_DEFAULTS));
}
