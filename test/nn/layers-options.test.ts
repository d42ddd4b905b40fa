/** Options, train/eval switching and the errors bad inputs get. */
import { DTypeError, noGrad, Rng, ShapeError, Tensor, ValueError } from "@tapegrad/autograd";
import {
  BatchNorm1d,
  BatchNorm2d,
  Embedding,
  GRU,
  GroupNorm,
  LayerNorm,
  LSTM,
  LSTMCell,
  MultiheadAttention,
  RNN,
  TransformerEncoderLayer,
} from "@tapegrad/nn";
import { describe, expect, it } from "vitest";
import { gaussian } from "./helpers.js";

const f64 = { dtype: "float64" as const };
const arr = (t: Tensor) => Array.from(t.data);

describe("layer options", () => {
  it("BatchNorm without affine has no parameters; without running stats it has no buffers and eval uses the batch", () => {
    const rng = new Rng(1);
    const x = gaussian([5, 3], rng);
    const plain = new BatchNorm1d(3, { ...f64, affine: false });
    expect(plain.parameters()).toEqual([]);
    expect(plain.buffers().length).toBe(3);
    const batchOnly = new BatchNorm1d(3, { ...f64, trackRunningStats: false });
    expect(batchOnly.buffers()).toEqual([]);
    const train = arr(batchOnly.forward(x));
    expect(arr(batchOnly.eval().forward(x))).toEqual(train);
    // normalised columns: mean 0, biased variance 1 − eps-ish
    const y = plain.forward(x);
    const m = arr(noGrad(() => y.mean(0)));
    for (const v of m) expect(Math.abs(v)).toBeLessThan(1e-12);
  });

  it("BatchNorm in eval() leaves the running statistics alone; train() updates them every call", () => {
    const bn = new BatchNorm2d(2, f64);
    const x = gaussian([3, 2, 2, 2], new Rng(2)).add(3);
    bn.forward(x);
    expect(bn.num_batches_tracked!.data[0]).toBe(1);
    const rm = arr(bn.running_mean!);
    bn.eval().forward(x);
    expect(arr(bn.running_mean!)).toEqual(rm);
    expect(bn.num_batches_tracked!.data[0]).toBe(1);
    // the first update moves 0.1 of the way to the batch mean (≈ 3)
    for (const v of rm) expect(v).toBeGreaterThan(0.2);
  });

  it("dropout in MultiheadAttention and TransformerEncoderLayer acts in train() only, seeded", () => {
    const rng = new Rng(3);
    const x = gaussian([2, 4, 8], rng);
    const make = () =>
      new TransformerEncoderLayer(8, 2, { ...f64, dimFeedforward: 16, dropout: 0.3, seed: 4 });
    const a = make();
    const b = make();
    const noDrop = new TransformerEncoderLayer(8, 2, { ...f64, dimFeedforward: 16, dropout: 0, seed: 4 });
    noDrop.loadStateDict(a.stateDict());
    const trainA = arr(a.forward(x));
    expect(arr(b.forward(x))).toEqual(trainA); // same seed, same masks
    expect(trainA).not.toEqual(arr(noDrop.forward(x)));
    expect(arr(a.eval().forward(x))).toEqual(arr(noDrop.eval().forward(x)));
    const mha = new MultiheadAttention(8, 2, { ...f64, dropout: 0.5, seed: 5 });
    const [, w] = mha.forward(x, x, x, { averageAttnWeights: false });
    expect(arr(w!).some((v) => v === 0)).toBe(true);
    mha.eval();
    const [, w2] = mha.forward(x, x, x, { averageAttnWeights: false });
    expect(arr(w2!).some((v) => v === 0)).toBe(false);
  });

  it("batchFirst: false and unbatched inputs give the same numbers as batch-first", () => {
    const rng = new Rng(6);
    const x = gaussian([2, 5, 3], rng);
    const first = new GRU(3, 4, { ...f64, seed: 7 });
    const seqFirst = new GRU(3, 4, { ...f64, seed: 7, batchFirst: false });
    const [o1, h1] = first.forward(x);
    const [o2, h2] = seqFirst.forward(x.transpose([1, 0, 2]));
    expect(arr(o2.transpose([1, 0, 2]))).toEqual(arr(o1));
    expect(arr(h2)).toEqual(arr(h1));
    const [o3, h3] = first.forward(x.slice(0, 1, 2).squeeze(0));
    expect(o3.shape).toEqual([5, 4]);
    expect(h3.shape).toEqual([1, 4]);
    expect(arr(o3)).toEqual(arr(o1).slice(20));
    const mha = new MultiheadAttention(4, 2, { ...f64, seed: 8 });
    const q = gaussian([3, 4], rng);
    const [single, w] = mha.forward(q, q, q);
    const [batched] = mha.forward(q.unsqueeze(0), q.unsqueeze(0), q.unsqueeze(0));
    expect(single.shape).toEqual([3, 4]);
    expect(w!.shape).toEqual([3, 3]);
    expect(arr(single)).toEqual(arr(batched));
  });

  it("RNN relu, bias: false, and LSTM's initial state default to PyTorch's shapes", () => {
    const rnn = new RNN(2, 3, { nonlinearity: "relu", bias: false, numLayers: 2 });
    expect(rnn.namedParameters().map(([n]) => n)).toEqual([
      "weight_ih_l0",
      "weight_hh_l0",
      "weight_ih_l1",
      "weight_hh_l1",
    ]);
    const lstm = new LSTM(2, 3, { ...f64, bidirectional: true, seed: 1 });
    const x = gaussian([4, 6, 2], new Rng(9));
    const [out, [h, c]] = lstm.forward(x);
    expect(out.shape).toEqual([4, 6, 6]);
    expect(h.shape).toEqual([2, 4, 3]);
    expect(c.shape).toEqual([2, 4, 3]);
    // the last forward step and the first reverse step are h_n
    expect(arr(out.slice(1, 5, 6).slice(2, 0, 3).squeeze(1))).toEqual(arr(h.slice(0, 0, 1).squeeze(0)));
    expect(arr(out.slice(1, 0, 1).slice(2, 3, 6).squeeze(1))).toEqual(arr(h.slice(0, 1, 2).squeeze(0)));
  });
});

