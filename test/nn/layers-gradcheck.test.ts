/**
 * Gradcheck through every layer in float64: autograd's gradcheck for the inputs, and central
 * finite differences of every parameter element against the tape's parameter gradients.
 */
import { gradcheck, noGrad, Rng, Tensor } from "@tapegrad/autograd";
import {
  type AnyModule,
  BatchNorm1d,
  BatchNorm2d,
  Embedding,
  GRU,
  GRUCell,
  GroupNorm,
  LayerNorm,
  LSTM,
  LSTMCell,
  MultiheadAttention,
  RNN,
  RNNCell,
  TransformerEncoderLayer,
} from "@tapegrad/nn";
import { describe, expect, it } from "vitest";
import { gaussian } from "./helpers.js";

const f64 = { dtype: "float64" as const };

function flatten(out: unknown): Tensor[] {
  if (out instanceof Tensor) return [out];
  if (Array.isArray(out)) return out.flatMap((o) => (o === null ? [] : flatten(o)));
  throw new Error("unexpected forward result");
}

/**
 * Checks ∂⟨v, f⟩/∂p for every parameter element of `module` by central differences, with f run on
 * fixed inputs; v is a fixed random projection of each output.
 */
function checkParameters(module: AnyModule, f: () => unknown, seed: number): void {
  const rng = new Rng(seed);
  const outs0 = noGrad(() => flatten(f()));
  const vs = outs0.map((o) => gaussian([...o.shape], rng));
  const loss = (): Tensor =>
    flatten(f())
      .map((o, i) => o.mul(vs[i]).sum())
      .reduce((a, b) => a.add(b));
  module.zeroGrad();
  loss().backward();
  const eps = 1e-6;
  for (const [name, p] of module.namedParameters()) {
    expect(p.grad, `${name} has no gradient`).not.toBeNull();
    for (let i = 0; i < p.size; i++) {
      const orig = p.data[i];
      p.data[i] = orig + eps;
      const up = noGrad(loss).item();
      p.data[i] = orig - eps;
      const down = noGrad(loss).item();
      p.data[i] = orig;
      const numeric = (up - down) / (2 * eps);
      const analytic = p.grad!.data[i];
      expect(
        Math.abs(analytic - numeric),
        `${name}[${i}]: tape ${analytic}, numeric ${numeric}`,
      ).toBeLessThan(1e-6 + 1e-5 * Math.abs(numeric));
    }
  }
}

function checkInputs(f: (...xs: Tensor[]) => Tensor, xs: Tensor[]): void {
  const r = gradcheck(f, xs, { atol: 1e-7, rtol: 1e-5 });
  expect(r.ok, `worst ${JSON.stringify(r.worst)}`).toBe(true);
}

/** Sums a forward's outputs with fixed weights so a tuple result is one tensor for gradcheck. */
function combine(out: unknown): Tensor {
  return flatten(out)
    .map((o, i) => o.mul(i + 1).sum())
    .reduce((a, b) => a.add(b));
}

