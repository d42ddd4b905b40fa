import { DTypeError, grad, noGrad, Rng, record, ShapeError, Tensor, ValueError } from "@tapegrad/autograd";
import {
  type Activation,
  ActivationLayer,
  crossEntropy,
  Dropout,
  GELU,
  gelu,
  Identity,
  identity,
  LeakyReLU,
  Linear,
  type Loss,
  l2,
  leakyRelu,
  Module,
  mse,
  NN,
  Parameter,
  quadratic,
  ReLU,
  relu,
  Sequential,
  Sigmoid,
  Softplus,
  sigmoid,
  softmaxCrossEntropy,
  softplus,
  Tanh,
  tanh,
} from "@tapegrad/nn";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compare, gaussian } from "./helpers.js";

const PAIRS: Array<[Activation, () => Module]> = [
  [sigmoid, () => new Sigmoid()],
  [tanh, () => new Tanh()],
  [relu, () => new ReLU()],
  [leakyRelu(0.01), () => new LeakyReLU(0.01)],
  [identity, () => new Identity()],
  [softplus, () => new Softplus()],
  [gelu, () => new GELU()],
];
const LOSSES: Loss[] = [l2, quadratic, mse, softmaxCrossEntropy];

describe("Sequential(Linear, activation, ...) and NN", () => {
  it("give the same gradients for the same weights (property, float64)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 2, maxLength: 5 }),
        fc.integer({ min: 0, max: PAIRS.length - 1 }),
        fc.integer({ min: 0, max: LOSSES.length - 1 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 1e6 }),
        (sizes, a, li, batch, seed) => {
          const [act, layer] = PAIRS[a];
          const loss = LOSSES[li];
          const nn = new NN(sizes, act, loss, { dtype: "float64", seed, init: "xavier" });
          const layers: Module[] = [];
          for (let l = 0; l < sizes.length - 1; l++) {
            const lin = new Linear(sizes[l], sizes[l + 1], { dtype: "float64", seed: seed + l });
            lin.weight.data.set(nn.w[l].data);
            lin.bias!.data.set(nn.b[l].data);
            layers.push(lin, layer());
          }
          const model = new Sequential(...layers);
          const rng = new Rng(seed);
          const x = gaussian([batch, sizes[0]], rng);
          const out = sizes[sizes.length - 1];
          const y =
            loss === softmaxCrossEntropy
              ? new Tensor(
                  Int32Array.from({ length: batch }, () => rng.int(out)),
                  [batch],
                )
              : gaussian([batch, out], rng);
          model.zeroGrad();
          loss.fn(model.forward(x), y).backward();
          const manual = nn.backprop(x, y);
          const named = Object.fromEntries(model.namedParameters());
          for (let l = 0; l < sizes.length - 1; l++) {
            const lin = layers[2 * l] as Linear;
            expect(named[`${2 * l}.weight`]).toBe(lin.weight);
            expect(compare(lin.weight.grad!, manual.wGrad[l], 1e-10, 1e-12).failures).toEqual([]);
            expect(compare(lin.bias!.grad!, manual.bGrad[l], 1e-10, 1e-12).failures).toEqual([]);
          }
        },
      ),
      { seed: 5, numRuns: 50 },
    );
  });
});

describe("activations: deriv is the derivative of fn", () => {
  for (const act of [sigmoid, tanh, relu, leakyRelu(0.2), identity, softplus, gelu]) {
    it(act.name, () => {
      const rng = new Rng(1);
      // away from the kink at 0
      const z = new Tensor(
        Float64Array.from({ length: 40 }, () => {
          const v = rng.uniformIn(-6, 6);
          return Math.abs(v) < 1e-3 ? 0.5 : v;
        }),
        [8, 5],
      );
      const tapeDeriv = grad((t: Tensor) => act.fn(t).sum())(z)!;
      expect(act.deriv(z).shape).toEqual(z.shape);
      expect(compare(act.deriv(z), tapeDeriv, 1e-12, 1e-14).failures).toEqual([]);
    });
  }
  it("relu'(0) = 0 and leakyRelu'(0) = alpha, like the tape's kink convention", () => {
    expect(relu.deriv(new Tensor(new Float64Array([0, 2, -2]), [3])).toArray()).toEqual([0, 1, 0]);
    expect(
      leakyRelu(0.3)
        .deriv(new Tensor(new Float64Array([2, -2]), [2]))
        .toArray(),
    ).toEqual([1, 0.3]);
  });
});

