import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Tensor } from "@tapegrad/autograd";
import * as ag from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";
import { maxRelDiff } from "../support/reference.js";

/**
 * The issue-10 ops against PyTorch 1.13 (float64): values and the gradient of sum(output · cotangent)
 * for prod with zeros, norms at their kinks, var/std with both corrections, sort/topk with ties and
 * NaN, cumsum, einsum specs and the new elementwise functions. Fixture: test/fixtures/torch/ops_misc.json,
 * written by gen_ops_misc.py beside it.
 */

interface Encoded {
  shape: number[];
  data: (number | null)[];
}

interface TorchCase {
  name: string;
  op: string;
  args: Record<string, unknown>;
  inputs: Encoded[];
  output: Encoded;
  cotangent?: Encoded;
  grads?: Encoded[];
  indices?: number[];
}

const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, "../fixtures/torch/ops_misc.json"), "utf8"),
) as { cases: TorchCase[] };

const decode = (e: Encoded): Tensor =>
  ag.tensor(
    Float64Array.from(e.data, (v) => (v === null ? Number.NaN : v)),
    { shape: e.shape },
  );

function run(c: TorchCase, xs: Tensor[]): Tensor {
  const a = c.args;
  const axis = a.axis as number | undefined;
  switch (c.op) {
    case "prod":
      return ag.prod(xs[0], axis);
    case "norm":
      return ag.norm(
        xs[0],
        a.p === "inf" ? Number.POSITIVE_INFINITY : (a.p as number),
        axis,
        a.keepdims === true,
      );
    case "var":
      return ag.var(xs[0], axis, { correction: a.correction as number });
    case "std":
      return xs[0].std(axis, { correction: a.correction as number, keepdims: a.keepdims === true });
    case "sort":
      return ag.sort(xs[0], axis, { descending: a.descending as boolean }).values;
    case "topk":
      return xs[0].topk(a.k as number, axis, { largest: a.largest as boolean }).values;
    case "cumsum":
      return ag.cumsum(xs[0], axis);
    case "einsum":
      return ag.einsum(a.spec as string, ...xs);
    case "sin":
      return xs[0].sin();
    case "cos":
      return xs[0].cos();
    case "log1p":
      return xs[0].log1p();
    case "expm1":
      return xs[0].expm1();
    default:
      throw new Error(`no runner for ${c.op}`);
  }
}

describe("issue-10 ops agree with PyTorch (float64 fixture)", () => {
  it("the fixture covers the cases the issue names", () => {
    const ops = new Set(fixture.cases.map((c) => c.op));
    for (const op of ["prod", "norm", "var", "std", "sort", "topk", "cumsum", "einsum"])
      expect(ops).toContain(op);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const xs = c.inputs.map(decode);
    const y = run(c, xs);
    expect([...y.shape]).toEqual(c.output.shape);
    expect(maxRelDiff(y.data, decode(c.output).data, 1e-12)).toBeLessThan(1e-12);
    if (c.indices !== undefined) {
      const { indices } = ag.sort(xs[0], c.args.axis as number, { descending: c.args.descending as boolean });
      expect(Array.from(indices.data)).toEqual(c.indices);
    }
    if (c.grads !== undefined && c.cotangent !== undefined) {
      const ct = decode(c.cotangent);
      const gs = ag.grads((...ts) => run(c, ts).mul(ct).sum())(...xs);
      c.grads.forEach((g, i) => {
        const got = gs[i];
        expect(got, `gradient of input ${i}`).not.toBeNull();
        expect(maxRelDiff((got as Tensor).data, decode(g).data, 1e-12)).toBeLessThan(1e-10);
      });
    }
  });
});
