// Shared pieces of the two character-level language-model examples (char-transformer.ts, char-gru.ts):
// the shipped text, its character vocabulary, seeded batches, perplexity on held-out text, temperature
// sampling and the command-line options. Not an example on its own.
import { readFileSync } from "node:fs";
import { noGrad, Rng, Tensor } from "@tapegrad/autograd";
import type { OptimizerLike } from "@tapegrad/nn";
import { clipGradNorm, softmaxCrossEntropy } from "@tapegrad/nn";

/** The public-domain text both examples learn (examples/data/README.md says where it is from). */
export const TEXT_PATH = new URL("./data/devils-dictionary-a-e.txt", import.meta.url);

export interface CharCorpus {
  /** Distinct characters, sorted; a character's id is its index here. */
  chars: string[];
  /** The whole text as ids. */
  ids: Int32Array;
  /** Ids [0, trainEnd) are trained on; the rest (the last tenth) is held out for perplexity. */
  trainEnd: number;
  encode(s: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

export function loadCorpus(text = readFileSync(TEXT_PATH, "utf8")): CharCorpus {
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  const encode = (s: string): Int32Array => {
    const out = new Int32Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const id = index.get(s[i]);
      if (id === undefined) throw new Error(`character ${JSON.stringify(s[i])} is not in the text`);
      out[i] = id;
    }
    return out;
  };
  const decode = (ids: ArrayLike<number>): string => Array.from(ids, (i) => chars[i]).join("");
  const ids = encode(text);
  return { chars, ids, trainEnd: Math.floor(ids.length * 0.9), encode, decode };
}

/**
 * `batch` windows of `seqLen + 1` characters at seeded random offsets in [from, to): inputs x [batch, seqLen]
 * and next-character targets y [batch·seqLen] (row-major, matching the flattened logits).
 */
export function randomWindows(
  ids: Int32Array,
  from: number,
  to: number,
  batch: number,
  seqLen: number,
  rng: Rng,
): { x: Tensor; y: Tensor } {
  const x = new Int32Array(batch * seqLen);
  const y = new Int32Array(batch * seqLen);
  for (let b = 0; b < batch; b++) {
    const start = from + rng.int(to - from - seqLen - 1);
    x.set(ids.subarray(start, start + seqLen), b * seqLen);
    y.set(ids.subarray(start + 1, start + seqLen + 1), b * seqLen);
  }
  return { x: new Tensor(x, [batch, seqLen]), y: new Tensor(y, [batch * seqLen]) };
}

/** A character model: ids [batch, seqLen] → logits [batch·seqLen, vocab] (each row predicts the next id). */
export type LogitsFn = (x: Tensor) => Tensor;

/** Mean next-character cross-entropy (nats) over the held-out tail, in fixed non-overlapping windows. */
export function heldOutLoss(corpus: CharCorpus, logits: LogitsFn, seqLen: number, maxWindows = 32): number {
  const { ids, trainEnd } = corpus;
  const n = Math.min(maxWindows, Math.floor((ids.length - trainEnd - 1) / seqLen));
  const x = new Int32Array(n * seqLen);
  const y = new Int32Array(n * seqLen);
  for (let w = 0; w < n; w++) {
    const start = trainEnd + w * seqLen;
    x.set(ids.subarray(start, start + seqLen), w * seqLen);
    y.set(ids.subarray(start + 1, start + seqLen + 1), w * seqLen);
  }
  return noGrad(() =>
    softmaxCrossEntropy.fn(logits(new Tensor(x, [n, seqLen])), new Tensor(y, [n * seqLen])).item(),
  );
}

/** Draws an index from softmax(row / temperature); temperature 0 takes the argmax. */
export function sampleIndex(row: ArrayLike<number>, temperature: number, rng: Rng): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  if (temperature <= 0) return best;
  const p = new Float64Array(row.length);
  let total = 0;
  for (let i = 0; i < row.length; i++) total += p[i] = Math.exp((row[i] - row[best]) / temperature);
  let u = rng.uniform() * total;
  for (let i = 0; i < p.length; i++) if ((u -= p[i]) < 0) return i;
  return best; // u landed on the rounding slack at the very end
}

export interface TrainOptions {
  steps: number;
  batch: number;
  seqLen: number;
  lr: number;
  seed: number;
  /** Steps at which to measure held-out perplexity and print a sample (the last step always is one). */
  checkpoints: number;
  /** Characters per sample. */
  sampleLength: number;
  temperature: number;
  /** Print progress (default true). */
  log: boolean;
}

/** The training settings both character models use by default (1000 Adam steps on 24 windows of 64). */
export const TRAIN_DEFAULTS: TrainOptions = {
  steps: 1000,
  batch: 24,
  seqLen: 64,
  lr: 3e-3,
  seed: 1,
  checkpoints: 5,
  sampleLength: 240,
  temperature: 0.8,
  log: true,
};