describe("losses", () => {
  const yHat = new Tensor(new Float64Array([0.2, 0.7, 0.9, 0.4]), [2, 2]);
  const y = new Tensor(new Float64Array([0, 1, 1, 0]), [2, 2]);
  const d = [0.2, -0.3, -0.1, 0.4];
  const sq = d.reduce((s, v) => s + v * v, 0);

  it("values match their formulas", () => {
    expect(l2.fn(yHat, y).item()).toBeCloseTo(sq, 14);
    expect(quadratic.fn(yHat, y).item()).toBeCloseTo((0.5 * sq) / 2, 14);
    expect(mse.fn(yHat, y).item()).toBeCloseTo(sq / 4, 14);
    const ce = -(Math.log(0.8) + Math.log(0.7) + Math.log(0.9) + Math.log(0.6)) / 2;
    expect(crossEntropy.fn(yHat, y).item()).toBeCloseTo(ce, 14);
    // logits rows [0.2, 0.7] target 1, [0.9, 0.4] target 0
    const lse = (a: number, b: number) => Math.log(Math.exp(a) + Math.exp(b));
    const sce = (lse(0.2, 0.7) - 0.7 + lse(0.9, 0.4) - 0.9) / 2;
    expect(softmaxCrossEntropy.fn(yHat, new Tensor(new Int32Array([1, 0]), [2])).item()).toBeCloseTo(sce, 14);
    expect(
      softmaxCrossEntropy
        .fn(
          yHat,
          y
            .gather([0, 1])
            .mul(0)
            .add(new Tensor(new Float64Array([0, 1, 1, 0]), [2, 2])),
        )
        .item(),
    ).toBeCloseTo(sce, 14);
  });

  it("1-D predictions count as one row", () => {
    const a = new Tensor(new Float64Array([0.5, 1.5]), [2]);
    const b = new Tensor(new Float64Array([0, 1]), [2]);
    expect(quadratic.fn(a, b).item()).toBeCloseTo(0.5 * (0.25 + 0.25), 14);
    expect(softmaxCrossEntropy.fn(a, new Tensor(new Int32Array([1]), [])).item()).toBeCloseTo(
      Math.log(Math.exp(0.5) + Math.exp(1.5)) - 1.5,
      14,
    );
  });

  for (const loss of [l2, quadratic, mse, crossEntropy, softmaxCrossEntropy]) {
    it(`${loss.name}: deriv equals the tape gradient of fn`, () => {
      const tapeGrad = grad((t: Tensor) => loss.fn(t, y))(yHat)!;
      expect(compare(loss.deriv(yHat, y), tapeGrad, 1e-12, 1e-15).failures).toEqual([]);
    });
    it(`${loss.name}: rejects mismatched shapes naming the loss and both shapes`, () => {
      const bad = new Tensor(new Float64Array(2), [2, 1]);
      expect(() => loss.fn(yHat, bad)).toThrow(ShapeError);
      expect(() => loss.fn(yHat, bad)).toThrow(loss.name);
      expect(() => loss.deriv(yHat, bad)).toThrow(/\[2, 2\].*\[2, 1\]/);
    });
  }

  it("softmaxCrossEntropy: class ids and one-hot rows give the same loss and deriv; ids are range-checked", () => {
    const ids = new Tensor(new Int32Array([1, 0]), [2]);
    expect(softmaxCrossEntropy.deriv(yHat, ids).toArray()).toEqual(
      softmaxCrossEntropy.deriv(yHat, y).toArray(),
    );
    expect(() => softmaxCrossEntropy.fn(yHat, new Tensor(new Int32Array([2, 0]), [2]))).toThrow(ValueError);
    expect(() => softmaxCrossEntropy.fn(yHat, new Tensor(new Int32Array([1, 0, 1]), [3]))).toThrow(
      ShapeError,
    );
  });

  it("regression losses reject int32 targets", () => {
    expect(() => mse.fn(yHat, new Tensor(new Int32Array(4), [2, 2]))).toThrow(DTypeError);
  });
});

