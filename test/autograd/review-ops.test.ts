import { full, grad, ShapeError, type Tensor, tensor, where, zeros } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

const f64 = (data: number[] | number[][] | number, requiresGrad = false): Tensor =>
  tensor(data, { dtype: "float64", requiresGrad });
const empty = (shape: number[]): Tensor => zeros(shape, { dtype: "float64" });

describe("review: reductions with size-0 dimensions", () => {
  it("max/min/argmax over a non-empty axis of a tensor with an empty dimension give an empty result", () => {
    expect(empty([0, 3]).max(1).shape).toEqual([0]);
    expect(empty([0, 3]).min(-1, true).shape).toEqual([0, 1]);
    const am = empty([0, 3]).argmax(1);
    expect(am.dtype).toBe("int32");
    expect(am.shape).toEqual([0]);
    expect(empty([2, 0, 3]).argmin(2).shape).toEqual([2, 0]);
  });

  it("max/argmax over an empty axis with a non-empty result are errors naming the op and shape", () => {
    expect(() => empty([0, 3]).max(0)).toThrow(ShapeError);
    expect(() => empty([0, 3]).max(0)).toThrow(/max: .*\[0, 3\]/);
    expect(() => empty([0, 3]).argmax(0)).toThrow(/argmax: .*\[0, 3\]/);
    expect(() => empty([0, 3]).argmax()).toThrow(/argmax: .*\[0, 3\]/);
  });

  it("softmax and logSoftmax of an empty batch are empty, with an empty gradient", () => {
    for (const axis of [0, 1, -1]) {
      expect(empty([0, 3]).softmax(axis).shape).toEqual([0, 3]);
      expect(empty([0, 3]).logSoftmax(axis).shape).toEqual([0, 3]);
    }
    const g = grad((x: Tensor) => x.logSoftmax().sum())(empty([0, 10]));
    expect(g?.shape).toEqual([0, 10]);
  });

  it("logsumexp over an empty axis is log(0) = -Infinity, as in NumPy and PyTorch", () => {
    expect(empty([0, 3]).logsumexp(0).toArray()).toEqual([-Infinity, -Infinity, -Infinity]);
    expect(empty([0, 3]).logsumexp(1).shape).toEqual([0]);
    expect(empty([0]).logsumexp().item()).toBe(-Infinity);
  });

  it("a size-1 shift still works next to them (regression guard)", () => {
    expect(
      f64([[1, 2]])
        .logsumexp(1)
        .item(),
    ).toBeCloseTo(Math.log(Math.E + Math.E ** 2), 12);
  });
});

describe("review: pow at a zero base", () => {
  it("d/dx x^0 is 0 everywhere, including x = 0 (0·0^-1 would be NaN), as in PyTorch", () => {
    expect(grad((x: Tensor) => x.pow(0).sum())(f64([0, 2]))?.toArray()).toEqual([0, 0]);
  });

  it("polynomial features x^[0, 1, 2] have a finite gradient at x = 0, and second order too", () => {
    const powers = f64([0, 1, 2]);
    const poly = (x: Tensor) => x.reshape([-1, 1]).pow(powers).sum();
    expect(grad(poly)(f64([0]))?.toArray()).toEqual([1]);
    // d²/dx² (1 + x + x²) = 2
    expect(grad((x: Tensor) => grad(poly)(x)!.sum())(f64([0]))?.toArray()).toEqual([2]);
  });
});

describe("review: NaN in max/min", () => {
  it("forward propagates NaN and argmax/argmin point at the first NaN, as NumPy does", () => {
    expect(f64([1, Number.NaN, 3]).max().item()).toBeNaN();
    expect(f64([1, Number.NaN, 3]).min().item()).toBeNaN();
    expect(f64([1, Number.NaN, 3]).argmax().item()).toBe(1);
    expect(f64([Number.NaN, 5, Number.NaN]).argmin().item()).toBe(0);
  });

  it("the gradient of a NaN max/min is NaN over its slice, never silently zero (like PyTorch and JAX)", () => {
    for (const op of ["max", "min"] as const) {
      const g = grad((x: Tensor) => x[op](1).sum())(
        f64([
          [1, Number.NaN, 2],
          [3, 4, 5],
        ]),
      )!;
      const d = Array.from(g.data);
      expect(d.slice(0, 3).every(Number.isNaN)).toBe(true);
      expect(d.slice(3)).toEqual(op === "max" ? [0, 0, 1] : [1, 0, 0]);
    }
  });
});

