import {
  grads,
  kernelStats,
  matmul,
  randn,
  record,
  resetKernelStats,
  ShapeError,
  type Tensor,
  tensor,
  ValueError,
} from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

/** x with its last two axes swapped, materialised by the transpose op. */
function swapLast(x: Tensor): Tensor {
  const axes = x.shape.map((_, i) => i);
  const n = axes.length;
  [axes[n - 2], axes[n - 1]] = [axes[n - 1], axes[n - 2]];
  return x.transpose(axes);
}

const caseArb = fc.record({
  batch: fc.constantFrom<number[]>([], [2], [3, 1]),
  m: fc.integer({ min: 1, max: 13 }),
  n: fc.integer({ min: 1, max: 11 }),
  k: fc.integer({ min: 1, max: 17 }),
  transposeA: fc.boolean(),
  transposeB: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

describe("matmul transposeA / transposeB", () => {
  it("equals the product of explicitly transposed operands, values and gradients (float64)", () => {
    fc.assert(
      fc.property(caseArb, ({ batch, m, n, k, transposeA, transposeB, seed }) => {
        const aShape = transposeA ? [...batch, k, m] : [...batch, m, k];
        const bShape = transposeB ? [n, k] : [k, n];
        const a = randn(aShape, { dtype: "float64", seed });
        const b = randn(bShape, { dtype: "float64", seed: seed + 1 });
        const viaFlags = (x: Tensor, y: Tensor) => matmul(x, y, { transposeA, transposeB }).square().sum();
        const viaCopies = (x: Tensor, y: Tensor) =>
          matmul(transposeA ? swapLast(x) : x, transposeB ? swapLast(y) : y)
            .square()
            .sum();
        const got = matmul(a, b, { transposeA, transposeB });
        const want = matmul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b);
        expect(got.shape).toEqual([...batch, m, n]);
        const close = (x: Tensor, y: Tensor) => {
          const xs = x.data;
          const ys = y.data;
          for (let i = 0; i < xs.length; i++) expect(xs[i]).toBeCloseTo(ys[i], 10);
        };
        close(got, want);
        const [ga, gb] = grads(viaFlags)(a, b);
        const [wa, wb] = grads(viaCopies)(a, b);
        close(ga!, wa!);
        close(gb!, wb!);
      }),
      { seed: 7, numRuns: 80 },
    );
  });

  it("is also a Tensor method", () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]);
    const b = tensor([
      [5, 6],
      [7, 8],
    ]);
    expect(a.matmul(b, { transposeB: true }).toArray()).toEqual([
      [17, 23],
      [39, 53],
    ]);
  });

  it("records one matmul and no transpose: the operand is read transposed, not copied", () => {
    const a = randn([64, 32], { requiresGrad: true });
    const b = randn([48, 32], { requiresGrad: true });
    resetKernelStats();
    const { tape } = record(() => matmul(a, b, { transposeB: true }));
    expect(tape.nodes.map((n) => n.op)).toEqual(["leaf", "leaf", "matmul"]);
    const stats = kernelStats();
    expect(stats.js + stats.wasm).toBe(1);
  });

  it("names the flags and shapes when the inner dimensions differ", () => {
    const a = randn([8, 784]);
    const b = randn([30, 10]);
    expect(() => matmul(a, b, { transposeA: true })).toThrow(ShapeError);
    expect(() => matmul(a, b, { transposeA: true })).toThrow(
      "matmul: inner dimensions differ: [8, 784]ᵀ x [30, 10] (8 != 30)",
    );
  });

  it("rejects a flag on a 1-D operand and flags that are not booleans", () => {
    expect(() => matmul(randn([3]), randn([3, 2]), { transposeA: true })).toThrow(
      "matmul: transposeA needs an operand of at least 2 dimensions, got shape [3]",
    );
    expect(() => matmul(randn([2, 3]), randn([3, 2]), { transposeB: 1 as unknown as boolean })).toThrow(
      ValueError,
    );
    expect(() => matmul(randn([2, 3]), randn([3, 2]), null as unknown as object)).toThrow(
      "matmul: options must be an object",
    );
  });
});
