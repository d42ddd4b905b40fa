/**
 * functionalCall(module, params, ...args) with every layer type: the output equals the module run with
 * those parameters loaded, gradients with respect to the given tensors equal backward's .grad, the
 * module is untouched afterwards (also when forward throws), and it works inside the transforms: a MAML
 * inner step (second order), the Hessian of the article network's loss, a jvp.
 */
import {
  grad,
  grads,
  hessian,
  jvp,
  noGrad,
  Rng,
  Tensor as T,
  type Tensor,
  ValueError,
} from "@tapegrad/autograd";
import {
  type AnyModule,
  BatchNorm1d,
  BatchNorm2d,
  Dropout,
  Embedding,
  Flatten,
  functionalCall,
  GELU,
  GRU,
  GRUCell,
  GroupNorm,
  Identity,
  LayerNorm,
  LeakyReLU,
  Linear,
  LSTM,
  LSTMCell,
  MultiheadAttention,
  NN,
  quadratic,
  ReLU,
  RNN,
  RNNCell,
  Sequential,
  Sigmoid,
  Softplus,
  sigmoid,
  Tanh,
  TransformerEncoderLayer,
} from "@tapegrad/nn";
import { describe, expect, it } from "vitest";
import { gaussian } from "./helpers.js";

const f64 = { dtype: "float64" as const };

function flatten(out: unknown): Tensor[] {
  if (out instanceof T) return [out];
  if (Array.isArray(out)) return out.flatMap((o) => (o === null ? [] : flatten(o)));
  throw new Error("unexpected forward result");
}

/** One scalar from any forward result, with fixed weights per output. */
function combine(out: unknown): Tensor {
  return flatten(out)
    .map((o, i) =>
      o
        .mul(i + 1)
        .sin()
        .sum(),
    )
    .reduce((a, b) => a.add(b));
}

interface LayerCase {
  name: string;
  module: AnyModule;
  args: unknown[];
  /** BatchNorm's running statistics are substituted too (eval mode reads them through ops). */
  withBuffers?: boolean;
  /** BatchNorm in training mode updates its own running statistics (documented): only parameters are checked. */
  updatesBuffers?: boolean;
}

function cases(): LayerCase[] {
  const rng = new Rng(3);
  const g = (shape: number[], std = 1) => gaussian(shape, rng, std);
  const bn1 = new BatchNorm1d(3, f64).eval();
  const bn2 = new BatchNorm2d(2, f64).eval();
  const seq = new Sequential(
    new Linear(3, 4, { ...f64, seed: 1 }),
    new Tanh(),
    new Linear(4, 2, { ...f64, seed: 2 }),
  );
  const ids = new T(new Int32Array([0, 3, 2, 4]), [4]);
  const activations = new Sequential(
    new Linear(2, 3, { ...f64, seed: 3 }),
    new ReLU(),
    new Linear(3, 3, { ...f64, seed: 4 }),
    new GELU(),
    new LeakyReLU(0.1),
    new Sigmoid(),
    new Softplus(),
    new Identity(),
    new Dropout(0.5).eval(),
    new Flatten(),
  );
  return [
    { name: "Linear", module: new Linear(3, 2, { ...f64, seed: 5 }), args: [g([4, 3])] },
    {
      name: "Sequential of Linear and every activation layer, Dropout (eval), Flatten",
      module: activations,
      args: [g([2, 2])],
    },
    { name: "Sequential(Linear, Tanh, Linear)", module: seq, args: [g([5, 3])] },
    {
      name: "BatchNorm1d (training: batch statistics)",
      module: new BatchNorm1d(3, f64),
      args: [g([4, 3, 2])],
      updatesBuffers: true,
    },
    {
      name: "BatchNorm1d (eval, running statistics substituted)",
      module: bn1,
      args: [g([4, 3])],
      withBuffers: true,
    },
    {
      name: "BatchNorm2d (eval, running statistics substituted)",
      module: bn2,
      args: [g([2, 2, 2, 2])],
      withBuffers: true,
    },
    { name: "LayerNorm", module: new LayerNorm([2, 3], f64), args: [g([2, 2, 3])] },
    { name: "GroupNorm", module: new GroupNorm(2, 4, f64), args: [g([2, 4, 3])] },
    { name: "Embedding", module: new Embedding(5, 3, { ...f64, seed: 6 }), args: [ids] },
    {
      name: "MultiheadAttention",
      module: new MultiheadAttention(4, 2, { ...f64, seed: 7 }),
      args: [g([2, 3, 4]), g([2, 3, 4]), g([2, 3, 4]), { isCausal: true }],
    },
    {
      name: "TransformerEncoderLayer",
      module: new TransformerEncoderLayer(4, 2, { ...f64, dimFeedforward: 6, dropout: 0, seed: 8 }),
      args: [g([2, 3, 4])],
    },
    {
      name: "RNN (2 layers, bidirectional)",
      module: new RNN(2, 3, { ...f64, numLayers: 2, bidirectional: true, seed: 9 }),
      args: [g([2, 3, 2]), g([4, 2, 3], 0.5)],
    },
    { name: "GRU", module: new GRU(2, 3, { ...f64, seed: 10 }), args: [g([2, 3, 2])] },
    { name: "LSTM", module: new LSTM(2, 3, { ...f64, seed: 11 }), args: [g([2, 3, 2])] },
    { name: "RNNCell", module: new RNNCell(3, 4, { ...f64, seed: 12 }), args: [g([2, 3]), g([2, 4], 0.5)] },
    { name: "GRUCell", module: new GRUCell(3, 4, { ...f64, seed: 13 }), args: [g([2, 3]), g([2, 4], 0.5)] },
    {
      name: "LSTMCell",
      module: new LSTMCell(3, 4, { ...f64, seed: 14 }),
      args: [g([2, 3]), [g([2, 4], 0.5), g([2, 4], 0.5)]],
    },
    {
      name: "NN (the article's network)",
      module: new NN([3, 4, 2], sigmoid, quadratic, { ...f64, seed: 15 }),
      args: [g([5, 3])],
    },
  ];
}