describe("review: relu propagates NaN", () => {
  it("relu(NaN) is NaN, not 0 (a NaN activation must not vanish), and relu'(0) stays 0", () => {
    const y = f64([Number.NaN, -1, -0, 0, 2]).relu();
    expect(y.data[0]).toBeNaN();
    expect(Array.from(y.data.slice(1))).toEqual([0, 0, 0, 2]);
    expect(Object.is(y.data[2], -0)).toBe(false); // relu(-0) = +0, like max(x, 0)
    const g = grad((x: Tensor) => x.relu().sum())(f64([Number.NaN, -1, 0, 2]))!;
    // As in PyTorch (threshold_backward): the mask is x > 0 written as !(x <= 0), so NaN passes the cotangent on.
    expect(Array.from(g.data)).toEqual([1, 0, 0, 1]);
  });
});

describe("review: where with two numbers", () => {
  it("where(cond, 1, -1) takes cond's float dtype (or the default dtype for an int32 cond)", () => {
    const c = f64([1, 0, 2]);
    const y = where(c, 1, -1);
    expect(y.dtype).toBe("float64");
    expect(y.toArray()).toEqual([1, -1, 1]);
    const yi = where(tensor(new Int32Array([0, 3])), 0.5, 2);
    expect(yi.dtype).toBe("float32");
    expect(yi.toArray()).toEqual([2, 0.5]);
  });
});

describe("review: large logits", () => {
  it("logSoftmax of logits near 1e4 keeps float32 accuracy (shift first, then subtract the log-sum)", () => {
    const logits = [1e4, 0, 1e4 - 1, 1e4 - 2.5];
    const m = Math.max(...logits);
    const lse = m + Math.log(logits.reduce((s, v) => s + Math.exp(v - m), 0));
    const y = tensor(logits).logSoftmax();
    expect(y.dtype).toBe("float32");
    Array.from(y.data).forEach((v, i) => {
      expect(Math.abs(v - (logits[i] - lse))).toBeLessThan(1e-6 * Math.max(1, Math.abs(logits[i] - lse)));
    });
    const p = tensor(logits).softmax();
    expect(p.sum().item()).toBeCloseTo(1, 6);
    // The gradient of a picked log-probability is onehot - softmax.
    const g = grad((x: Tensor) => x.logSoftmax().slice(0, 0, 1).sum())(tensor(logits))!;
    Array.from(g.data).forEach((v, i) => {
      expect(v).toBeCloseTo((i === 0 ? 1 : 0) - p.data[i], 6);
    });
  });
});