class TwoLayer extends Module {
  encoder = new Linear(3, 4, { seed: 1 });
  heads = [new Linear(4, 2, { seed: 2 }), new Linear(4, 1, { seed: 3 })];
  scale = new Parameter(new Float32Array([1]), [1]);
  shared: Parameter;
  notAParameter = new Tensor(new Float32Array(3), [3]);
  constructor() {
    super();
    this.shared = this.scale;
  }
  forward(x: Tensor): Tensor {
    const h = this.encoder.forward(x).tanh();
    return this.heads[0].forward(h).sum(-1, true).add(this.heads[1].forward(h)).mul(this.scale);
  }
}

describe("Module", () => {
  it("finds parameters in fields, sub-modules and arrays, by path, each once", () => {
    const m = new TwoLayer();
    expect(m.namedParameters().map(([n]) => n)).toEqual([
      "encoder.weight",
      "encoder.bias",
      "heads.0.weight",
      "heads.0.bias",
      "heads.1.weight",
      "heads.1.bias",
      "scale",
    ]);
    expect(m.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(m.parameterCount()).toBe(12 + 4 + 8 + 2 + 4 + 1 + 1);
    expect(m.modules().length).toBe(4);
  });

  it("a custom module trains through the tape: every parameter gets a gradient", () => {
    const m = new TwoLayer();
    const x = new Tensor(new Float32Array([1, 2, 3, -1, 0, 1]), [2, 3]);
    m.forward(x).square().sum().backward();
    for (const [name, p] of m.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.shape).toEqual(p.shape);
    }
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it("train()/eval() reach every sub-module", () => {
    const m = new Sequential(new Linear(2, 2), new Sequential(new Dropout(0.5), new ReLU()));
    m.eval();
    expect(m.modules().every((s) => !s.training)).toBe(true);
    m.train();
    expect(m.modules().every((s) => s.training)).toBe(true);
  });

  it("stateDict round trip restores parameters; copies are independent", () => {
    const m = new TwoLayer();
    const sd = m.stateDict();
    const before = m.parameters().map((p) => Array.from(p.data));
    for (const p of m.parameters()) p.data.fill(7);
    expect(sd["encoder.weight"].data[0]).not.toBe(7);
    m.loadStateDict(sd);
    expect(m.parameters().map((p) => Array.from(p.data))).toEqual(before);
  });

  it("loadStateDict checks names, shapes and dtypes first and changes nothing on failure", () => {
    const m = new TwoLayer();
    const before = m.parameters().map((p) => Array.from(p.data));
    const sd = m.stateDict();
    const zeros = (t: Tensor) => new Tensor(new Float32Array(t.size), t.shape);
    const badShape = { ...Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, zeros(t)])) };
    badShape["heads.1.weight"] = new Tensor(new Float32Array(8), [2, 4]);
    expect(() => m.loadStateDict(badShape)).toThrow(ShapeError);
    expect(() => m.loadStateDict(badShape)).toThrow(/heads\.1\.weight.*\[4, 1\].*\[2, 4\]/);
    const badDtype = { ...Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, zeros(t)])) };
    badDtype.scale = new Tensor(new Float64Array(1), [1]);
    expect(() => m.loadStateDict(badDtype)).toThrow(DTypeError);
    const { scale: _, ...missing } = sd;
    expect(() => m.loadStateDict(missing)).toThrow(/missing scale/);
    expect(() => m.loadStateDict({ ...sd, extra: sd.scale })).toThrow(/unexpected extra/);
    expect(m.parameters().map((p) => Array.from(p.data))).toEqual(before);
  });
});

