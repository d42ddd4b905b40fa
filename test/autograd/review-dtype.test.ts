import { customOp, DTypeError, GraphError, grad, type Tensor, tensor } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

const f64 = (data: number[], requiresGrad = false): Tensor =>
  tensor(data, { dtype: "float64", requiresGrad });

describe("review: int32 never requires grad", () => {
  it("casting a differentiable tensor to int32 gives a constant (no gradient flows through rounding)", () => {
    const x = f64([1.5, 2.5], true);
    const i = x.cast("int32");
    expect(i.dtype).toBe("int32");
    expect(i.requiresGrad).toBe(false);
    expect(() => i.backward()).toThrow(GraphError);
    expect(grad((t: Tensor) => t.cast("int32").cast("float64").sum())(f64([1.5, 2.5]))).toBeNull();
    // Float casts stay differentiable.
    expect(grad((t: Tensor) => t.cast("float32").sum())(f64([1.5]))?.toArray()).toEqual([1]);
  });
});

describe("review: a number operand takes the tensor's dtype", () => {
  it("an int32 tensor with a non-integer number is an error, not a silent truncation (i·0.5 was all zeros)", () => {
    const i = tensor(new Int32Array([1, 2, 3]));
    expect(() => i.mul(0.5)).toThrow(DTypeError);
    expect(() => i.mul(0.5)).toThrow(
      /mul: the number 0.5 cannot take the int32 dtype of the tensor of shape \[3\]/,
    );
    expect(() => i.add(Number.NaN)).toThrow(DTypeError);
    expect(() => i.greater(1.5)).toThrow(/greater: the number 1.5/);
    // Integers stay int32; a float tensor keeps its dtype with any number.
    expect(i.mul(2).toArray()).toEqual([2, 4, 6]);
    expect(i.mul(2).dtype).toBe("int32");
    expect(tensor([1], { dtype: "float64" }).mul(0.5).dtype).toBe("float64");
    expect(tensor([1]).add(0.1).dtype).toBe("float32");
  });
});

describe("review: error messages for bad arguments", () => {
  it("a bad operand of a binary op says a Tensor or a number was expected", () => {
    const x = tensor([1, 2]);
    expect(() => x.add([1, 2] as unknown as number)).toThrow(
      /^add: operand must be a Tensor or a number, got an array/,
    );
    expect(() => x.mul(undefined as unknown as number)).toThrow(
      /^mul: operand must be a Tensor or a number, got undefined/,
    );
  });

  it("a non-integer or non-number axis is named as such (not 'out of range', not a TypeError)", () => {
    const x = tensor([[1, 2]]);
    expect(() => x.sum(0.5)).toThrow(/^sum: axis 0.5 is not an integer/);
    expect(() => x.sum("0" as unknown as number)).toThrow(
      /^sum: axis must be a number or an array of numbers, got string/,
    );
    expect(() => x.softmax(Number.NaN)).toThrow(/^softmax: axis NaN is not an integer/);
  });
});

describe("review: no primitive output of dtype int32 requires grad", () => {
  it("a custom op returning int32 (a rounding) gives a constant", () => {
    const roundToInt = customOp({
      name: "roundToInt",
      forward: (x) => x.cast("int32"),
      vjp: (g) => g,
    });
    const x = f64([1.4, 2.6], true);
    const r = roundToInt(x);
    expect(r.dtype).toBe("int32");
    expect(r.requiresGrad).toBe(false);
    expect(grad((t: Tensor) => roundToInt(t).cast("float64").sum())(f64([1.4]))).toBeNull();
  });
});

describe("review: int32 division and powers", () => {
  it("name the op, the dtypes and the shapes", () => {
    const i = tensor(new Int32Array([1, 2]));
    expect(() => i.div(2)).toThrow(DTypeError);
    expect(() => i.div(tensor(new Int32Array([1])))).toThrow(
      /^div: int32 operands of shapes \[2\] and \[1\] are not supported; cast to a float dtype first/,
    );
    expect(() => i.pow(2)).toThrow(/^pow: int32 operands of shapes \[2\] and \[\]/);
    // A float operand promotes instead.
    expect(i.div(tensor([2])).toArray()).toEqual([0.5, 1]);
  });
});
