import { arange, eye, ones, rand, randn, ShapeError, zeros } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

describe("review: creation functions", () => {
  it("errors name the function the user called", () => {
    expect(() => zeros([-1])).toThrow(ShapeError);
    expect(() => zeros([-1])).toThrow(/^zeros: shape \[-1\] has an invalid dimension -1/);
    expect(() => ones([2.5])).toThrow(/^ones: shape \[2.5\]/);
    expect(() => randn([2.5])).toThrow(/^randn: shape \[2.5\]/);
    expect(() => rand(3 as unknown as number[])).toThrow(/^rand: shape must be an array of integers, got 3/);
  });

  it("arange(stop, opts) works without spelling out step, as torch.arange(n, dtype=...) does", () => {
    const i = arange(4, { dtype: "int32" });
    expect(i.dtype).toBe("int32");
    expect(i.toArray()).toEqual([0, 1, 2, 3]);
    expect(arange(1, 3, { dtype: "float64" }).toArray()).toEqual([1, 2]);
    expect(arange(1, 3, { dtype: "float64" }).dtype).toBe("float64");
    expect(arange(0, 1, 0.25).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(eye(2, { dtype: "int32" }).toArray()).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });
});
