/**
 * Every layer against PyTorch (float64): forward outputs and the gradients of Σ output·cotangent with
 * respect to every float input and every parameter. The fixture (test/fixtures/torch/layers.json, made
 * by gen_layers.py) holds torch's state_dict; tapegrad loads it by name with loadStateDict (strict), so
 * parameter names, buffer names and layouts are tested by the same cases.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tensor } from "@tapegrad/autograd";
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
import { compare } from "./helpers.js";

interface Encoded {
  dtype: "float64" | "int32";
  shape: number[];
  data: Array<number | string>;
}
interface Run {
  inputs?: Record<string, Encoded>;
  outputs: Encoded[];
  cotangents: Encoded[];
  grads: Record<string, Encoded>;
}
interface Case extends Run {
  config: Record<string, unknown>;
  state: Record<string, Encoded>;
  inputs: Record<string, Encoded>;
  steps?: Run[];
  stateAfter?: Record<string, Encoded>;
  eval?: Run;
}

const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, "../fixtures/torch/layers.json"), "utf8"),
) as { cases: Record<string, Case> };
const cases = fixture.cases;

function decode(e: Encoded): Tensor {
  const values = e.data.map((v) => (v === "-inf" ? -Infinity : v === "inf" ? Infinity : (v as number)));
  return new Tensor(e.dtype === "int32" ? Int32Array.from(values) : Float64Array.from(values), e.shape);
}

function stateOf(sd: Record<string, Encoded>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, decode(v)]));
}

const RTOL = 1e-10;
const ATOL = 1e-11;

function expectClose(actual: Tensor | null, expected: Encoded, what: string): void {
  expect(actual, `${what} is missing`).not.toBeNull();
  const want = decode(expected);
  expect([...actual!.shape], `${what} shape`).toEqual(want.shape);
  const d = compare(actual!, want, RTOL, ATOL);
  expect(d.failures.slice(0, 3), `${what}: max abs ${d.maxAbs}, max rel ${d.maxRel}`).toEqual([]);
}

/** Flattens a forward result the way gen_layers.py does (nested tuples, nulls dropped). */
function flatten(out: unknown): Tensor[] {
  if (out instanceof Tensor) return [out];
  if (Array.isArray(out)) return out.flatMap((o) => (o === null ? [] : flatten(o)));
  throw new Error(`unexpected forward result ${String(out)}`);
}

/**
 * Runs `call` on fresh leaves made from the fixture's inputs and checks outputs and gradients
 * (inputs marked float in the fixture, plus every parameter by its state-dict name).
 */
function check(
  name: string,
  module: AnyModule,
  run: Run,
  inputsEnc: Record<string, Encoded>,
  call: (inputs: Record<string, Tensor>) => unknown,
): void {
  module.zeroGrad();
  const inputs: Record<string, Tensor> = {};
  for (const [k, e] of Object.entries(inputsEnc)) {
    const t = decode(e);
    if (`input.${k}` in run.grads) t.requiresGrad = true;
    inputs[k] = t;
  }
  const outs = flatten(call(inputs));
  expect(outs.length, `${name}: number of outputs`).toBe(run.outputs.length);
  outs.forEach((o, i) => {
    expectClose(o, run.outputs[i], `${name} output ${i}`);
  });
  let loss: Tensor | null = null;
  outs.forEach((o, i) => {
    const term = o.mul(decode(run.cotangents[i])).sum();
    loss = loss === null ? term : loss.add(term);
  });
  (loss as unknown as Tensor).backward();
  const params = new Map(module.namedParameters());
  for (const [key, g] of Object.entries(run.grads)) {
    const [kind, n] = [key.slice(0, key.indexOf(".")), key.slice(key.indexOf(".") + 1)];
    const t = kind === "input" ? inputs[n] : params.get(n);
    expect(t, `${name}: no ${kind} named ${n}`).toBeDefined();
    expectClose(t!.grad, g, `${name} grad of ${key}`);
  }
  // every parameter tapegrad has is one torch has (and was checked above)
  for (const n of params.keys())
    expect(`param.${n}` in run.grads, `${name}: extra parameter ${n}`).toBe(true);
}

function loaded<M extends AnyModule>(m: M, c: Case): M {
  m.loadStateDict(stateOf(c.state)); // strict: every name and shape must match torch's
  expect(m.namedState().map(([n]) => n)).toEqual(Object.keys(c.state));
  return m;
}

const single = (m: AnyModule) => (i: Record<string, Tensor>) =>
  (m as unknown as { forward(x: Tensor): Tensor }).forward(i.x);

describe("normalisation layers agree with PyTorch (float64)", () => {
  for (const name of ["batchnorm1d_2d_input", "batchnorm1d_3d_cumulative", "batchnorm2d"]) {
    it(`${name}: training steps, running statistics, then eval`, () => {
      const c = cases[name];
      const { numFeatures, momentum } = c.config as { numFeatures: number; momentum: number | null };
      const Cls = name.startsWith("batchnorm2d") ? BatchNorm2d : BatchNorm1d;
      const bn = loaded(new Cls(numFeatures, { momentum, dtype: "float64" }), c);
      bn.train();
      c.steps!.forEach((step, k) => {
        check(`${name} step ${k}`, bn, step, step.inputs!, single(bn));
      });
      const after = bn.stateDict();
      for (const [k, e] of Object.entries(c.stateAfter!))
        expectClose(after[k], e, `${name} ${k} after training`);
      expect(bn.buffers().length).toBe(3);
      expect(bn.parameters().length).toBe(2);
      bn.eval();
      check(`${name} eval`, bn, c.eval!, c.eval!.inputs!, single(bn));
      // eval() does not touch the running statistics
      for (const [k, e] of Object.entries(c.stateAfter!))
        expectClose(bn.stateDict()[k], e, `${name} ${k} after eval`);
    });
  }

  for (const name of ["layernorm_last", "layernorm_last2"]) {
    it(name, () => {
      const c = cases[name];
      const m = loaded(new LayerNorm(c.config.normalizedShape as number[], { dtype: "float64" }), c);
      check(name, m, c, c.inputs, single(m));
    });
  }

  for (const name of ["groupnorm", "groupnorm_4d"]) {
    it(name, () => {
      const c = cases[name];
      const { numGroups, numChannels } = c.config as { numGroups: number; numChannels: number };
      const m = loaded(new GroupNorm(numGroups, numChannels, { dtype: "float64" }), c);
      check(name, m, c, c.inputs, single(m));
    });
  }
});

