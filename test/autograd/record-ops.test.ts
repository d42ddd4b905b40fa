import { leakyRelu, randn, record, softmax, sort, type Tensor } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

describe("record: what each node computed (tape.op, tape.tensor, tape.indexOf)", () => {
  it("primitives come with their parameters and tensors; leaves are the tensors that entered", () => {
    const x = randn([2, 3], { seed: 1 });
    const w = randn([3, 4], { seed: 2 });
    const { value, tape } = record(() => x.matmul(w, { transposeB: false }).sum([1], true));
    const ops = tape.nodes.map((_, i) => tape.op(i));
    expect(ops.map((o) => (o.kind === "primitive" ? o.primitive : o.kind))).toEqual([
      "leaf",
      "leaf",
      "matmul",
      "sum",
    ]);
    const sum = ops[3];
    expect(sum.kind === "primitive" && sum.primitive === "sum" ? sum.params : null).toEqual({
      axes: [1],
      keepdims: true,
    });
    expect(tape.tensor(0)).toBe(x);
    expect(tape.tensor(1)).toBe(w);
    expect(tape.tensor(3)).toBe(value);
    expect(tape.indexOf(value)).toBe(3);
    expect(tape.indexOf(randn([1]))).toBe(-1);
    expect(() => tape.op(9)).toThrow(RangeError);
  });

  it("non-differentiable ops are recorded only when asked, and then connect masks to their inputs", () => {
    const x = randn([4], { seed: 3 });
    const f = (): Tensor[] => [leakyRelu(x, 0.1), softmax(x), sort(x).values];
    const plain = record(f).tape;
    const full = record(f, { nonDifferentiable: true }).tape;
    const names = (t: typeof plain): string[] =>
      t.nodes.map((_, i) => {
        const o = t.op(i);
        return o.kind === "leaf" ? "leaf" : o.kind === "primitive" ? o.primitive : `(${o.op})`;
      });
    expect(names(plain).some((n) => n.startsWith("("))).toBe(false);
    const extra = names(full).filter((n) => n.startsWith("("));
    expect(extra).toEqual(["(greater)", "(detach)", "(argsort)"]);
    // the mask of leakyRelu is now the output of a node that reads x, not a free-standing constant
    const where = full.nodes.find((n) => n.op === "where")!;
    const mask = full.nodes[where.inputs[0]];
    expect(mask.op).toBe("greater");
    expect(mask.inputs[0]).toBe(full.indexOf(x));
  });
});
