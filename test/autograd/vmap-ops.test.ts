import * as ag from "@tapegrad/autograd";
import { primitiveNames, type Tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxRelDiff, size } from "../support/reference.js";
import { type Case, type Domain, type OpInfo, opTable } from "./op-table.js";

/**
 * vmap against a loop, for every op of the op table (so every primitive, and every op added to the
 * table later): vmap(f)(xs) equals stacking f(x) over the examples, with random batch axes (negative
 * ones too), unbatched (null) inputs and random output axes; and the same for vmap of the op's
 * gradient, which runs the batching rules of every primitive its vjp uses.
 */

interface Draw {
  c: Case;
  batch: number;
  inAxes: (number | null)[];
  outAxis: number;
  units: number[];
}

const draw = (info: OpInfo): fc.Arbitrary<Draw> =>
  info.cases.chain((c) => {
    const total = c.shapes.reduce((n, s) => n + size(s), 0);
    return fc.record({
      c: fc.constant(c),
      batch: fc.integer({ min: 1, max: 3 }),
      inAxes: fc.tuple(
        ...c.shapes.map((s) =>
          fc.option(fc.integer({ min: -(s.length + 1), max: s.length }), { nil: null, freq: 3 }),
        ),
      ),
      outAxis: fc.nat(),
      units: fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), {
        minLength: total * 3,
        maxLength: total * 3,
      }),
    });
  });

function place(u: number, d: Domain): number {
  let x = d.min + u * (d.max - d.min);
  for (const kink of d.kinks ?? []) {
    const gap = d.gap ?? 0.05;
    if (Math.abs(x - kink) < gap) x = x < kink ? kink - gap : kink + gap;
  }
  return x;
}

/** Per-example inputs: example b of input i, inside the op's domain (tie-free per example if the op needs it). */
function examples(info: OpInfo, d: Draw): Tensor[][] {
  const total = d.c.shapes.reduce((n, s) => n + size(s), 0);
  const out: Tensor[][] = [];
  for (let b = 0; b < d.batch; b++) {
    let us = d.units.slice(b * total, (b + 1) * total);
    if (info.distinct) {
      const order = us.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
      us = new Array<number>(total);
      order.forEach(([, i], rank) => {
        us[i] = (rank + 0.5) / total;
      });
    }
    let k = 0;
    out.push(
      d.c.shapes.map((shape, i) => {
        const domain = Array.isArray(info.domain) ? info.domain[i] : info.domain;
        const vals = Array.from({ length: size(shape) }, () => place(us[k++], domain));
        return new ag.Tensor(Float64Array.from(vals), shape);
      }),
    );
  }
  return out;
}

/** The arguments vmap gets: batched inputs stacked along their axis, unbatched ones from example 0. */
function batchedInputs(per: Tensor[][], inAxes: (number | null)[]): Tensor[] {
  return inAxes.map((axis, i) =>
    axis === null
      ? per[0][i]
      : ag.stack(
          per.map((ex) => ex[i]),
          axis,
        ),
  );
}

/** The examples the loop should see: an unbatched input is example 0's for all of them. */
function loopInputs(per: Tensor[][], inAxes: (number | null)[], b: number): Tensor[] {
  return inAxes.map((axis, i) => (axis === null ? per[0][i] : per[b][i]));
}

function withBatched(d: Draw): (number | null)[] {
  return d.inAxes.every((a) => a === null) ? [0, ...d.inAxes.slice(1)] : d.inAxes;
}

function expectClose(got: Tensor, want: Tensor, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  expect(maxRelDiff(got.data, want.data), what).toBeLessThan(1e-9);
}

ag.resetVmapStats();

