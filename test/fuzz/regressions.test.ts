/**
 * Defects the API fuzz suite found beyond those listed in issue 9, one test each, written (and seen
 * failing) before the fix. Each names the fuzz counterexample it came from.
 */
import * as ag from "@tapegrad/autograd";
import { DTypeError, ShapeError, Tensor } from "@tapegrad/autograd";
import { Linear, mse } from "@tapegrad/nn";
import { describe, expect, it } from "vitest";

const int32 = (values: number[]) => new Tensor(Int32Array.from(values), [values.length]);

describe("fuzz findings", () => {
  it("transpose with axes that are not an array is a ShapeError naming transpose (was TypeError: axes.map is not a function)", () => {
    const x = ag.zeros([2, 3]);
    expect(() => x.transpose(5 as unknown as number[])).toThrow(ShapeError);
    expect(() => x.transpose("01" as unknown as number[])).toThrow(/^transpose: /);
    expect(() => ag.transpose(x, null as unknown as number[])).toThrow(/^transpose: /);
  });

  it("a number operand outside the int32 range is a DTypeError with an int32 tensor (was wrapped: x + 3e9 added -1294967296)", () => {
    const x = int32([1, 2]);
    expect(() => x.add(3e9)).toThrow(DTypeError);
    expect(() => ag.less(-2147483649, x)).toThrow(/^less: /);
    expect(() => ag.where(ag.ones([2]), x, 2 ** 31)).toThrow(/^where: /);
    // the int32 extremes themselves are fine
    expect(Array.from(x.add(2147483646).data)).toEqual([2147483647, -2147483648]);
    expect(Array.from(x.maximum(-2147483648).data)).toEqual([1, 2]);
  });

  it("int32 mul wraps exactly like int32 arithmetic (was 0 for 2147483647 · 2147483647: the double product lost its low bits)", () => {
    const big = int32([2147483647, 2147483647, -2147483648, 65536, 46341]);
    const other = int32([2147483647, -3, -1, 65536, 46341]);
    const got = Array.from(big.mul(other).data);
    const want = [0, 1, 2, 3, 4].map((i) => Math.imul(big.data[i], other.data[i]));
    expect(got).toEqual(want);
    expect(want[0]).toBe(1);
    expect(Array.from(int32([2147483647]).mul(2147483647).data)).toEqual([1]);
  });

  it("Linear on a 1-D input gives [out], with or without bias (was [1, out] with a bias: the [1, out] bias row broadcast it)", () => {
    const x = ag.tensor([1, 2, 3]);
    const withBias = new Linear(3, 2, { seed: 1 });
    const noBias = new Linear(3, 2, { seed: 1, bias: false });
    expect(withBias.forward(x).shape).toEqual([2]);
    expect(noBias.forward(x).shape).toEqual([2]);
    expect(withBias.forward(ag.tensor([[1, 2, 3]])).shape).toEqual([1, 2]);
    // the bias still gets its gradient, in its own [1, out] shape
    withBias.forward(x).sum().backward();
    expect(withBias.bias?.grad?.shape).toEqual([1, 2]);
  });

  it("mse of an empty prediction is a ShapeError naming mse from fn and deriv alike (fn said `mean:`, deriv returned a result)", () => {
    const e = ag.zeros([0]);
    expect(() => mse.fn(e, e)).toThrow(/^mse: /);
    expect(() => mse.deriv(e, e)).toThrow(ShapeError);
  });

  it("functions that take a function refuse anything else with an error naming them (was TypeError: fn is not a function)", () => {
    for (const junk of [undefined, null, 3, "f", {}]) {
      const f = junk as unknown as () => ag.Tensor;
      expect(() => ag.noGrad(f)).toThrow(/^noGrad: /);
      expect(() => ag.enableGrad(f)).toThrow(/^enableGrad: /);
      expect(() => ag.record(f)).toThrow(/^record: /);
      expect(() => ag.grads(f)(ag.ones([1]))).toThrow(/^grads: /);
      expect(() => ag.grad(f)(ag.ones([1]))).toThrow(/^grad: /);
      expect(() => ag.valueAndGrads(f)(ag.ones([1]))).toThrow(/^valueAndGrads: /);
      expect(() => ag.valueAndGrad(f)(ag.ones([1]))).toThrow(/^valueAndGrad: /);
      expect(() => ag.scope("s", f)).toThrow(/^scope: /);
    }
  });

  it("manualSeed names itself for a bad seed (was `Rng:`)", () => {
    expect(() => ag.manualSeed(Number.NaN)).toThrow(/^manualSeed: /);
    expect(() => ag.manualSeed("1" as unknown as number)).toThrow(/^manualSeed: /);
  });

  it("rand/randn with options that are not an object, onesLike/zerosLike of a non-tensor: named errors (were TypeError or `full:`)", () => {
    expect(() => ag.randn([2], null as unknown as ag.RandomOptions)).toThrow(/^randn: /);
    expect(() => ag.rand([2], 3 as unknown as ag.RandomOptions)).toThrow(/^rand: /);
    expect(() => ag.randn([2], { seed: null as unknown as number })).toThrow(/^randn: /);
    expect(() => ag.onesLike(null as unknown as ag.Tensor)).toThrow(/^onesLike: /);
    expect(() => ag.zerosLike([1, 2] as unknown as ag.Tensor)).toThrow(/^zerosLike: /);
    expect(ag.onesLike(ag.zeros([2], { dtype: "float64" })).dtype).toBe("float64");
  });

  it("gradcheck and gradgradcheck refuse inputs that are not an array of tensors, by name (was TypeError: inputs.map is not a function)", () => {
    const f = (x: ag.Tensor) => x.sum();
    expect(() => ag.gradcheck(f, ag.ones([2]) as unknown as ag.Tensor[])).toThrow(/^gradcheck: /);
    expect(() => ag.gradcheck(f, [3] as unknown as ag.Tensor[])).toThrow(/^gradcheck: /);
    expect(() => ag.gradgradcheck(f, null as unknown as ag.Tensor[])).toThrow(/^gradgradcheck: /);
    expect(ag.gradcheck(f, [ag.ones([2], { dtype: "float64" })]).ok).toBe(true);
  });
});
