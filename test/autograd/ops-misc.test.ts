import * as ag from "@tapegrad/autograd";
import { gradcheck, gradgradcheck, ShapeError, type Tensor, tensor, ValueError } from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { einsumRef, maxRelDiff } from "../support/reference.js";

/**
 * Properties of the issue-10 ops that the op table cannot state: exact zeros in prod, stability and
 * NaN order of sort, which tied entry topk takes, index validation, einsum's spec handling and errors,
 * and the errors of the rearranging ops.
 */

const f64 = (data: number[], shape?: number[]): Tensor =>
  tensor(Float64Array.from(data), { shape: shape ?? [data.length] });
const i32 = (data: number[], shape?: number[]): Tensor =>
  tensor(Int32Array.from(data), { shape: shape ?? [data.length] });

describe("prod with exact zeros", () => {
  // Lines with no zero, one zero and two zeros: the gradient is the product of the other entries.
  const x = f64([1.5, -2, 0.5, 3, 2, 0, -1.5, 0.5, 0, 1.5, 0, 2], [3, 4]);

  it("its gradient is the product of the other entries, zeros included", () => {
    const g = ag.grad((t: Tensor) => ag.prod(t, 1).sum())(x) as Tensor;
    const expected = Array.from(x.data, (_, i) => {
      const row = Math.floor(i / 4);
      let others = 1;
      for (let j = 0; j < 4; j++) if (row * 4 + j !== i) others *= x.data[row * 4 + j];
      return others + 0; // no signed zeros in the comparison
    });
    // zeros where a line has two zeros, the product of the rest at a line's single zero
    expect(expected.slice(4, 8)).toEqual([0, -1.5, 0, 0]);
    expect(expected.slice(8)).toEqual([0, 0, 0, 0]);
    expect(Array.from(g.data, (v) => v + 0)).toEqual(expected);
  });

  it("passes gradcheck with one and with several zeros per line, and over all axes", () => {
    for (const axis of [0, 1, undefined]) {
      const r = gradcheck((t) => ag.prod(t, axis), [x]);
      expect(r.ok, JSON.stringify(r)).toBe(true);
    }
  });

  it("passes gradgradcheck with none, one, two and three zeros per line", () => {
    const lines = f64([1.5, -2, 0.5, 3, 2, 0, -1.5, 0.5, 0, 1.5, 0, 2, 0, 0, 0.5, 0], [4, 4]);
    for (const axis of [0, 1, undefined]) {
      const r = gradgradcheck((t) => ag.prod(t, axis), [lines]);
      expect(r.ok, `axis ${axis}: ${JSON.stringify(r)}`).toBe(true);
    }
  });

  it("an empty product is 1 and int32 products stay int32", () => {
    expect(Array.from(ag.prod(ag.zeros([2, 0]), 1).data)).toEqual([1, 1]);
    const p = ag.prod(i32([2, 3, -4]));
    expect(p.dtype).toBe("int32");
    expect(p.item()).toBe(-24);
  });
});

describe("norm", () => {
  it("has gradient 0 at the zero vector for p = 2 and general p, and finite second derivatives", () => {
    for (const p of [2, 3, 0.5, 1, Number.POSITIVE_INFINITY]) {
      const g = ag.grad((t: Tensor) => ag.norm(t, p))(ag.zeros([3], { dtype: "float64" })) as Tensor;
      expect(Array.from(g.data), `p = ${p}`).toEqual([0, 0, 0]);
    }
    const h = ag.grad((t: Tensor) => (ag.grad((u: Tensor) => ag.norm(u))(t) as Tensor).sum());
    const x = ag.zeros([3], { dtype: "float64" });
    x.requiresGrad = true;
    expect(Array.from((h(x) as Tensor).data).every(Number.isFinite)).toBe(true);
  });

  it("p = 0 counts nonzeros; a negative or NaN p is an error naming norm", () => {
    expect(ag.norm(f64([0, 2, -1, 0]), 0).item()).toBe(2);
    expect(() => ag.norm(f64([1]), -1)).toThrow(ValueError);
    expect(() => ag.norm(f64([1]), Number.NaN)).toThrow(/norm: p must be/);
  });
});

