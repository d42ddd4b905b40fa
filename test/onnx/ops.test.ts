import * as ag from "@tapegrad/autograd";
import { type FloatDType, grad, randn, record, type Tensor } from "@tapegrad/autograd";
import { type ExportOutput, nonDifferentiableMappings, primitiveMappings } from "@tapegrad/onnx";
import { describe, expect, it } from "vitest";
import { convCases } from "./conv-cases.js";
import { roundTrip } from "./harness.js";

/**
 * One small function per primitive (and per non-differentiable op), each exported with a batch of 3
 * and run in onnxruntime at batches 3 and 5. Inputs are [batch, 4, 6] normal samples.
 */
const cases: Record<string, (x: Tensor) => ExportOutput> = {
  unary: (x) => {
    const pos = x.abs().add(0.5);
    return [x.neg(), x.exp(), pos.log(), pos.sqrt(), x.abs(), x.square(), x.tanh(), x.sigmoid(), x.relu()];
  },
  "softplus, erf, sin, cos": (x) => [x.softplus(), ag.erf(x), ag.sin(x), ag.cos(x)],
  "log1p and expm1, tiny and large arguments": (x) => [
    ag.log1p(x.abs()),
    ag.log1p(x.mul(1e-9)),
    ag.expm1(x),
    ag.expm1(x.mul(1e-9)),
  ],
  "binary ops with broadcasting": (x) => {
    const row = x.slice(1, 0, 1); // [B, 1, 6]
    const col = x.slice(2, 2, 3); // [B, 4, 1]
    return [
      x.add(row),
      x.sub(col),
      x.mul(row),
      x.div(row.abs().add(1)),
      ag.pow(x.abs().add(0.1), col),
      ag.maximum(x, col),
      ag.minimum(x, row),
      x.add(2).mul(3).sub(1).div(4),
    ];
  },
  "where through clamp and leakyRelu (comparisons rebuilt from the input)": (x) => [
    ag.clamp(x, -0.5, 0.7),
    ag.leakyRelu(x, 0.2),
    ag.where(ag.greaterEqual(x, 0.1), x, ag.lessEqual(x, -0.1).cast(x.dtype)),
    ag.equal(x, x.slice(2, 0, 1)).add(ag.notEqual(x, 0)),
    ag.sign(x),
  ],
  "matmul: batched, transposed flags, rank-2 Gemm": (x) => {
    const w = x.slice(0, 0, 1).reshape([4, 6]).detach(); // a constant (the first example), not the batch
    void w;
    const a = x.reshape([x.shape[0] * 4, 6]);
    return [
      x.matmul(x, { transposeB: true }), // [B, 4, 4]
      x.matmul(x, { transposeA: true }), // [B, 6, 6]
      a.matmul(a, { transposeA: true }), // [6, 6] Gemm transA
      a.matmul(a.slice(0, 0, 5), { transposeB: true }), // [4B, 5]
    ];
  },
  "sum, max, min, mean, prod, cumsum": (x) => [
    x.sum([1], true),
    x.sum([1, 2]),
    x.sum(),
    ag.max(x, [2]),
    ag.min(x, [1, 2], true),
    x.mean([1]),
    ag.prod(x, [1]),
    ag.cumsum(x, 2),
  ],
  "softmax, logSoftmax, logsumexp (detached stabilising max)": (x) => [
    ag.softmax(x, 2),
    ag.logSoftmax(x, 1),
    ag.logsumexp(x, [1, 2]),
  ],
  "variance, std, norm": (x) => [
    ag.variance(x, [2]),
    ag.std(x, [1, 2]),
    ag.norm(x, 2, [2]),
    ag.norm(x, 1, [1]),
  ],
  "reshape, transpose, broadcastTo, squeeze, unsqueeze, stack": (x) => [
    x.reshape([x.shape[0], 24]),
    x.reshape([-1, 3]),
    x.transpose([2, 0, 1]),
    ag.broadcastTo(x.unsqueeze(1), [x.shape[0], 2, 4, 6]),
    ag.broadcastTo(x.slice(0, 0, 1).squeeze(0), [x.shape[0], 4, 6]).add(x),
    ag.stack([x, x.neg()], 1),
  ],
  "slice with steps, pad, concat, split, chunk, flip, roll, tril, triu": (x) => [
    x.slice(2, 1, 6, 2),
    x.slice(0, 1),
    ag.pad(x, 1, 2, 1),
    ag.concat([x, x.square()], 2),
    ...ag.split(x, [1, 3], 1),
    ...ag.chunk(x, 2, 2),
    ag.flip(x, [1, 2]),
    ag.roll(x, 2, 2),
    ag.tril(x),
    ag.triu(x, 1),
  ],
  "gather and scatterAdd": (x) => [ag.gather(x, [2, 0, 2], 2), ag.scatterAdd(x, [1, 0, 1, 3], 1, 5)],
  "sort, topk, argsort, argmax, argmin (takeAlongAxis)": (x) => [
    ag.sort(x, 2).values,
    ag.sort(x, 1, { descending: true }).values,
    ag.topk(x, 2, 2).values,
    ag.argsort(x, 2),
    ag.argmax(x, 1),
    ag.argmin(x, 2),
  ],
  "takeAlongAxis and scatterAddAlongAxis with an input-derived index": (x) => {
    const idx = ag.argsort(x, 2);
    return [ag.takeAlongAxis(x, idx, 2), ag.scatterAddAlongAxis(x, idx, 2, x.shape)];
  },
  "cast to int32 and back": (x) => [x.mul(3).cast("int32"), x.mul(3).cast("int32").cast(x.dtype)],
  einsum: (x) => [ag.einsum("bij,bkj->bik", x, x), ag.einsum("bij->bj", x)],
  "fused activation gradients from a recorded backward (grad of grad)": (x) => [
    grad((y: Tensor) => y.tanh().sum())(x),
    grad((y: Tensor) => y.sigmoid().sum())(x),
    grad((y: Tensor) => y.relu().square().sum())(x),
  ],
};

const DTYPES: FloatDType[] = ["float64", "float32"];

describe.each(DTYPES)("every primitive runs in onnxruntime (%s)", (dtype) => {
  for (const [name, fn] of Object.entries(cases)) {
    it(name, async () => {
      const make = (batch: number, seed: number): Tensor[] => [randn([batch, 4, 6], { seed, dtype })];
      await roundTrip(fn, make, dtype);
    });
  }
});

describe("the op cases cover the mapping tables", () => {
  it("every mapped primitive and non-differentiable op appears in some case", () => {
    const seen = new Set<string>();
    const w = randn([4, 3, 3, 3], { seed: 7 });
    const b = randn([4], { seed: 8 });
    const runs = [
      ...Object.values(cases).map((fn) => () => fn(randn([3, 4, 6], { seed: 1, dtype: "float64" }))),
      ...Object.values(convCases).map((fn) => () => fn(randn([3, 3, 9, 8], { seed: 1 }), w, b)),
    ];
    for (const run of runs) {
      const { tape } = record(run, { nonDifferentiable: true });
      tape.nodes.forEach((n, i) => {
        const op = tape.op(i);
        if (op.kind === "primitive") seen.add(op.primitive);
        else if (op.kind === "nonDifferentiable") seen.add(op.op);
        void n;
      });
    }
    const mapped = [
      ...Object.entries(primitiveMappings),
      ...Object.entries(nonDifferentiableMappings),
    ].filter(([, m]) => !("unmapped" in m));
    const missing = mapped.map(([k]) => k).filter((k) => !seen.has(k));
    expect(missing).toEqual([]);
  });
});