describe("Embedding agrees with PyTorch", () => {
  it("paddingIdx: the padding row is read but gets no gradient", () => {
    const c = cases.embedding_padding;
    const { num, dim, paddingIdx } = c.config as { num: number; dim: number; paddingIdx: number };
    const m = loaded(new Embedding(num, dim, { paddingIdx, dtype: "float64" }), c);
    check("embedding", m, c, c.inputs, (i) => m.forward(i.ids));
    const g = m.weight.grad!;
    for (let j = 0; j < dim; j++) expect(g.data[paddingIdx * dim + j]).toBe(0);
  });
});

describe("MultiheadAttention agrees with PyTorch", () => {
  const mha = (c: Case) => {
    const cfg = c.config as { kdim?: number; vdim?: number; batchFirst?: boolean };
    return loaded(
      new MultiheadAttention(8, 2, {
        dtype: "float64",
        kdim: cfg.kdim,
        vdim: cfg.vdim,
        batchFirst: cfg.batchFirst,
      }),
      c,
    );
  };
  for (const name of [
    "mha_plain",
    "mha_per_head_weights",
    "mha_bool_mask",
    "mha_float_mask",
    "mha_key_padding",
    "mha_kdim_vdim",
    "mha_seq_first",
  ]) {
    it(name, () => {
      const c = cases[name];
      const m = mha(c);
      check(name, m, c, c.inputs, (i) =>
        m.forward(i.q, i.k, i.v, {
          attnMask: i.attnMask,
          keyPaddingMask: i.keyPaddingMask,
          averageAttnWeights: c.config.averageAttnWeights as boolean | undefined,
        }),
      );
    });
  }

  it("isCausal equals torch's explicit upper-triangular mask", () => {
    const c = cases.mha_causal_self;
    const m = mha(c);
    check("mha_causal_self", m, c, c.inputs, (i) => m.forward(i.x, i.x, i.x, { isCausal: true }));
  });
});

describe("TransformerEncoderLayer agrees with PyTorch", () => {
  for (const name of [
    "encoder_post_relu",
    "encoder_pre_gelu",
    "encoder_post_gelu_masks",
    "encoder_pre_relu_masks",
  ]) {
    it(name, () => {
      const c = cases[name];
      const cfg = c.config as { activation: "relu" | "gelu"; normFirst: boolean; isCausal?: boolean };
      const m = loaded(
        new TransformerEncoderLayer(8, 2, {
          dimFeedforward: 16,
          dropout: 0,
          activation: cfg.activation,
          normFirst: cfg.normFirst,
          dtype: "float64",
        }),
        c,
      );
      check(name, m, c, c.inputs, (i) =>
        m.forward(i.x, { isCausal: cfg.isCausal, srcKeyPaddingMask: i.srcKeyPaddingMask }),
      );
    });
  }
});

describe("RNN, GRU, LSTM and their cells agree with PyTorch", () => {
  const recurrent: Array<[string, "rnn" | "gru" | "lstm"]> = [
    ["rnn_tanh_deep_bi", "rnn"],
    ["rnn_relu_seq_first", "rnn"],
    ["gru_deep_bi", "gru"],
    ["gru_seq_first", "gru"],
    ["lstm_deep_bi", "lstm"],
    ["lstm_seq_first_bi", "lstm"],
  ];
  for (const [name, kind] of recurrent) {
    it(name, () => {
      const c = cases[name];
      const cfg = c.config as {
        numLayers: number;
        bidirectional: boolean;
        batchFirst: boolean;
        nonlinearity?: "tanh" | "relu";
      };
      const opts = { ...cfg, dtype: "float64" as const };
      if (kind === "lstm") {
        const m = loaded(new LSTM(3, 4, opts), c);
        check(name, m, c, c.inputs, (i) => m.forward(i.x, i.h0 ? [i.h0, i.c0] : undefined));
      } else {
        const m = loaded(kind === "rnn" ? new RNN(3, 4, opts) : new GRU(3, 4, opts), c);
        check(name, m, c, c.inputs, (i) => m.forward(i.x, i.h0));
      }
    });
  }

  it("rnncell_tanh, rnncell_relu, grucell, lstmcell", () => {
    for (const nl of ["tanh", "relu"] as const) {
      const c = cases[`rnncell_${nl}`];
      const m = loaded(new RNNCell(3, 4, { nonlinearity: nl, dtype: "float64" }), c);
      check(`rnncell_${nl}`, m, c, c.inputs, (i) => m.forward(i.x, i.h));
    }
    const g = cases.grucell;
    const gru = loaded(new GRUCell(3, 4, { dtype: "float64" }), g);
    check("grucell", gru, g, g.inputs, (i) => gru.forward(i.x, i.h));
    const l = cases.lstmcell;
    const lstm = loaded(new LSTMCell(3, 4, { dtype: "float64" }), l);
    check("lstmcell", lstm, l, l.inputs, (i) => lstm.forward(i.x, [i.h, i.c]));
  });
});