describe("Linear", () => {
  it("stores W [in, out] and b [1, out] and computes x·W + b inside a scope", () => {
    const lin = new Linear(3, 2, { dtype: "float64", seed: 4 });
    expect(lin.weight.shape).toEqual([3, 2]);
    expect(lin.bias!.shape).toEqual([1, 2]);
    const x = gaussian([5, 3], new Rng(0));
    const { value, tape } = record(() => lin.forward(x));
    const expected = noGrad(() => x.matmul(lin.weight).add(lin.bias!));
    expect(compare(value, expected, 0, 0).failures).toEqual([]);
    expect(tape.nodes.filter((n) => n.op !== "leaf").every((n) => n.scope.includes("x·W + b"))).toBe(true);
    expect(new Linear(3, 2, { bias: false }).namedParameters().map(([n]) => n)).toEqual(["weight"]);
  });

  it("is seeded: the same seed gives the same weights, another seed others", () => {
    const a = new Linear(4, 3, { seed: 9 }).weight.data;
    expect(Array.from(new Linear(4, 3, { seed: 9 }).weight.data)).toEqual(Array.from(a));
    expect(Array.from(new Linear(4, 3, { seed: 10 }).weight.data)).not.toEqual(Array.from(a));
    expect(() => new Linear(0, 3)).toThrow(ValueError);
    expect(() => new Linear(2, 3, { init: "nope" as "zeros" })).toThrow(/unknown initialiser/);
  });
});

describe("Dropout", () => {
  it("is the identity in eval mode and with p = 0", () => {
    const x = gaussian([4, 4], new Rng(1));
    const d = new Dropout(0.5, { seed: 1 });
    d.eval();
    expect(d.forward(x)).toBe(x);
    expect(new Dropout(0, { seed: 1 }).forward(x)).toBe(x);
  });

  it("in training mode zeroes about p of the elements and scales the rest by 1/(1 − p), seeded", () => {
    const x = new Tensor(new Float64Array(20000).fill(1), [200, 100]);
    const out = new Dropout(0.3, { seed: 2 }).forward(x);
    let zeros = 0;
    let sum = 0;
    for (const v of out.data) {
      if (v === 0) zeros++;
      else expect(v).toBeCloseTo(1 / 0.7, 12);
      sum += v;
    }
    expect(zeros / 20000).toBeGreaterThan(0.28);
    expect(zeros / 20000).toBeLessThan(0.32);
    expect(sum / 20000).toBeGreaterThan(0.97); // inverted dropout keeps the mean
    expect(sum / 20000).toBeLessThan(1.03);
    const again = new Dropout(0.3, { seed: 2 }).forward(x);
    expect(Array.from(again.data)).toEqual(Array.from(out.data));
  });

  it("passes gradients through the kept elements only", () => {
    const x = new Tensor(new Float64Array(50).fill(2), [5, 10]);
    const g = grad((t: Tensor) => new Dropout(0.5, { seed: 3 }).forward(t).sum())(x)!;
    const out = new Dropout(0.5, { seed: 3 }).forward(x);
    for (let i = 0; i < 50; i++) expect(g.data[i]).toBe(out.data[i] === 0 ? 0 : 2);
  });

  it("rejects p outside [0, 1)", () => {
    expect(() => new Dropout(1)).toThrow(ValueError);
    expect(() => new Dropout(-0.1)).toThrow(ValueError);
  });
});

