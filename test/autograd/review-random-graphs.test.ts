import { gradcheck, gradgradcheck, grads, type Tensor, tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/**
 * Random programs over a pool of [2, 3] tensors: every step picks an op and operands from everything
 * computed so far, so values fan out and are reused (the cotangent sums the tape does in place).
 */
type Step = { op: number; a: number; b: number };
const OPS = 10;

function run(steps: readonly Step[], inputs: Tensor[]): Tensor {
  const pool = inputs.slice();
  for (const { op, a, b } of steps) {
    const x = pool[a % pool.length];
    const y = pool[b % pool.length];
    let z: Tensor;
    switch (op % OPS) {
      case 0:
        z = x.add(y);
        break;
      case 1:
        z = x.mul(y);
        break;
      case 2:
        z = x.tanh();
        break;
      case 3:
        z = x.sigmoid().sub(y);
        break;
      case 4:
        z = x.matmul(y.T).matmul(y).mul(0.3); // [2,2]·[2,3]
        break;
      case 5:
        z = x.softmax(-1).add(x.sum(0, true).mul(0.1));
        break;
      case 6:
        z = x.reshape([3, 2]).transpose().mul(y);
        break;
      case 7:
        z = x.square().mul(0.5).sub(x.mean(1, true));
        break;
      case 8:
        z = x.logSoftmax(0).mul(0.2).add(y.exp().mul(0.1));
        break;
      default:
        z = x.gather([2, 0, 0], 1).add(y.slice(1, 1).sum());
        break;
    }
    pool.push(z);
  }
  // Every computed value feeds the output, so nothing is off the path by accident.
  return pool.slice(inputs.length).reduce((s, t, i) => s.add(t.mul((i % 3) + 1).sum()), pool[0].sum());
}

const steps = fc.array(fc.record({ op: fc.nat(OPS - 1), a: fc.nat(20), b: fc.nat(20) }), {
  minLength: 1,
  maxLength: 8,
});
const inputs = (seed: number): Tensor[] =>
  [0, 1].map((k) =>
    tensor(
      Array.from({ length: 6 }, (_, i) => 0.8 * Math.sin(seed + 2.3 * k + 1.1 * i)),
      { shape: [2, 3], dtype: "float64" },
    ),
  );

describe("review: random programs with fan-out", () => {
  it("gradients match finite differences", () => {
    fc.assert(
      fc.property(steps, fc.nat(1000), (s, seed) => {
        const r = gradcheck((a, b) => run(s, [a, b]), inputs(seed));
        expect(r.ok, JSON.stringify(r)).toBe(true);
      }),
      { seed: 31, numRuns: 60 },
    );
  });

  it("second-order gradients match finite differences", () => {
    fc.assert(
      fc.property(steps, fc.nat(1000), (s, seed) => {
        const r = gradgradcheck((a, b) => run(s, [a, b]), inputs(seed));
        expect(r.ok, JSON.stringify(r)).toBe(true);
      }),
      { seed: 32, numRuns: 15 },
    );
  });

  it("backward (twice, accumulating) agrees with grads", () => {
    fc.assert(
      fc.property(steps, fc.nat(1000), (s, seed) => {
        const [a0, b0] = inputs(seed);
        const [ga, gb] = grads((a: Tensor, b: Tensor) => run(s, [a, b]))(a0, b0);
        const a = tensor(a0.data, { shape: [2, 3], requiresGrad: true });
        const b = tensor(b0.data, { shape: [2, 3], requiresGrad: true });
        const y = run(s, [a, b]);
        y.backward(undefined, { retainGraph: true });
        y.backward();
        for (const [leaf, g] of [
          [a, ga],
          [b, gb],
        ] as const) {
          const expected = g === null ? [0, 0, 0, 0, 0, 0] : Array.from(g.data, (v) => 2 * v);
          const got = leaf.grad === null ? [0, 0, 0, 0, 0, 0] : Array.from(leaf.grad.data);
          got.forEach((v, i) => {
            expect(v).toBeCloseTo(expected[i], 10);
          });
        }
      }),
      { seed: 33, numRuns: 60 },
    );
  });
});
