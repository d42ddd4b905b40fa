import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { customOp, grads, randn, type Tensor } from "./index.js";
import { getStorageOptions, isPooled, pooledStorageBytes, setStorageOptions } from "./storage.js";

/**
 * Backward walks hand their dead cotangent buffers back for reuse. Reuse must never change a result:
 * gradients with the pool on equal those with it off, bit for bit, and nothing a user was given is
 * overwritten by a later walk.
 */

type Step = { op: number; a: number; b: number };
const OPS = 9;

/** Random programs over [r, c] tensors with fan-out, pass-through ops (add, reshape) and matmuls. */
function run(steps: readonly Step[], inputs: Tensor[]): Tensor {
  const pool = inputs.slice();
  const [r, c] = inputs[0].shape;
  for (const { op, a, b } of steps) {
    const x = pool[a % pool.length];
    const y = pool[b % pool.length];
    let z: Tensor;
    switch (op % OPS) {
      case 0:
        z = x.add(y);
        break;
      case 1:
        z = x.mul(y).tanh();
        break;
      case 2:
        z = x.sigmoid().sub(y.mul(0.5));
        break;
      case 3:
        z = x.matmul(y, { transposeB: true }).matmul(y).mul(0.1);
        break;
      case 4:
        z = x.softmax(-1).add(x.sum(0, true).mul(0.1));
        break;
      case 5:
        z = x.reshape([c, r]).transpose().mul(y);
        break;
      case 6:
        z = x.square().mul(0.5).sub(y.mean(1, true));
        break;
      case 7:
        z = x.matmul(y, { transposeA: true }).sum(0, true).add(x).relu();
        break;
      default:
        z = x.logSoftmax(0).mul(0.2).add(y.exp().mul(0.1));
        break;
    }
    pool.push(z);
  }
  return pool.slice(inputs.length).reduce((s, t, i) => s.add(t.mul((i % 3) + 1).sum()), pool[0].sum());
}

const stepsArb = fc.array(fc.record({ op: fc.nat(OPS - 1), a: fc.nat(20), b: fc.nat(20) }), {
  minLength: 1,
  maxLength: 7,
});

function gradsWithPool(poolBytes: number, steps: Step[], inputs: Tensor[]): (Float64Array | null)[] {
  setStorageOptions({ cotangentPoolBytes: poolBytes });
  const gs = grads((...xs: Tensor[]) => run(steps, xs))(...inputs);
  return gs.map((g) => (g === null ? null : Float64Array.from(g.data)));
}

describe("cotangent buffer reuse", () => {
  const defaults = getStorageOptions();
  afterEach(() => setStorageOptions(defaults));

  it.each([
    ["large tensors (own buffers)", [24, 32], true],
    ["small tensors with slabs off", [3, 4], false],
  ] as const)("gives bit-identical gradients with the pool on and off: %s", (_label, shape, slabs) => {
    setStorageOptions({ slabs });
    fc.assert(
      fc.property(stepsArb, fc.integer({ min: 0, max: 10_000 }), (steps, seed) => {
        const inputs = [0, 1, 2].map((i) => randn([...shape], { dtype: "float64", seed: seed + i }));
        const off = gradsWithPool(0, steps, inputs);
        const on = gradsWithPool(64 << 20, steps, inputs);
        // Twice with the pool on: the second run draws on buffers the first handed back.
        const again = gradsWithPool(64 << 20, steps, inputs);
        expect(on).toEqual(off);
        expect(again).toEqual(off);
      }),
      { seed: 11, numRuns: 60 },
    );
  });

  it("reuses buffers: a walk over large tensors leaves freed buffers in the pool, none when reuse is off", () => {
    const x = randn([64, 64], { requiresGrad: true });
    const w = randn([64, 64], { requiresGrad: true });
    const loss = () => x.matmul(w).tanh().matmul(w).sigmoid().sum();
    setStorageOptions({ cotangentPoolBytes: 0 });
    loss().backward();
    expect(pooledStorageBytes()).toBe(0);
    setStorageOptions({ cotangentPoolBytes: 64 << 20 });
    loss().backward();
    expect(pooledStorageBytes()).toBeGreaterThan(0);
  });

  it("never recycles a gradient given to the user: earlier .grad and grad results stay intact", () => {
    const x = randn([48, 40], { requiresGrad: true, seed: 1 });
    const w = randn([40, 40], { requiresGrad: true, seed: 2 });
    const f = (a: Tensor, b: Tensor) => a.matmul(b).tanh().matmul(b).relu().sum();
    x.matmul(w).tanh().matmul(w).relu().sum().backward();
    const firstGrad = w.grad!;
    const firstCopy = Float32Array.from(firstGrad.data);
    const kept = grads(f)(x, w);
    const keptCopy = kept.map((g) => Float32Array.from(g!.data));
    for (let i = 0; i < 5; i++) {
      w.grad = null;
      f(x.mul(1 + i), w).backward();
      grads(f)(x.add(i), w);
    }
    expect(isPooled(firstGrad.data.buffer)).toBe(false);
    expect(Float32Array.from(firstGrad.data)).toEqual(firstCopy);
    kept.forEach((g, i) => {
      expect(Float32Array.from(g!.data)).toEqual(keptCopy[i]);
    });
  });

  it("leaves what a custom vjp computes alone, even if it keeps it", () => {
    const stash: Tensor[] = [];
    const copies: Float32Array[] = [];
    const double = customOp({
      name: "double",
      forward: (a: Tensor) => a.mul(2),
      vjp: (g: Tensor) => {
        const d = g.mul(2);
        const kept = d.mul(3); // a temporary the walk never sees
        stash.push(kept);
        copies.push(Float32Array.from(kept.data));
        return [d];
      },
    });
    const x = randn([40, 40], { requiresGrad: true });
    for (let i = 0; i < 4; i++)
      double(x.tanh().mul(i + 1))
        .square()
        .sum()
        .backward();
    expect(stash[0].data.byteLength).toBeGreaterThan(2048); // large enough to be pooled
    stash.forEach((t, i) => {
      expect(isPooled(t.data.buffer)).toBe(false);
      expect(Float32Array.from(t.data)).toEqual(copies[i]);
    });
  });
});
