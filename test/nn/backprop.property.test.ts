import { noGrad, Rng, Tensor } from "@tapegrad/autograd";
import {
  type Activation,
  crossEntropy,
  gelu,
  identity,
  type Loss,
  l2,
  leakyRelu,
  mse,
  NN,
  quadratic,
  relu,
  sigmoid,
  softmaxCrossEntropy,
  softplus,
  tanh,
} from "@tapegrad/nn";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { compare, gaussian, maxAbsOf, uniform } from "./helpers.js";

const ACTIVATIONS: Activation[] = [sigmoid, tanh, relu, leakyRelu(0.1), identity, softplus, gelu];
const LOSSES: Loss[] = [l2, quadratic, mse, crossEntropy, softmaxCrossEntropy];
const RTOL = 1e-10;
const ATOL = 1e-12;

interface Case {
  sizes: number[];
  act: number;
  /** The output layer's activation: -1 = the hidden one (the article's network), else an index. */
  out: number;
  loss: number;
  /** 0 = a single 1-D vector, else the batch size */
  batch: number;
  init: "normal" | "nielsen" | "xavier" | "he";
  seed: number;
  intTargets: boolean;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  // 2 to 6 sizes: networks of 1 to 5 weight layers, widths 1 to 16
  sizes: fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 2, maxLength: 6 }),
  act: fc.integer({ min: 0, max: ACTIVATIONS.length - 1 }),
  out: fc.integer({ min: -1, max: ACTIVATIONS.length - 1 }),
  loss: fc.integer({ min: 0, max: LOSSES.length - 1 }),
  batch: fc.integer({ min: 0, max: 8 }),
  init: fc.constantFrom("normal", "nielsen", "xavier", "he"),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  intTargets: fc.boolean(),
});

/** The hidden and output activations of a case; crossEntropy gets sigmoid outputs (it needs probabilities). */
function activationsOf(c: Case): { act: Activation; out: Activation } {
  const act = ACTIVATIONS[c.act];
  if (LOSSES[c.loss] === crossEntropy) return { act: c.out === -1 ? sigmoid : act, out: sigmoid };
  return { act, out: c.out === -1 ? act : ACTIVATIONS[c.out] };
}

/** The network, input and target of a case. */
function build(c: Case): { nn: NN; x: Tensor; y: Tensor } {
  const loss = LOSSES[c.loss];
  const { act, out } = activationsOf(c);
  const nn = new NN(c.sizes, act, loss, {
    dtype: "float64",
    seed: c.seed,
    init: c.init,
    outputActivation: out,
  });
  const rng = new Rng(c.seed + 1);
  const nIn = c.sizes[0];
  const nOut = c.sizes[c.sizes.length - 1];
  const xShape = c.batch === 0 ? [nIn] : [c.batch, nIn];
  const yShape = c.batch === 0 ? [nOut] : [c.batch, nOut];
  const rows = Math.max(1, c.batch);
  const x = gaussian(xShape, rng);
  let y: Tensor;
  if (loss === crossEntropy) y = uniform(yShape, rng, 0.05, 0.95);
  else if (loss === softmaxCrossEntropy) {
    const ids = Array.from({ length: rows }, () => rng.int(nOut));
    if (c.intTargets) y = new Tensor(Int32Array.from(ids), c.batch === 0 ? [] : [rows]);
    else {
      const oneHot = new Float64Array(rows * nOut);
      ids.forEach((k, r) => {
        oneHot[r * nOut + k] = 1;
      });
      y = new Tensor(oneHot, yShape);
    }
  } else y = gaussian(yShape, rng);
  return { nn, x, y };
}

function describeCase(c: Case): string {
  const loss = LOSSES[c.loss];
  const { act, out } = activationsOf(c);
  return `sizes [${c.sizes}] ${act.name} (output ${out.name}) ${loss.name} ${c.batch === 0 ? "1-D input" : `batch ${c.batch}`} init ${c.init} seed ${c.seed}`;
}