/** New values for every parameter (and buffer, when asked) of m, by name. */
function newState(m: AnyModule, withBuffers: boolean, rng: Rng): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, p] of m.namedParameters()) out[name] = gaussian([...p.shape], rng, 0.5);
  if (withBuffers) {
    for (const [name, b] of m.namedBuffers()) {
      if (b.dtype === "int32") continue;
      const t = gaussian([...b.shape], rng, 0.3);
      out[name] = name.endsWith("running_var") ? t.abs().add(0.5) : t;
    }
  }
  return out;
}

function expectSame(a: Tensor, b: Tensor, tol = 0): void {
  expect([...a.shape]).toEqual([...b.shape]);
  for (let i = 0; i < a.size; i++)
    expect(Math.abs(a.data[i] - b.data[i]), `element ${i}`).toBeLessThanOrEqual(tol);
}

describe.each(cases().map((c) => [c.name, c] as const))("functionalCall with %s", (_name, c) => {
  it("equals the module with those parameters loaded, leaves the module untouched, and its gradients equal backward's", () => {
    const m = c.module;
    const rng = new Rng(21);
    const params = newState(m, c.withBuffers === true, rng);
    const before = m.namedState().map(([n, t]) => [n, t, t.data.slice()] as const);
    const call = (p: Record<string, Tensor>) => functionalCall(m as never, p, ...(c.args as never[]));
    const out = flatten(call(params));
    // the module is as it was: same tensors, same values
    const buffers = new Set(m.buffers() as Tensor[]);
    m.namedState().forEach(([n, t], i) => {
      expect(n).toBe(before[i][0]);
      expect(t).toBe(before[i][1]);
      if (c.updatesBuffers && buffers.has(t)) return;
      expect(Array.from(t.data)).toEqual(Array.from(before[i][2]));
    });
    const names = Object.keys(params);
    const viaGrads = grads((...ts: Tensor[]) =>
      combine(call(Object.fromEntries(names.map((n, i) => [n, ts[i]])))),
    )(...names.map((n) => params[n]));
    // reference: load the values into the module, then forward and backward
    const saved = m.stateDict();
    m.loadStateDict(params, { strict: false });
    try {
      const ref = flatten((m as unknown as { forward: (...a: unknown[]) => unknown }).forward(...c.args));
      ref.forEach((r, i) => {
        expectSame(out[i], r);
      });
      m.zeroGrad();
      combine((m as unknown as { forward: (...a: unknown[]) => unknown }).forward(...c.args)).backward();
      const paramNames = new Set(m.namedParameters().map(([n]) => n));
      const byName = new Map(m.namedParameters());
      names.forEach((n, i) => {
        if (!paramNames.has(n)) return; // buffers: no .grad to compare with
        const want = byName.get(n)!.grad;
        if (want === null) expect(viaGrads[i]).toBeNull();
        else expectSame(viaGrads[i]!, want, 1e-13);
      });
    } finally {
      m.loadStateDict(saved);
      m.zeroGrad();
    }
  });
});