describe.each(opTable.map((info) => [info.name, info] as const))("vmap: op %s", (_name, info) => {
  it("vmap(f)(xs) equals f stacked over the examples (random inAxes, null inputs, outAxes)", () => {
    fc.assert(
      fc.property(draw(info), (d) => {
        const inAxes = withBatched(d);
        const per = examples(info, d);
        const f = (...xs: Tensor[]): Tensor => info.fn(d.c.args, ...xs);
        const loop = per.map((_, b) => f(...loopInputs(per, inAxes, b)));
        const outAxis = d.outAxis % (loop[0].ndim + 1);
        const want = ag.stack(loop, outAxis);
        const got = ag.vmap(f, { inAxes, outAxes: outAxis })(...batchedInputs(per, inAxes));
        expectClose(got, want, `inAxes ${JSON.stringify(inAxes)}, outAxes ${outAxis}`);
      }),
      { seed: 1100, numRuns: 12 },
    );
  });

  it("vmap(vmap(f)) equals a double loop (each level batches its own inputs, on its own axes)", () => {
    fc.assert(
      fc.property(draw(info), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), (d, inner) => {
        const inAxes = withBatched(d);
        const outer = d.batch;
        // examples(info, d) gives `outer` examples; the inner level reuses them shifted (2 per outer).
        const per = examples(info, d);
        const at = (i: number, j: number): Tensor[] => per[(i + j) % outer];
        // Inner axes: 0 or null for each input, at least one batched.
        const innerAxes: (number | null)[] = inAxes.map((_, k) => (inner[k % inner.length] ? 0 : null));
        if (!innerAxes.some((a) => a !== null)) innerAxes[0] = 0;
        const f = (...xs: Tensor[]): Tensor => info.fn(d.c.args, ...xs);
        // Argument k: inner examples stacked on axis 0 (if batched inside), then outer ones on inAxes[k].
        const args = inAxes.map((axis, k) => {
          const innerStack = (i: number): Tensor =>
            innerAxes[k] === null ? at(i, 0)[k] : ag.stack([at(i, 0)[k], at(i, 1)[k]], 0);
          return axis === null
            ? innerStack(0)
            : ag.stack(
                Array.from({ length: outer }, (_, i) => innerStack(i)),
                axis,
              );
        });
        const got = ag.vmap(ag.vmap(f, { inAxes: innerAxes }), { inAxes })(...args);
        const rows = Array.from({ length: outer }, (_, i) =>
          ag.stack(
            [0, 1].map((j) =>
              f(...inAxes.map((axis, k) => at(axis === null ? 0 : i, innerAxes[k] === null ? 0 : j)[k])),
            ),
          ),
        );
        expectClose(
          got,
          ag.stack(rows),
          `inAxes ${JSON.stringify(inAxes)}, inner ${JSON.stringify(innerAxes)}`,
        );
      }),
      { seed: 1102, numRuns: 6 },
    );
  });

  it("vmap of the op's vjp equals the per-example gradients", () => {
    fc.assert(
      fc.property(draw(info), (d) => {
        const inAxes = withBatched(d);
        const per = examples(info, d);
        const n = d.c.shapes.length;
        // The cotangent u is batched too; its values come from the op's output in example 0, scaled.
        const u0 = info.fn(d.c.args, ...per[0]).detach();
        const us = per.map((_, b) => u0.mul(0.5 + 0.25 * b).add(0.1));
        const loss = (...xs: Tensor[]): Tensor =>
          info
            .fn(d.c.args, ...xs.slice(0, n))
            .mul(xs[n])
            .sum();
        const gradsOf = (...xs: Tensor[]): Tensor[] =>
          ag
            .grads(loss)(...xs)
            .slice(0, n)
            .map((g, i) => g ?? ag.zerosLike(xs[i]));
        const loop = per.map((_, b) => gradsOf(...loopInputs(per, inAxes, b), us[b]));
        const got = ag.vmap(gradsOf, { inAxes: [...inAxes, 0] })(...batchedInputs(per, inAxes), ag.stack(us));
        for (let i = 0; i < n; i++) {
          expectClose(
            got[i],
            ag.stack(loop.map((g) => g[i])),
            `input ${i}, inAxes ${JSON.stringify(inAxes)}`,
          );
        }
      }),
      { seed: 1101, numRuns: 8 },
    );
  });
});

describe("vmap coverage", () => {
  it("cast (not in the op table) batches like a loop", () => {
    const xs = ag.randn([3, 2, 4], { dtype: "float64", seed: 5 });
    const f = (x: Tensor): Tensor => x.cast("float32").mul(2).cast("float64");
    const got = ag.vmap(f, { inAxes: 1, outAxes: -1 })(xs);
    const want = ag.stack(
      [0, 1].map((b) => f(ag.slice(xs, 1, b, b + 1).squeeze(1))),
      -1,
    );
    expectClose(got, want, "cast");
  });

  it("the runs above went through every primitive's batching rule (custom: vmap-transforms.test.ts)", () => {
    // Runs after the suites above (vitest runs a file's tests in order).
    const ran = ag.vmapStats().rules;
    const missing = primitiveNames.filter((p) => p !== "custom" && (ran[p] ?? 0) === 0);
    expect(missing).toEqual([]);
  });
});