describe("NN", () => {
  const nn = new NN([3, 4, 2], sigmoid, quadratic, { seed: 1 });

  it("has the article's shapes and names its parameters w.i / b.i, its tensors W_i / b_i", () => {
    expect(nn.w.map((w) => w.shape)).toEqual([
      [3, 4],
      [4, 2],
    ]);
    expect(nn.b.map((b) => b.shape)).toEqual([
      [1, 4],
      [1, 2],
    ]);
    expect(nn.namedParameters().map(([n, p]) => `${n}=${p.name}`)).toEqual([
      "w.0=W_1",
      "b.0=b_1",
      "w.1=W_2",
      "b.1=b_2",
    ]);
  });

  it("maps [in] to [out] and [n, in] to [n, out]; rejects a wrong input width", () => {
    expect(nn.forwardPass(new Tensor(new Float32Array(3), [3])).shape).toEqual([2]);
    expect(nn.forwardPass(new Tensor(new Float32Array(15), [5, 3])).shape).toEqual([5, 2]);
    expect(() => nn.forwardPass(new Tensor(new Float32Array(8), [2, 4]))).toThrow(ShapeError);
    expect(() => nn.forwardPass(new Tensor(new Float32Array(8), [2, 4]))).toThrow(/\[2, 4\].*\[batch, 3\]/);
  });

  it("records the article's f_i steps as scopes: W_1·f_0 + b_1, a, W_2·f_2 + b_2, a, loss", () => {
    const x = new Tensor(new Float32Array(6), [2, 3]);
    const y = new Tensor(new Float32Array(4), [2, 2]);
    const { tape } = record(() => nn.evalLoss(x, y));
    // consecutive nodes in one scope collapse to one step
    const scopes = tape.nodes
      .filter((n) => n.scope.length > 0)
      .map((n) => n.scope.join(" / "))
      .filter((s, i, all) => i === 0 || s !== all[i - 1]);
    // The loss scope wraps only the loss, so each step is an outermost scope of its own (f_1 ... f_5).
    expect(scopes).toEqual(["W_1·f_0 + b_1", "sigmoid", "W_2·f_2 + b_2", "sigmoid", "loss"]);
  });

  it("assigned plain tensors are adopted as parameters", () => {
    const m = new NN([2, 2], identity, l2, { seed: 0, dtype: "float64" });
    m.w[0] = new Tensor(new Float64Array([1, 0, 0, 1]), [2, 2]);
    const [[, p]] = m.namedParameters();
    expect(p).toBeInstanceOf(Parameter);
    expect(m.w[0]).toBe(p);
    expect(Array.from(p.data)).toEqual([1, 0, 0, 1]);
  });

  it("initialisers: 'normal' N(0,1) everywhere, 'nielsen' N(0, 1/n_in) weights, 'xavier'/'he' zero biases", () => {
    const std = (t: Tensor) => Math.sqrt(Array.from(t.data).reduce((s, v) => s + v * v, 0) / t.size);
    const big = (init: "normal" | "nielsen" | "xavier" | "he") =>
      new NN([400, 300], sigmoid, l2, { seed: 3, init, dtype: "float64" });
    expect(std(big("normal").w[0])).toBeCloseTo(1, 1);
    expect(std(big("nielsen").w[0])).toBeCloseTo(1 / 20, 2);
    expect(std(big("nielsen").b[0])).toBeCloseTo(1, 0);
    expect(std(big("xavier").w[0])).toBeCloseTo(Math.sqrt(2 / 700), 2);
    expect(std(big("he").w[0])).toBeCloseTo(Math.sqrt(2 / 400), 2);
    expect(Array.from(big("he").b[0].data).every((v) => v === 0)).toBe(true);
    expect(() => new NN([3], sigmoid, l2)).toThrow(ValueError);
  });

  it("ActivationLayer wraps any Activation", () => {
    const layer = new ActivationLayer(leakyRelu(0.5));
    expect(layer.forward(new Tensor(new Float32Array([-2, 2]), [2])).toArray()).toEqual([-1, 2]);
  });
});
