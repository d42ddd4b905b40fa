// The char-transformer task with a recurrent network: Embedding → GRU → Linear head, learning Ambrose
// Bierce's "The Devil's Dictionary" (A–E, public domain; examples/data/README.md) one character at a time.
// Training unrolls the GRU over windows of seqLen characters; sampling carries the hidden state forward one
// character at a time, so a sample can be longer than any training window.
// Run: pnpm tsx --conditions=@tapegrad/source examples/char-gru.ts [--steps N] [--quiet]
// (CHAR_STEPS=N in the environment also sets the steps; the test runs it at reduced size.)
import { pathToFileURL } from "node:url";
import { noGrad, type Rng, Tensor } from "@tapegrad/autograd";
import { Adam, Embedding, GRU, Linear, Module } from "@tapegrad/nn";
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

export interface GruSize {
  embed: number;
  hidden: number;
  layers: number;
}

/** ids [B, T] → next-character logits [B·T, vocab] (and the final hidden state). */
export class CharGRU extends Module<[Tensor, (Tensor | null)?], [Tensor, Tensor]> {
  tok: Embedding;
  rnn: GRU;
  head: Linear;

  constructor(vocab: number, s: GruSize, seed: number) {
    super();
    this.tok = new Embedding(vocab, s.embed, { seed });
    this.rnn = new GRU(s.embed, s.hidden, { numLayers: s.layers, seed: seed + 1 });
    this.head = new Linear(s.hidden, vocab, { seed: seed + 2 });
  }

  forward(ids: Tensor, h0: Tensor | null = null): [Tensor, Tensor] {
    const [B, T] = ids.shape;
    const [out, hn] = this.rnn.forward(this.tok.forward(ids), h0); // out [B, T, hidden]
    return [this.head.forward(out.reshape([B * T, this.rnn.hiddenSize])), hn];
  }

  /** Reads the prompt, then feeds each drawn character back in with the carried hidden state. */
  sample(prompt: Int32Array, length: number, temperature: number, rng: Rng): Int32Array {
    const out = new Int32Array(length);
    return noGrad(() => {
      let [logits, h] = this.forward(new Tensor(Int32Array.from(prompt), [1, prompt.length]));
      let last = logits.data.subarray((prompt.length - 1) * logits.shape[1]);
      for (let n = 0; n < length; n++) {
        out[n] = sampleIndex(last, temperature, rng);
        [logits, h] = this.forward(new Tensor(Int32Array.of(out[n]), [1, 1]), h);
        last = logits.data;
      }
      return out;
    });
  }
}

export const GRU_DEFAULTS: TrainOptions & GruSize = {
  embed: 32,
  hidden: 192,
  layers: 1,
  ...TRAIN_DEFAULTS,
};

export function trainCharGRU(
  opts: Partial<TrainOptions & GruSize> = {},
  corpus: CharCorpus = loadCorpus(),
): TrainResult & { model: CharGRU } {
  const o = { ...GRU_DEFAULTS, ...opts };
  const model = new CharGRU(corpus.chars.length, o, o.seed);
  const optimizer = new Adam(model.parameters(), { lr: o.lr });
  const result = trainCharModel(
    "char-gru",
    corpus,
    {
      parameters: () => model.parameters(),
      train: () => model.train(),
      eval: () => model.eval(),
      logits: (x) => model.forward(x)[0],
      sample: (p, n, t, r) => model.sample(p, n, t, r),
    },
    optimizer,
    o,
  );
  return { ...result, model };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  trainCharGRU(parseArgs(process.argv.slice(2), GRU_DEFAULTS));
}