describe("bad inputs get errors naming the layer and the shapes", () => {
  it("constructor arguments", () => {
    expect(() => new MultiheadAttention(6, 4)).toThrow(
      /MultiheadAttention: embedDim 6 must be divisible by numHeads 4/,
    );
    expect(() => new GroupNorm(3, 4)).toThrow(/numChannels 4 is not divisible by numGroups 3/);
    expect(() => new Embedding(4, 2, { paddingIdx: 4 })).toThrow(
      /paddingIdx must be an integer in \[-4, 4\)/,
    );
    expect(() => new BatchNorm1d(0)).toThrow(ValueError);
    expect(() => new BatchNorm1d(2, { momentum: 2 })).toThrow(/momentum must be in \[0, 1\] or null/);
    expect(() => new TransformerEncoderLayer(4, 2, { activation: "tanh" as never })).toThrow(
      /'relu' or 'gelu'/,
    );
    expect(() => new RNN(2, 3, { nonlinearity: "sigmoid" as never })).toThrow(/'tanh' or 'relu'/);
    expect(() => new LayerNorm([])).toThrow(/must not be empty/);
  });

  it("forward inputs", () => {
    const rng = new Rng(10);
    expect(() => new LayerNorm([3]).forward(gaussian([2, 4], rng))).toThrow(
      /LayerNorm: input of shape \[2, 4\] does not end with normalizedShape \[3\]/,
    );
    expect(() => new BatchNorm2d(3).forward(gaussian([2, 3, 4], rng))).toThrow(ShapeError);
    expect(() => new BatchNorm1d(3).forward(gaussian([1, 3], rng))).toThrow(/more than 1 value per channel/);
    expect(() => new Embedding(4, 2).forward(new Tensor(new Int32Array([1, 4]), [2]))).toThrow(
      /Embedding: id 4 \(flat position 1\) is out of range \[0, 4\)/,
    );
    expect(() => new Embedding(4, 2).forward(gaussian([2], rng))).toThrow(DTypeError);
    const mha = new MultiheadAttention(4, 2);
    const q = gaussian([2, 3, 4], rng);
    expect(() => mha.forward(q, gaussian([2, 3, 5], rng), q)).toThrow(/key must be \[batch, seq, 4\]/);
    expect(() => mha.forward(q, q, q, { attnMask: gaussian([3, 2], rng) })).toThrow(
      /attnMask must be \[3, 3\] or \[4, 3, 3\], got \[3, 2\]/,
    );
    expect(() => mha.forward(q, q, q, { keyPaddingMask: new Tensor(new Int32Array(3), [3]) })).toThrow(
      /keyPaddingMask must be \[2, 3\]/,
    );
    expect(() => new GRU(3, 4).forward(gaussian([2, 5, 2], rng))).toThrow(
      /GRU: input must be \[batch, seq, 3\]/,
    );
    expect(() => new GRU(3, 4).forward(gaussian([2, 5, 3], rng), gaussian([2, 2, 4], rng))).toThrow(
      /GRU: h0 must be \[1, 2, 4\], got \[2, 2, 4\]/,
    );
    expect(() =>
      new LSTMCell(3, 4).forward(gaussian([2, 3], rng), [gaussian([2, 4], rng), gaussian([2, 5], rng)]),
    ).toThrow(/LSTMCell: c must be \[2, 4\]/);
  });
});
