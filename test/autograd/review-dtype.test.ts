import { GraphError, grad, type Tensor, tensor } from "@tapegrad/autograd";
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