describe("functionalCall", () => {
  it("restores the module's own parameters when forward throws, and names unknown or misshapen parameters", () => {
    const lin = new Linear(2, 2, { ...f64, seed: 1 });
    const x = gaussian([1, 2], new Rng(1));
    const before = lin.forward(x);
    expect(() =>
      functionalCall(lin, { weight: gaussian([2, 2], new Rng(2)) }, gaussian([1, 3], new Rng(3))),
    ).toThrow();
    expectSame(lin.forward(x), before);
    expect(() => functionalCall(lin, { W: gaussian([2, 2], new Rng(2)) }, x)).toThrow(ValueError);
    expect(() => functionalCall(lin, { W: gaussian([2, 2], new Rng(2)) }, x)).toThrow(
      /Linear has no parameter or buffer "W"; its names are weight, bias/,
    );
    expect(() => functionalCall(lin, { weight: gaussian([3, 2], new Rng(2)) }, x)).toThrow(
      /params\["weight"\] has shape \[3, 2\], the module's has \[2, 2\]/,
    );
  });

  it("MAML inner step: the meta-gradient through one SGD step equals finite differences (second order)", () => {
    const rng = new Rng(4);
    const model = new Sequential(
      new Linear(2, 3, { ...f64, seed: 1 }),
      new Tanh(),
      new Linear(3, 1, { ...f64, seed: 2 }),
    );
    const [xs, ys, xq, yq] = [
      gaussian([4, 2], rng),
      gaussian([4, 1], rng),
      gaussian([3, 2], rng),
      gaussian([3, 1], rng),
    ];
    const names = model.namedParameters().map(([n]) => n);
    const theta = model.namedParameters().map(([, p]) => p.detach());
    const lr = 0.1;
    const lossAt = (ps: Tensor[], x: Tensor, y: Tensor): Tensor =>
      functionalCall(model, Object.fromEntries(names.map((n, i) => [n, ps[i]])), x)
        .sub(y)
        .square()
        .mean();
    const metaLoss = (...ps: Tensor[]): Tensor => {
      const g = grads((...qs: Tensor[]) => lossAt(qs, xs, ys))(...ps);
      const adapted = ps.map((p, i) => p.sub(g[i]!.mul(lr)));
      return lossAt(adapted, xq, yq);
    };
    const meta = grads(metaLoss)(...theta);
    const h = 1e-6;
    theta.forEach((p, k) => {
      for (let j = 0; j < p.size; j++) {
        const shifted = (d: number) =>
          theta.map((q, i) => {
            if (i !== k) return q;
            const data = q.data.slice() as Float64Array;
            data[j] += d;
            return new T(data, q.shape);
          });
        const numeric = (metaLoss(...shifted(h)).item() - metaLoss(...shifted(-h)).item()) / (2 * h);
        expect(Math.abs(meta[k]!.data[j] - numeric)).toBeLessThan(1e-8);
      }
    });
    // first-order MAML (the inner gradient cut) gives a different answer: the second-order term counts
    const firstOrder = grads((...ps: Tensor[]) => {
      const g = noGrad(() => grads((...qs: Tensor[]) => lossAt(qs, xs, ys))(...ps));
      return lossAt(
        ps.map((p, i) => p.sub(g[i]!.mul(lr))),
        xq,
        yq,
      );
    })(...theta);
    expect(meta.some((g, i) => Math.abs(g!.data[0] - firstOrder[i]!.data[0]) > 1e-6)).toBe(true);
  });

  it("Hessian of the article network's loss with respect to W_2: symmetric, equal to differences of grad", () => {
    const net = new NN([3, 4, 2], sigmoid, quadratic, { ...f64, seed: 5 });
    const rng = new Rng(5);
    const x = gaussian([6, 3], rng);
    const y = gaussian([6, 2], rng).sigmoid();
    const loss = (w2: Tensor): Tensor => quadratic.fn(functionalCall(net, { "w.1": w2 }, x), y);
    const w2 = net.w[1].detach();
    const H = hessian(loss)(w2);
    expect([...H.shape]).toEqual([4, 2, 4, 2]);
    const n = 8;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) expect(Math.abs(H.data[i * n + j] - H.data[j * n + i])).toBeLessThan(1e-15);
    const h = 1e-6;
    for (let j = 0; j < n; j++) {
      const at = (d: number) => {
        const data = w2.data.slice() as Float64Array;
        data[j] += d;
        return grad(loss)(new T(data, w2.shape))!;
      };
      const up = at(h);
      const down = at(-h);
      for (let i = 0; i < n; i++)
        expect(Math.abs(H.data[i * n + j] - (up.data[i] - down.data[i]) / (2 * h))).toBeLessThan(1e-8);
    }
  });

  it("jvp through functionalCall equals the directional difference", () => {
    const lin = new Linear(3, 2, { ...f64, seed: 7 });
    const rng = new Rng(7);
    const x = gaussian([2, 3], rng);
    const W = lin.weight.detach();
    const v = gaussian([3, 2], rng);
    const f = (w: Tensor): Tensor => functionalCall(lin, { weight: w }, x).tanh();
    const { tangent } = jvp(f, [W], [v]);
    const h = 1e-6;
    const up = f(W.add(v.mul(h)));
    const down = f(W.sub(v.mul(h)));
    for (let i = 0; i < tangent.size; i++)
      expect(Math.abs(tangent.data[i] - (up.data[i] - down.data[i]) / (2 * h))).toBeLessThan(1e-8);
  });
});
