import * as ag from "@tapegrad/autograd";
import { type Tensor, tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mapN, maxRelDiff, reduceRef, size } from "../support/reference.js";

/** Shapes of rank 0-3 whose dims include 0 and 1, the edge cases of broadcasting. */
const dim = fc.integer({ min: 0, max: 3 });
const shapeArb = fc.array(dim, { minLength: 0, maxLength: 3 });

/** Two shapes that broadcast, drawn from one output shape by dropping leading dims and setting some to 1. */
const pair = shapeArb.chain((out) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: out.length }),
      fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
    )
    .map(([drop, ones]) => [out, out.map((d, i) => (ones[i] ? 1 : d)).slice(drop)] as const),
);

function filled(shape: readonly number[], seed: number): Tensor {
  const n = size(shape);
  return tensor(
    Float64Array.from({ length: n }, (_, i) => Math.sin(seed * 7 + i * 1.3) + 0.1),
    { shape: shape as number[] },
  );
}

describe("review: every dims pattern with 0 and 1 (size-0 and broadcast dims)", () => {
  it("binary ops match the reference and their gradients have the input shapes", () => {
    fc.assert(
      fc.property(pair, fc.boolean(), ([sa, sb], swap) => {
        const [s1, s2] = swap ? [sb, sa] : [sa, sb];
        const a = filled(s1, 1);
        const b = filled(s2, 2);
        const y = ag.mul(a, b).add(a);
        const ref = mapN(
          (u, v) => u * v + u,
          [
            { data: a.data, shape: s1 },
            { data: b.data, shape: s2 },
          ],
        );
        expect([...y.shape]).toEqual([...ref.shape]);
        expect(maxRelDiff(y.data, ref.data)).toBeLessThan(1e-14);
        const [ga, gb] = ag.grads((p: Tensor, q: Tensor) => ag.mul(p, q).add(p).sum())(a, b);
        expect([...ga!.shape]).toEqual(s1);
        expect([...gb!.shape]).toEqual(s2);
        // d/dq Σ p·q = Σ over the broadcast dims of p
        const gbRef = ag.broadcastTo(a, ref.shape).sum().item();
        expect(gb!.sum().item()).toBeCloseTo(gbRef, 10);
      }),
      { seed: 11, numRuns: 150 },
    );
  });

  it("where broadcasts cond, a and b of any pattern", () => {
    fc.assert(
      fc.property(pair, pair, ([sc, sa], [, sb]) => {
        const c = filled(sc, 3).greater(0.5);
        const a = filled(sa, 4);
        let b: Tensor;
        try {
          ag.broadcastShapes(ag.broadcastShapes(sc, sa), sb);
          b = filled(sb, 5);
        } catch {
          b = filled([], 5);
        }
        const y = ag.where(c, a, b);
        const ref = mapN(
          (cv, av, bv) => (cv !== 0 ? av : bv),
          [
            { data: c.data, shape: c.shape },
            { data: a.data, shape: a.shape },
            { data: b.data, shape: b.shape },
          ],
        );
        expect([...y.shape]).toEqual([...ref.shape]);
        expect(Array.from(y.data)).toEqual(Array.from(ref.data));
        const [ga, gb] = ag.grads((p: Tensor, q: Tensor) => ag.where(c, p, q).sum())(a, b);
        expect(ga === null ? 0 : ga.sum().item()).toBe(ag.broadcastTo(c, y.shape).sum().item());
        expect(gb === null ? 0 : gb.sum().item()).toBe(y.size - ag.broadcastTo(c, y.shape).sum().item());
      }),
      { seed: 12, numRuns: 100 },
    );
  });

  it("sum and mean over any axes (with keepdims) match the reference; gradients have the input shape", () => {
    fc.assert(
      fc.property(
        shapeArb.chain((s) =>
          fc.tuple(fc.constant(s), fc.subarray(s.map((_, i) => i)), fc.boolean(), fc.boolean()),
        ),
        ([s, axes, keepdims, negative]) => {
          const x = filled(s, 6);
          const ax = negative ? axes.map((a) => a - s.length) : axes;
          const y = x.sum(ax, keepdims);
          const ref = reduceRef(x.data, s, axes, keepdims, (v) => v.reduce((p, q) => p + q, 0));
          expect([...y.shape]).toEqual([...ref.shape]);
          expect(maxRelDiff(y.data, ref.data)).toBeLessThan(1e-12);
          const g = ag.grad((t: Tensor) => t.sum(ax, keepdims).sum())(x);
          expect([...g!.shape]).toEqual(s);
          expect(Array.from(g!.data).every((v) => v === 1)).toBe(true);
          const count = axes.reduce((p, a) => p * s[a], 1);
          if (count > 0) {
            const m = x.mean(ax, keepdims);
            expect(
              maxRelDiff(
                m.data,
                Array.from(ref.data, (v) => v / count),
              ),
            ).toBeLessThan(1e-12);
          }
        },
      ),
      { seed: 13, numRuns: 150 },
    );
  });

  it("matmul with any of m, k, n (and a batch dim) equal to 0", () => {
    fc.assert(
      fc.property(dim, dim, dim, fc.integer({ min: 0, max: 2 }), (m, k, n, batch) => {
        const a = filled(batch === 0 ? [m, k] : [batch, m, k], 7);
        const b = filled([k, n], 8);
        const y = a.matmul(b);
        expect([...y.shape]).toEqual(batch === 0 ? [m, n] : [batch, m, n]);
        if (k === 0) expect(Array.from(y.data).every((v) => v === 0)).toBe(true);
        const [ga, gb] = ag.grads((p: Tensor, q: Tensor) => p.matmul(q).sum())(a, b);
        expect([...ga!.shape]).toEqual([...a.shape]);
        expect([...gb!.shape]).toEqual([k, n]);
      }),
      { seed: 14, numRuns: 80 },
    );
  });

  it("concat and stack with empty parts, slice to nothing, gather with no indices", () => {
    const a = filled([2, 3], 9);
    const e = filled([0, 3], 10);
    expect(ag.concat([e, a, e]).toArray()).toEqual(a.toArray());
    const g = ag.grads((p: Tensor, q: Tensor) => ag.concat([p, q]).square().sum())(e, a);
    expect(g[0]?.shape).toEqual([0, 3]);
    expect(ag.stack([e, e], 1).shape).toEqual([0, 2, 3]);
    expect(a.slice(1, 2, 2).shape).toEqual([2, 0]);
    expect(
      ag
        .grad((t: Tensor) => t.slice(0, 5).sum())(a)
        ?.toArray(),
    ).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(a.gather([], 1).shape).toEqual([2, 0]);
    expect(ag.grad((t: Tensor) => t.gather([], 0).sum())(a)?.shape).toEqual([2, 3]);
  });
});