/** Pre-activations of every layer (for keeping finite differences away from relu kinks). */
function minAbsPreactivation(nn: NN, x: Tensor): number {
  return noGrad(() => {
    let a = x.ndim === 1 ? x.reshape([1, x.shape[0]]) : x;
    let m = Infinity;
    for (let l = 0; l < nn.w.length; l++) {
      const z = a.matmul(nn.w[l]).add(nn.b[l]);
      for (let i = 0; i < z.size; i++) m = Math.min(m, Math.abs(z.data[i]));
      a = nn.activation.fn(z);
    }
    return m;
  });
}

const worst = { rel: 0, abs: 0, fdRel: 0, runs: 0, fdRuns: 0, where: "" };

afterAll(() => {
  console.log(
    `tape vs delta, ${worst.runs} random networks: largest relative disagreement ${worst.rel.toExponential(2)}, ` +
      `largest absolute ${worst.abs.toExponential(2)} (${worst.where}); ` +
      `finite differences checked on ${worst.fdRuns} of them, largest relative error ${worst.fdRel.toExponential(2)}`,
  );
});

describe("NN.backprop (hand-derived deltas) vs NN.backpropTape (autograd), float64", () => {
  it("agree layer by layer to 1e-10 relative (1e-12 absolute) for W and b", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { nn, x, y } = build(c);
        const manual = nn.backprop(x, y);
        const tape = nn.backpropTape(x, y);
        worst.runs++;
        for (let l = 0; l < nn.w.length; l++) {
          for (const [kind, a, b] of [
            ["W", manual.wGrad[l], tape.wGrad[l]],
            ["b", manual.bGrad[l], tape.bGrad[l]],
          ] as const) {
            expect(a.shape).toEqual(kind === "W" ? nn.w[l].shape : nn.b[l].shape);
            const d = compare(a, b, RTOL, ATOL);
            if (d.maxRel > worst.rel) {
              worst.rel = d.maxRel;
              worst.where = `${describeCase(c)}, ${kind}_${l + 1}`;
            }
            worst.abs = Math.max(worst.abs, d.maxAbs);
            if (d.failures.length > 0) {
              const f = d.failures[0];
              throw new Error(
                `${describeCase(c)}: ${kind}_${l + 1} element ${f.index}: manual ${f.a} vs tape ${f.b} ` +
                  `(${d.failures.length} elements disagree)`,
              );
            }
          }
        }
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it("both agree with central finite differences of evalLoss", () => {
    const h = 1e-6;
    fc.assert(
      fc.property(caseArb, (c) => {
        const { nn, x, y } = build(c);
        const kinked = [nn.activation, nn.outputActivation].some(
          (a) => a.name.startsWith("relu") || a.name.startsWith("leakyRelu"),
        );
        // relu/leakyRelu: a step of h must not cross a kink anywhere in the network
        fc.pre(!kinked || minAbsPreactivation(nn, x) > 1e-3);
        const manual = nn.backprop(x, y);
        const tape = nn.backpropTape(x, y);
        const loss0 = noGrad(() => nn.evalLoss(x, y));
        const rng = new Rng(c.seed + 2);
        worst.fdRuns++;
        const params: Array<[string, Tensor, Tensor, Tensor]> = [];
        nn.w.forEach((w, l) => {
          params.push([`W_${l + 1}`, w, manual.wGrad[l], tape.wGrad[l]]);
          params.push([`b_${l + 1}`, nn.b[l], manual.bGrad[l], tape.bGrad[l]]);
        });
        for (const [name, p, gManual, gTape] of params) {
          // a few random elements of every parameter (all of them when small)
          const picks =
            p.size <= 6 ? [...Array(p.size).keys()] : Array.from({ length: 6 }, () => rng.int(p.size));
          for (const i of picks) {
            const saved = p.data[i];
            p.data[i] = saved + h;
            const up = noGrad(() => nn.evalLoss(x, y));
            p.data[i] = saved - h;
            const down = noGrad(() => nn.evalLoss(x, y));
            p.data[i] = saved;
            const fd = (up - down) / (2 * h);
            const scale = Math.max(1, Math.abs(gTape.data[i]));
            const tol = 1e-6 * scale + (64 * Number.EPSILON * Math.max(1, Math.abs(loss0))) / h;
            for (const [src, g] of [
              ["manual", gManual],
              ["tape", gTape],
            ] as const) {
              const err = Math.abs(fd - g.data[i]);
              worst.fdRel = Math.max(worst.fdRel, err / scale);
              if (!(err <= tol)) {
                throw new Error(
                  `${describeCase(c)}: ${name}[${i}] ${src} gradient ${g.data[i]} vs finite difference ${fd} (tolerance ${tol})`,
                );
              }
            }
          }
        }
      }),
      { seed: 7, numRuns: 100 },
    );
  });
});

describe("the delta formulas, one by one (docs/backprop.md)", () => {
  const rng = new Rng(3);
  const nn = new NN([3, 4, 2], sigmoid, l2, { dtype: "float64", seed: 11 });
  const x = gaussian([5, 3], rng);
  const y = gaussian([5, 2], rng);
  const zOf = (a: Tensor, l: number) => a.matmul(nn.w[l]).add(nn.b[l]);
  const f0 = x;
  const f1 = noGrad(() => zOf(f0, 0));
  const f2 = noGrad(() => sigmoid.fn(f1));
  const f3 = noGrad(() => zOf(f2, 1));
  const f4 = noGrad(() => sigmoid.fn(f3));
  const g = nn.backprop(x, y);
  const close = (a: Tensor, b: Tensor) => expect(compare(a, b, 1e-12, 1e-14).failures).toEqual([]);

  it("output layer: dL/db_2 = Σ_rows 2(ŷ − y) ⊙ a'(z_2)", () => {
    const delta2 = noGrad(() => f4.sub(y).mul(2).mul(sigmoid.deriv(f3)));
    close(
      g.bGrad[1],
      noGrad(() => delta2.sum(0, true)),
    );
  });

  it("output weights: dL/dW_2 = a(z_1)ᵀ · δ_2", () => {
    const delta2 = noGrad(() => f4.sub(y).mul(2).mul(sigmoid.deriv(f3)));
    close(
      g.wGrad[1],
      noGrad(() => f2.T.matmul(delta2)),
    );
  });

  it("hidden layer: δ_1 = (δ_2 · W_2ᵀ) ⊙ a'(z_1), dL/db_1 = Σ_rows δ_1, dL/dW_1 = f_0ᵀ · δ_1", () => {
    const delta2 = noGrad(() => f4.sub(y).mul(2).mul(sigmoid.deriv(f3)));
    const delta1 = noGrad(() => delta2.matmul(nn.w[1].T).mul(sigmoid.deriv(f1)));
    close(
      g.bGrad[0],
      noGrad(() => delta1.sum(0, true)),
    );
    close(
      g.wGrad[0],
      noGrad(() => f0.T.matmul(delta1)),
    );
  });

  it("a batch's gradient is the sum of its rows' gradients (l2 sums over rows)", () => {
    const rows = [0, 1, 2, 3, 4].map((r) =>
      nn.backprop(x.slice(0, r, r + 1).reshape([3]), y.slice(0, r, r + 1).reshape([2])),
    );
    for (let l = 0; l < 2; l++) {
      const sumW = rows.reduce((acc, gr) => noGrad(() => acc.add(gr.wGrad[l])), rows[0].wGrad[l].mul(0));
      close(g.wGrad[l], sumW);
    }
  });

  it("a 1-D input gives the same gradients as the batch of that one row", () => {
    const one = nn.backprop(x.slice(0, 0, 1).reshape([3]), y.slice(0, 0, 1).reshape([2]));
    const batch = nn.backprop(x.slice(0, 0, 1), y.slice(0, 0, 1));
    for (let l = 0; l < 2; l++) {
      close(one.wGrad[l], batch.wGrad[l]);
      close(one.bGrad[l], batch.bGrad[l]);
    }
    expect(maxAbsOf(one.wGrad[0])).toBeGreaterThan(0);
  });
});
