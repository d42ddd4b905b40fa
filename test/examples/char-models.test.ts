import { Rng } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";
import { trainCharGRU } from "../../examples/char-gru.js";
import { loadCorpus, parseArgs, sampleIndex } from "../../examples/char-text.js";
import { TRANSFORMER_DEFAULTS, trainCharTransformer } from "../../examples/char-transformer.js";

const corpus = loadCorpus();

/** The reduced CI run: the loss falls from its first value and samples are made of the text's characters. */
function checkRun(r: {
  losses: number[];
  checkpoints: { step: number; valLoss: number; sample: string }[];
}): void {
  expect(r.losses).toHaveLength(30);
  expect(r.losses.every(Number.isFinite)).toBe(true);
  const last5 = r.losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
  expect(last5).toBeLessThan(r.losses[0] - 0.3);
  const [first, last] = [r.checkpoints[0], r.checkpoints[r.checkpoints.length - 1]];
  expect([first.step, last.step]).toEqual([0, 30]);
  expect(last.valLoss).toBeLessThan(first.valLoss);
  const known = new Set(corpus.chars);
  for (const c of r.checkpoints) {
    expect(c.sample).toHaveLength(40);
    for (const ch of c.sample) expect(known.has(ch)).toBe(true);
  }
}

const reduced = { steps: 30, batch: 8, seqLen: 32, checkpoints: 1, sampleLength: 40, log: false };

describe("examples/char-transformer.ts at reduced size", () => {
  it("lowers the loss in 30 steps and samples valid characters", () => {
    checkRun(trainCharTransformer({ ...reduced, dModel: 32, heads: 2, layers: 1 }, corpus));
  });

  it("is seeded: the same options give the same losses and samples", () => {
    const opts = { ...reduced, steps: 3, dModel: 16, heads: 2, layers: 1, seqLen: 8 };
    const a = trainCharTransformer(opts, corpus);
    const b = trainCharTransformer(opts, corpus);
    expect(b.losses).toEqual(a.losses);
    expect(b.checkpoints.map((c) => c.sample)).toEqual(a.checkpoints.map((c) => c.sample));
  });
});

describe("examples/char-gru.ts at reduced size", () => {
  it("lowers the loss in 30 steps and samples valid characters", () => {
    checkRun(trainCharGRU({ ...reduced, embed: 16, hidden: 64 }, corpus));
  });
});

describe("the character text and options", () => {
  it("round-trips the shipped text through its vocabulary, holding out the last tenth", () => {
    const text = corpus.decode(corpus.ids);
    expect(corpus.encode(text)).toEqual(corpus.ids);
    expect(text.length).toBeGreaterThan(20_000);
    expect(corpus.trainEnd).toBe(Math.floor(0.9 * text.length));
    expect(corpus.chars).toEqual([...new Set(corpus.chars)].sort());
  });

  it("samples the argmax at temperature 0 and only likely ids at a low temperature", () => {
    const rng = new Rng(3);
    expect(sampleIndex([0.1, 2, -1], 0, rng)).toBe(1);
    for (let i = 0; i < 50; i++) expect(sampleIndex([0, 30, 0], 1, rng)).toBe(1);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(sampleIndex([0, 0, 0], 1, rng));
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });

  it("reads --steps and CHAR_STEPS for a reduced run and rejects unknown options", () => {
    expect(parseArgs(["--steps", "30", "--quiet"], TRANSFORMER_DEFAULTS)).toMatchObject({
      steps: 30,
      log: false,
    });
    const saved = process.env.CHAR_STEPS;
    process.env.CHAR_STEPS = "12";
    try {
      expect(parseArgs([], TRANSFORMER_DEFAULTS).steps).toBe(12);
    } finally {
      if (saved === undefined) delete process.env.CHAR_STEPS;
      else process.env.CHAR_STEPS = saved;
    }
    expect(() => parseArgs(["--steps", "0"], TRANSFORMER_DEFAULTS)).toThrow(/--steps must be an integer/);
    expect(() => parseArgs(["--epochs", "3"], TRANSFORMER_DEFAULTS)).toThrow(/unknown option --epochs/);
  });
});