describe("var and std", () => {
  it("divide by max(0, N − correction) as torch does: one element with correction 1 gives NaN", () => {
    expect(Number.isNaN(ag.var(f64([3])).item())).toBe(true);
    expect(ag.var(f64([3]), undefined, { correction: 0 }).item()).toBe(0);
    expect(ag.var(f64([1, 3]), undefined, { correction: 2 }).item()).toBe(Number.POSITIVE_INFINITY);
  });

  it("reject a bad correction, empty input and int32, naming the op", () => {
    expect(() => ag.var(f64([1, 2]), 0, { correction: -1 })).toThrow(/var: correction/);
    expect(() => ag.std(ag.zeros([0]))).toThrow(/std: cannot take the variance of zero elements/);
    expect(() => ag.var(i32([1, 2]))).toThrow(/var: expected a float32 or float64 tensor/);
  });

  it("float32 std does not overflow where the deviations fit (torch: std([1e30, -1e30]) = 1.4142e30)", () => {
    const x = tensor(Float32Array.from([1e30, -1e30]), { requiresGrad: true });
    const s = ag.std(x);
    expect(s.dtype).toBe("float32");
    expect(s.item() / 1e30).toBeCloseTo(Math.SQRT2, 5);
    s.backward();
    const g = x.grad?.toArray() as number[];
    // d std / d x_i = (x_i − mean) / ((N − 1)·std) = ±1/√2
    expect(g[0]).toBeCloseTo(Math.SQRT1_2, 5);
    expect(g[1]).toBeCloseTo(-Math.SQRT1_2, 5);
    expect(ag.std(tensor(Float32Array.from([3e38, -3e38]))).item()).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("sort, argsort, topk", () => {
  const x = f64([3, 1, 3, 2, 1, 3]);

  it("sort is stable in both directions and puts NaN last ascending, first descending", () => {
    expect(Array.from(ag.argsort(x).data)).toEqual([1, 4, 3, 0, 2, 5]);
    expect(Array.from(ag.argsort(x, -1, { descending: true }).data)).toEqual([0, 2, 5, 3, 1, 4]);
    const withNaN = f64([2, Number.NaN, -1, Number.NaN, 0]);
    expect(Array.from(withNaN.argsort().data)).toEqual([2, 4, 0, 1, 3]);
    expect(Array.from(withNaN.argsort(0, { descending: true }).data)).toEqual([1, 3, 0, 4, 2]);
  });

  it("argsort of long lines with ties and NaN equals a stable comparator sort (property)", () => {
    // Lines longer than the kernel's insertion-sort runs, so the merges are exercised too.
    const value = fc.oneof(
      fc.integer({ min: -5, max: 5 }),
      fc.constant(Number.NaN),
      fc.double({ noNaN: true }),
    );
    fc.assert(
      fc.property(
        // an explicit length: fast-check's own array sizes stay too short to need a merge
        fc.integer({ min: 0, max: 120 }).chain((n) => fc.array(value, { minLength: n, maxLength: n })),
        fc.boolean(),
        (values, descending) => {
          const rank = (v: number) => (Number.isNaN(v) ? Number.POSITIVE_INFINITY : v);
          const expected = values
            .map((_, i) => i)
            .sort((a, b) => {
              const va = rank(values[a]);
              const vb = rank(values[b]);
              const nanA = Number.isNaN(values[a]);
              const nanB = Number.isNaN(values[b]);
              let c = nanA || nanB ? Number(nanA) - Number(nanB) : va < vb ? -1 : va > vb ? 1 : 0;
              if (descending) c = -c;
              return c !== 0 ? c : a - b;
            });
          expect(Array.from(ag.argsort(f64(values), 0, { descending }).data)).toEqual(expected);
        },
      ),
      { seed: 11, numRuns: 60 },
    );
  });

  it("sorted values are x taken at the indices, for any axis (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 12, maxLength: 12 }),
        fc.constantFrom(0, 1, 2),
        fc.boolean(),
        (values, axis, descending) => {
          const t = f64(values, [2, 3, 2]);
          const { values: v, indices } = t.sort(axis, { descending });
          expect(Array.from(ag.takeAlongAxis(t, indices, axis).data)).toEqual(Array.from(v.data));
          // ordered along the axis, ties by index
          const sorted = ag.sort(v, axis, { descending });
          expect(Array.from(sorted.values.data)).toEqual(Array.from(v.data));
        },
      ),
      { seed: 10, numRuns: 30 },
    );
  });

  it("topk takes the earliest of tied entries and its gradient goes to them", () => {
    const { values, indices } = x.topk(2);
    expect(Array.from(values.data)).toEqual([3, 3]);
    expect(Array.from(indices.data)).toEqual([0, 2]);
    const g = ag.grad((t: Tensor) => t.topk(2).values.sum())(x) as Tensor;
    expect(Array.from(g.data)).toEqual([1, 0, 1, 0, 0, 0]);
    expect(Array.from(x.topk(2, 0, { largest: false }).indices.data)).toEqual([1, 4]);
  });

  it("topk rejects k outside [0, n] with the shape in the message", () => {
    expect(() => x.topk(7)).toThrow(/topk: k must be an integer from 0 to 6 .*\[6\]/);
    expect(() => x.topk(1.5)).toThrow(ValueError);
  });
});

describe("takeAlongAxis and scatterAddAlongAxis", () => {
  const x = f64([1, 2, 3, 4, 5, 6], [2, 3]);

  it("follow torch.gather, with negative indices from the end and smaller index shapes", () => {
    const out = ag.takeAlongAxis(x, i32([2, -3, 1, 1], [2, 2]), 1);
    expect(out.toArray()).toEqual([
      [3, 1],
      [5, 5],
    ]);
    const small = ag.takeAlongAxis(x, i32([1, 0], [1, 2]), 0);
    expect(small.toArray()).toEqual([[4, 2]]);
    const back = ag.scatterAddAlongAxis(f64([1, 1, 1, 1], [2, 2]), i32([0, 0, 2, 2], [2, 2]), 1, [2, 3]);
    expect(back.toArray()).toEqual([
      [2, 0, 0],
      [0, 0, 2],
    ]);
  });

  it("reject bad indices with errors naming the op, the shapes and the bad value", () => {
    expect(() => ag.takeAlongAxis(x, f64([0, 1], [1, 2]), 1)).toThrow(
      /takeAlongAxis: indices must be an int32 tensor/,
    );
    expect(() => ag.takeAlongAxis(x, i32([0, 1]), 1)).toThrow(ShapeError);
    expect(() => ag.takeAlongAxis(x, i32([0, 1]), 1)).toThrow(/rank of \[2, 3\]/);
    expect(() => ag.takeAlongAxis(x, i32([0, 0, 0, 0], [4, 1]), 1)).toThrow(/exceed \[2, 3\] in dimension 0/);
    expect(() => ag.takeAlongAxis(x, i32([3], [1, 1]), 1)).toThrow(
      /index 3 .* out of range for axis 1 of size 3/,
    );
    expect(() => ag.scatterAddAlongAxis(f64([1, 2]), i32([0], [1]), 0, [3])).toThrow(
      /scatterAddAlongAxis: src of shape \[2\] must have the shape of indices \[1\]/,
    );
  });
});

describe("einsum", () => {
  const specs: [string, number[][], string][] = [
    [
      "ij,jk->ik",
      [
        [2, 3],
        [3, 4],
      ],
      "ij,jk->ik",
    ],
    [
      "ij,jk",
      [
        [2, 3],
        [3, 4],
      ],
      "ij,jk->ik",
    ],
    [
      "ba,ca",
      [
        [3, 2],
        [4, 2],
      ],
      "ba,ca->bc",
    ],
    [
      "Ab,bc",
      [
        [2, 2],
        [2, 3],
      ],
      "Ab,bc->Ac",
    ],
    ["ii", [[3, 3]], "ii->"],
    ["ii->i", [[3, 3]], "ii->i"],
    ["iij->ji", [[2, 2, 3]], "iij->ji"],
    [
      "ij,ij->",
      [
        [2, 3],
        [2, 3],
      ],
      "ij,ij->",
    ],
    [
      "bij,bjk->bik",
      [
        [2, 2, 3],
        [2, 3, 2],
      ],
      "bij,bjk->bik",
    ],
    [
      "bij,jk->bik",
      [
        [2, 2, 3],
        [3, 2],
      ],
      "bij,jk->bik",
    ],
    ["i,i,i->i", [[3], [3], [3]], "i,i,i->i"],
    [
      "ij,jk,kl->li",
      [
        [2, 3],
        [3, 2],
        [2, 3],
      ],
      "ij,jk,kl->li",
    ],
    [
      "...i,...i->...",
      [
        [2, 3, 4],
        [3, 4],
      ],
      "xyi,yi->xy",
    ],
    ["...ij->...ji", [[2, 1, 3]], "xij->xji"],
    ["ij...->j", [[2, 3, 2]], "ijx->j"],
    [
      " i j , j k -> i k ",
      [
        [2, 3],
        [3, 2],
      ],
      "ij,jk->ik",
    ],
  ];

  it.each(specs)("%s matches the brute-force definition and its gradients (twice)", (spec, shapes, ref) => {
    let seed = 1;
    const xs = shapes.map((s) => {
      const n = s.reduce((a, b) => a * b, 1);
      return f64(
        Array.from({ length: n }, () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 4 - 2),
        s,
      );
    });
    const y = ag.einsum(spec, ...xs);
    const expected = einsumRef(ref, ...xs.map((t) => ({ data: t.data, shape: t.shape })));
    expect([...y.shape]).toEqual(expected.shape);
    expect(maxRelDiff(y.data, expected.data, 1e-9)).toBeLessThan(1e-12);
    expect(gradcheck((...t) => ag.einsum(spec, ...t), xs).ok).toBe(true);
    expect(gradgradcheck((...t) => ag.einsum(spec, ...t), xs).ok).toBe(true);
  });

  it("mixes float32 and float64 into float64", () => {
    const y = ag.einsum("i,i->", tensor([1, 2], { dtype: "float32" }), f64([3, 4]));
    expect(y.dtype).toBe("float64");
    expect(y.item()).toBe(11);
  });

  it("bad specs are errors naming einsum and the spec", () => {
    const a = f64([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = f64([1, 2, 3], [3]);
    const cases: [() => unknown, RegExp][] = [
      [
        () => ag.einsum("ij,jk->ik", a),
        /einsum: 2 operand term\(s\) but 1 tensor\(s\) were given in spec 'ij,jk->ik'/,
      ],
      [() => ag.einsum("ijk", a), /einsum: operand 0 has shape \[2, 3\] .* 3 label\(s\) in spec 'ijk'/],
      [() => ag.einsum("i1", a), /einsum: '1' is not a letter/],
      [() => ag.einsum("ij,i->j", a, b), /einsum: label 'i' has size 2 in one operand and 3 in another/],
      [
        () => ag.einsum("ij->k", a),
        /einsum: output label 'k' does not appear in any operand in spec 'ij->k'/,
      ],
      [() => ag.einsum("ij->ii", a), /einsum: output label 'i' appears more than once/],
      [() => ag.einsum("...i...", a), /einsum: '...i...' has more than one ellipsis/],
      [() => ag.einsum("ij->i->j", a), /einsum: more than one '->'/],
    ];
    for (const [f, message] of cases) {
      expect(f).toThrow(ValueError);
      expect(f).toThrow(message);
    }
    expect(() => ag.einsum("i", i32([1]))).toThrow(/einsum: expected a float32 or float64 tensor/);
  });
});

describe("rearranging ops", () => {
  const x = f64([0, 1, 2, 3, 4, 5], [2, 3]);

  it("split by count needs an even division; by sizes they must add up", () => {
    expect(ag.split(x, 3, 1).map((p) => p.toArray())).toEqual([
      [[0], [3]],
      [[1], [4]],
      [[2], [5]],
    ]);
    expect(() => ag.split(x, 2, 1)).toThrow(
      /split: axis 1 of \[2, 3\] \(size 3\) cannot be split into 2 equal parts/,
    );
    expect(() => x.split([1, 1], 1)).toThrow(
      /split: sizes \[1,1\] add up to 2, but axis 1 of \[2, 3\] has size 3/,
    );
    expect(() => x.split(0)).toThrow(ValueError);
  });

  it("chunk gives ceil-sized parts and possibly fewer than n", () => {
    expect(
      f64([1, 2, 3, 4, 5, 6])
        .chunk(4)
        .map((p) => p.size),
    ).toEqual([2, 2, 2]);
    expect(() => x.chunk(0)).toThrow(/chunk: n must be an integer >= 1/);
  });

  it("flip, roll and the triangles", () => {
    expect(x.flip().toArray()).toEqual([
      [5, 4, 3],
      [2, 1, 0],
    ]);
    expect(x.roll([1, -1], [0, 1]).toArray()).toEqual([
      [4, 5, 3],
      [1, 2, 0],
    ]);
    expect(x.roll(2).toArray()).toEqual([
      [4, 5, 0],
      [1, 2, 3],
    ]);
    expect(x.tril(-1).toArray()).toEqual([
      [0, 0, 0],
      [3, 0, 0],
    ]);
    expect(x.triu(1).toArray()).toEqual([
      [0, 1, 2],
      [0, 0, 5],
    ]);
    expect(() => f64([1, 2]).tril()).toThrow(/tril: expected a tensor of at least 2 dimensions.*\[2\]/);
    expect(() => x.roll([1, 2], 0)).toThrow(/roll: shift \[1,2\] and axis 0 must have the same length/);
  });

  it("a strided slice takes every step-th entry; a bad step is an error naming slice", () => {
    const r = f64([0, 1, 2, 3, 4, 5, 6]);
    expect(Array.from(r.slice(0, 1, undefined, 3).data)).toEqual([1, 4]);
    expect(Array.from(r.slice(0, -3, undefined, 2).data)).toEqual([4, 6]);
    expect(r.slice(0, 5, 2, 2).size).toBe(0);
    expect(() => r.slice(0, 0, 7, 0)).toThrow(/slice: step must be an integer >= 1, got 0/);
    expect(() => r.slice(0, 0, 7, -1)).toThrow(ValueError);
  });

  it("int32 tensors flip, sort, cumsum and take along axes without a graph", () => {
    const t = i32([3, 1, 2]);
    expect(Array.from(t.flip().data)).toEqual([2, 1, 3]);
    expect(Array.from(t.sort().values.data)).toEqual([1, 2, 3]);
    expect(Array.from(t.cumsum().data)).toEqual([3, 4, 6]);
    expect(t.cumsum().dtype).toBe("int32");
  });
});

describe("cumsum in float32", () => {
  it("accumulates in float64 (as torch's CPU cumsum): 1 + 1e-8·k keeps its small terms", () => {
    // In float32, 1 + 1e-8 rounds to 1; a float32 running sum would never grow past 1.
    const n = 1000;
    const data = new Float32Array(n).fill(1e-8);
    data[0] = 1;
    const c = tensor(data, { shape: [n] }).cumsum(0);
    expect(c.data[n - 1]).toBe(Math.fround(1 + (n - 1) * Math.fround(1e-8)));
    expect(c.data[n - 1]).toBeGreaterThan(1);
  });
});