export interface Checkpoint {
  step: number;
  /** Training loss of that step's batch (nats per character). */
  loss: number;
  /** Held-out loss (nats per character) and its perplexity e^loss. */
  valLoss: number;
  perplexity: number;
  sample: string;
  seconds: number;
}

export interface TrainResult {
  /** Training loss of every step. */
  losses: number[];
  checkpoints: Checkpoint[];
  seconds: number;
  parameters: number;
}

/** What the shared loop needs from a model. */
export interface CharModel {
  parameters(): Tensor[];
  train(): unknown;
  eval(): unknown;
  logits: LogitsFn;
  /** `length` characters continuing `prompt`, drawn at `temperature` with `rng`. */
  sample(prompt: Int32Array, length: number, temperature: number, rng: Rng): Int32Array;
}

/**
 * The training loop both examples share: seeded random windows, softmax cross-entropy on every position,
 * gradients clipped to norm 1, and at each checkpoint the held-out perplexity and a sample that starts
 * from the text's first word.
 */
export function trainCharModel(
  name: string,
  corpus: CharCorpus,
  model: CharModel,
  optimizer: OptimizerLike,
  o: TrainOptions,
): TrainResult {
  const say = (s: string) => {
    if (o.log) console.log(s);
  };
  const rng = new Rng(o.seed);
  const sampleRng = new Rng(o.seed + 1);
  const params = model.parameters();
  const count = params.reduce((n, p) => n + p.size, 0);
  say(
    `${name}: ${count} parameters, ${corpus.chars.length} characters, ${corpus.trainEnd} training / ` +
      `${corpus.ids.length - corpus.trainEnd} held-out characters; ${o.steps} steps of ${o.batch}×${o.seqLen}`,
  );
  const every = new Set<number>();
  for (let c = 0; c <= o.checkpoints; c++) every.add(Math.round((c * o.steps) / o.checkpoints));
  every.add(o.steps);
  const prompt = corpus.encode("A");
  const losses: number[] = [];
  const checkpoints: Checkpoint[] = [];
  const t0 = performance.now();
  for (let step = 0; step <= o.steps; step++) {
    if (every.has(step)) {
      model.eval();
      const valLoss = heldOutLoss(corpus, model.logits, o.seqLen);
      const sample = corpus.decode(model.sample(prompt, o.sampleLength, o.temperature, sampleRng));
      const seconds = (performance.now() - t0) / 1000;
      const loss = losses.length > 0 ? losses[losses.length - 1] : Number.NaN;
      checkpoints.push({ step, loss, valLoss, perplexity: Math.exp(valLoss), sample, seconds });
      say(
        `\nstep ${step}/${o.steps}  train loss ${Number.isNaN(loss) ? "-" : loss.toFixed(3)}  held-out ` +
          `loss ${valLoss.toFixed(3)} (perplexity ${Math.exp(valLoss).toFixed(2)})  ${seconds.toFixed(1)} s\n` +
          `--- sample (temperature ${o.temperature}) ---\nA${sample}\n---`,
      );
      model.train();
    }
    if (step === o.steps) break;
    const { x, y } = randomWindows(corpus.ids, 0, corpus.trainEnd, o.batch, o.seqLen, rng);
    const loss = softmaxCrossEntropy.fn(model.logits(x), y);
    optimizer.zeroGrad();
    loss.backward();
    clipGradNorm(params, 1);
    optimizer.step();
    losses.push(loss.item());
    if (o.log && (step + 1) % Math.max(1, Math.round(o.steps / 20)) === 0 && !every.has(step + 1))
      say(`step ${step + 1}  loss ${losses[losses.length - 1].toFixed(3)}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  say(`\n${name}: ${o.steps} steps in ${seconds.toFixed(1)} s`);
  return { losses, checkpoints, seconds, parameters: count };
}

/**
 * `--steps N`, `--batch N`, `--seq N`, `--seed N` and `--quiet` from argv, over the defaults; CHAR_STEPS
 * in the environment sets the steps too (for a reduced CI run).
 */
export function parseArgs(argv: string[], defaults: TrainOptions): TrainOptions {
  const o = { ...defaults };
  const envSteps = process.env.CHAR_STEPS;
  if (envSteps !== undefined) o.steps = positive(envSteps, "CHAR_STEPS");
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--quiet") o.log = false;
    else if (flag === "--steps") o.steps = positive(argv[++i], flag);
    else if (flag === "--batch") o.batch = positive(argv[++i], flag);
    else if (flag === "--seq") o.seqLen = positive(argv[++i], flag);
    else if (flag === "--seed") o.seed = positive(argv[++i], flag, 0);
    else throw new Error(`unknown option ${flag} (use --steps N, --batch N, --seq N, --seed N, --quiet)`);
  }
  return o;
}

function positive(v: string | undefined, what: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${what} must be an integer ≥ ${min}, got ${v}`);
  return n;
}