describe("gradcheck through each layer (float64)", () => {
  const rng = new Rng(11);

  it("BatchNorm1d/2d in training and eval mode", () => {
    for (const [m, shape] of [
      [new BatchNorm1d(3, f64), [4, 3, 2]],
      [new BatchNorm2d(2, f64), [3, 2, 2, 2]],
    ] as const) {
      for (const p of m.parameters()) p.data.set(Array.from(gaussian([...p.shape], rng).data));
      const x = gaussian([...shape], rng);
      for (const mode of ["train", "eval"] as const) {
        if (mode === "eval") {
          m.running_mean!.data.set(Array.from(gaussian([m.numFeatures], rng).data));
          m.running_var!.data.fill(0.7);
        }
        m.train(mode === "train");
        checkInputs((t) => m.forward(t), [x]);
        checkParameters(m, () => m.forward(x), 1);
      }
    }
  });

  it("LayerNorm and GroupNorm", () => {
    const ln = new LayerNorm([2, 3], f64);
    const gn = new GroupNorm(2, 4, f64);
    for (const m of [ln, gn])
      for (const p of m.parameters()) p.data.set(Array.from(gaussian([...p.shape], rng).data));
    const x = gaussian([2, 2, 3], rng);
    const y = gaussian([2, 4, 3], rng);
    checkInputs((t) => ln.forward(t), [x]);
    checkParameters(ln, () => ln.forward(x), 2);
    checkInputs((t) => gn.forward(t), [y]);
    checkParameters(gn, () => gn.forward(y), 3);
  });

  it("Embedding with paddingIdx (ids here avoid the padding row, whose zero gradient is by design)", () => {
    const m = new Embedding(5, 3, { ...f64, paddingIdx: 2, seed: 1 });
    const ids = new Tensor(new Int32Array([0, 3, 3, 4, 1]), [5]);
    checkParameters(m, () => m.forward(ids), 4);
  });

  it("MultiheadAttention with masks, and with kdim/vdim", () => {
    const m = new MultiheadAttention(4, 2, { ...f64, seed: 5 });
    const [q, k, v] = [gaussian([2, 2, 4], rng), gaussian([2, 3, 4], rng), gaussian([2, 3, 4], rng)];
    const attnMask = gaussian([2, 3], rng);
    attnMask.data[1] = -Infinity;
    const keyPaddingMask = new Tensor(new Int32Array([0, 0, 1, 0, 0, 0]), [2, 3]);
    const opts = { attnMask, keyPaddingMask };
    checkInputs((a, b, c) => combine(m.forward(a, b, c, opts)), [q, k, v]);
    checkParameters(m, () => m.forward(q, k, v, opts), 6);
    // a float attnMask that requires grad receives its gradient (finite entries; −∞ ones have none)
    checkInputs((a, mask) => combine(m.forward(a, a, a, { attnMask: mask })), [q, gaussian([2, 2], rng)]);
    const kv = new MultiheadAttention(4, 2, { ...f64, seed: 6, kdim: 3, vdim: 2 });
    const [k2, v2] = [gaussian([2, 3, 3], rng), gaussian([2, 3, 2], rng)];
    checkInputs((a, b, c) => combine(kv.forward(a, b, c, { isCausal: false })), [q, k2, v2]);
    checkParameters(kv, () => kv.forward(q, k2, v2), 7);
  });

  it("TransformerEncoderLayer, pre- and post-norm", () => {
    for (const normFirst of [false, true]) {
      const m = new TransformerEncoderLayer(4, 2, {
        ...f64,
        dimFeedforward: 6,
        dropout: 0,
        activation: "gelu",
        normFirst,
        seed: 8,
      });
      const x = gaussian([2, 3, 4], rng);
      checkInputs((t) => m.forward(t, { isCausal: true }), [x]);
      checkParameters(m, () => m.forward(x, { isCausal: true }), 9);
    }
  });

  it("RNN, GRU, LSTM (2 layers, bidirectional) with initial states", () => {
    const x = gaussian([2, 3, 2], rng);
    const h0 = gaussian([4, 2, 3], rng, 0.5);
    const c0 = gaussian([4, 2, 3], rng, 0.5);
    const opts = { ...f64, numLayers: 2, bidirectional: true, seed: 10 };
    const rnn = new RNN(2, 3, opts);
    const gru = new GRU(2, 3, opts);
    const lstm = new LSTM(2, 3, opts);
    checkInputs((a, h) => combine(rnn.forward(a, h)), [x, h0]);
    checkParameters(rnn, () => rnn.forward(x, h0), 11);
    checkInputs((a, h) => combine(gru.forward(a, h)), [x, h0]);
    checkParameters(gru, () => gru.forward(x, h0), 12);
    checkInputs((a, h, c) => combine(lstm.forward(a, [h, c])), [x, h0, c0]);
    checkParameters(lstm, () => lstm.forward(x, [h0, c0]), 13);
  });

  it("RNNCell, GRUCell, LSTMCell", () => {
    const x = gaussian([2, 3], rng);
    const h = gaussian([2, 4], rng, 0.5);
    const c = gaussian([2, 4], rng, 0.5);
    const cells = [new RNNCell(3, 4, { ...f64, seed: 1 }), new GRUCell(3, 4, { ...f64, seed: 2 })];
    for (const cell of cells) {
      checkInputs((a, b) => cell.forward(a, b), [x, h]);
      checkParameters(cell, () => cell.forward(x, h), 14);
    }
    const lstm = new LSTMCell(3, 4, { ...f64, seed: 3 });
    checkInputs((a, b, d) => combine(lstm.forward(a, [b, d])), [x, h, c]);
    checkParameters(lstm, () => lstm.forward(x, [h, c]), 15);
  });
});