describe("review: layout corner cases (0-d, 1-d, clamping, repeated indices)", () => {
  it("0-d tensors: reductions over all axes, reshape, transpose, and matmul's error", () => {
    const s = f64(3);
    for (const r of [s.sum(), s.mean(), s.max(), s.min(), s.logsumexp()]) {
      expect(r.shape).toEqual([]);
    }
    expect(s.logsumexp().item()).toBe(3);
    expect(s.argmax().item()).toBe(0);
    expect(s.reshape([1, 1]).shape).toEqual([1, 1]);
    expect(s.reshape([-1]).shape).toEqual([1]);
    expect(f64([[3]]).reshape([]).shape).toEqual([]);
    expect(s.transpose().shape).toEqual([]);
    expect(f64([1, 2]).transpose().toArray()).toEqual([1, 2]);
    expect(() => s.matmul(f64([1]))).toThrow(/matmul: operands must be at least 1-D, got \[\] x \[1\]/);
    expect(grad((t: Tensor) => t.mul(t).sum())(s)?.toArray()).toEqual(6);
  });

  it("slice clamps out-of-range bounds like Python, and its gradient pads with zeros", () => {
    const x = f64([1, 2, 3]);
    expect(x.slice(0, -10, 10).toArray()).toEqual([1, 2, 3]);
    expect(x.slice(0, 2, 1).shape).toEqual([0]);
    expect(x.slice(0, -2).toArray()).toEqual([2, 3]);
    expect(x.slice(0, 1, -1).toArray()).toEqual([2]);
    expect(grad((t: Tensor) => t.slice(0, -2, 100).sum())(x)?.toArray()).toEqual([0, 1, 1]);
  });

  it("gather with repeated and negative indices scatter-adds its gradient", () => {
    const x = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const idx = [0, -1, 0, 2];
    expect(x.gather(idx, 1).toArray()).toEqual([
      [1, 3, 1, 3],
      [4, 6, 4, 6],
    ]);
    const w = f64([
      [1, 10, 100, 1000],
      [1, 1, 1, 1],
    ]);
    expect(grad((t: Tensor) => t.gather(idx, 1).mul(w).sum())(x)?.toArray()).toEqual([
      [101, 0, 1010],
      [2, 0, 2],
    ]);
    expect(grad((t: Tensor) => t.gather(tensor(new Int32Array([1, 1, -2])), 0).sum())(x)?.toArray()).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]); // -2 is row 0 of 2
  });

  it("keepdims and negative axes agree with positive axes", () => {
    const x = f64([
      [1, 5, 3],
      [7, 0, 2],
    ]);
    expect(x.max(-1, true).toArray()).toEqual([[5], [7]]);
    expect(x.sum([-2, -1], true).toArray()).toEqual([[18]]);
    expect(x.argmin(-2).toArray()).toEqual([0, 1, 1]);
    expect(x.softmax(-2).toArray()).toEqual(x.softmax(0).toArray());
  });
});

describe("review: infinities", () => {
  it("sqrt'(0) and log'(0) are +Infinity (not NaN), as in PyTorch; x^0.5 likewise", () => {
    expect(grad((x: Tensor) => x.sqrt().sum())(f64([0, 4]))?.toArray()).toEqual([Infinity, 0.25]);
    expect(grad((x: Tensor) => x.log().sum())(f64([0, 4]))?.toArray()).toEqual([Infinity, 0.25]);
    expect(grad((x: Tensor) => x.pow(0.5).sum())(f64([0]))?.toArray()).toEqual([Infinity]);
  });

  it("-Infinity logits (masks) give exact zeros in softmax and finite gradients; all -Infinity gives -Infinity logsumexp", () => {
    const x = f64([0, -Infinity, 1]);
    const p = x.softmax();
    expect(p.data[1]).toBe(0);
    expect(p.sum().item()).toBeCloseTo(1, 15);
    expect(x.logSoftmax().data[1]).toBe(-Infinity);
    expect(x.logsumexp().item()).toBeCloseTo(Math.log(1 + Math.E), 15);
    for (const f of [
      (t: Tensor) => t.softmax().slice(0, 0, 1).sum(),
      (t: Tensor) => t.logSoftmax().slice(0, 2, 3).sum(),
      (t: Tensor) => t.logsumexp(),
    ]) {
      const g = grad(f)(x)!;
      expect(Array.from(g.data).every(Number.isFinite)).toBe(true);
      expect(g.data[1] === 0).toBe(true);
    }
    expect(f64([-Infinity, -Infinity]).logsumexp().item()).toBe(-Infinity);
  });
});

describe("review: float32 sums over many rows", () => {
  it("accumulate in float64: column sums of 1e6 rows of 0.1 are exact to float32 rounding (were 1% off)", () => {
    const n = 1_000_000;
    const exact = n * Math.fround(0.1);
    const cols = full([n, 2], 0.1).sum(0);
    expect(cols.dtype).toBe("float32");
    for (const v of cols.data) expect(Math.abs(v - exact) / exact).toBeLessThan(1e-6);
    // The general (odometer) path: reduced axes on both sides of a kept one.
    const mid = full([1000, 2, 1000], 0.1).sum([0, 2]);
    for (const v of mid.data) expect(Math.abs(v - exact) / exact).toBeLessThan(1e-6);
    expect(Math.abs(full([n, 2], 0.1).mean(0).data[0] - Math.fround(0.1))).toBeLessThan(1e-7);
  });
});
