import {
  arange,
  cast,
  DTypeError,
  full,
  ones,
  onesLike,
  TapegradError,
  tensor,
  ValueError,
  zeros,
} from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

function expectError(fn: () => unknown, type: abstract new (...a: never[]) => Error, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(TapegradError);
  expect(caught).toBeInstanceOf(type);
  expect((caught as Error).message).toMatch(message);
}

const I32_MAX = 2 ** 31 - 1;
const I32_MIN = -(2 ** 31);

describe("issue 9.5: int32 creation is as strict as the ops (no silent wrap or truncation)", () => {
  it("tensor([1.5, 3e9], { dtype: 'int32' }) names tensor and the first bad value", () => {
    expectError(
      () => tensor([1.5, 3e9], { dtype: "int32" }),
      DTypeError,
      /^tensor: the value 1.5 at \[0\] cannot be stored as int32 \(an integer in \[-2147483648, 2147483647\]\)/,
    );
    expectError(
      () => tensor([1, 3e9], { dtype: "int32" }),
      DTypeError,
      /^tensor: the value 3000000000 at \[1\]/,
    );
    expectError(
      () => tensor([[1], [Number.NaN]], { dtype: "int32" }),
      DTypeError,
      /^tensor: the value NaN at \[1, 0\]/,
    );
    expectError(
      () => tensor(-Infinity, { dtype: "int32" }),
      DTypeError,
      /^tensor: the value -Infinity at \[\]/,
    );
  });
  it("typed arrays converted to int32 are checked too", () => {
    expectError(
      () => tensor(Float64Array.from([2, 2.5]), { dtype: "int32" }),
      DTypeError,
      /^tensor: the value 2.5 at \[1\]/,
    );
    expectError(
      () => tensor(Float32Array.from([3e9]), { dtype: "int32" }),
      DTypeError,
      /^tensor: the value 3000000000 at \[0\]/,
    );
  });
  it("full, ones/zeros-like, arange with values int32 cannot hold", () => {
    expectError(
      () => full([2], 1.5, { dtype: "int32" }),
      DTypeError,
      /^full: the value 1.5 cannot be stored as int32/,
    );
    expectError(() => full([2], 2 ** 31, { dtype: "int32" }), DTypeError, /^full: the value 2147483648/);
    expectError(() => full([0], Number.NaN, { dtype: "int32" }), DTypeError, /^full: the value NaN/);
    expectError(() => arange(0, 2, 0.5, { dtype: "int32" }), DTypeError, /^arange: the value 0.5 at \[1\]/);
    expectError(
      () => arange(2 ** 31 - 2, 2 ** 31 + 1, { dtype: "int32" }),
      DTypeError,
      /^arange: the value 2147483648 at \[2\]/,
    );
  });
  it("every int32 value is accepted and kept exactly; floats are unaffected", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: I32_MIN, max: I32_MAX }), { maxLength: 20 }), (values) => {
        expect(Array.from(tensor(values, { dtype: "int32" }).data)).toEqual(values);
        expect(Array.from(tensor(Float64Array.from(values), { dtype: "int32" }).data)).toEqual(values);
      }),
      { seed: 95, numRuns: 100 },
    );
    expect(full([2], I32_MIN, { dtype: "int32" }).toArray()).toEqual([I32_MIN, I32_MIN]);
    expect(arange(3, { dtype: "int32" }).toArray()).toEqual([0, 1, 2]);
    expect(onesLike(zeros([2], { dtype: "int32" })).toArray()).toEqual([1, 1]);
    expect(ones([2], { dtype: "int32" }).dtype).toBe("int32");
    expect(tensor([1.5, 3e9]).toArray()).toEqual([1.5, 3e9]);
  });
  it("a number operand of an int32 op outside the int32 range is an error too (it wrapped)", () => {
    const i = tensor([1, 2], { dtype: "int32" });
    expectError(() => i.add(2 ** 32), DTypeError, /^add: the number 4294967296 cannot take the int32 dtype/);
  });
});

describe("issue 9.5: cast to int32 truncates toward zero like torch; NaN, ±Inf, out of range are errors", () => {
  it("finite in-range floats truncate toward zero (torch: .to(torch.int32))", () => {
    fc.assert(
      fc.property(fc.double({ min: -2147483648.9, max: 2147483647.9, noNaN: true }), (v) => {
        const got = tensor([v], { dtype: "float64" }).cast("int32").item();
        expect(got).toBe(Math.trunc(v) === 0 ? 0 : Math.trunc(v));
      }),
      { seed: 96, numRuns: 200 },
    );
    expect(tensor([1.7, -1.7, 2.5, -2.5]).cast("int32").toArray()).toEqual([1, -1, 2, -2]);
  });
  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 31, -(2 ** 31) - 1, 3e9])(
    "cast(%s) to int32 is a ValueError naming cast and the value",
    (v) => {
      expectError(
        () => cast(tensor([0, v], { dtype: "float64" }), "int32"),
        ValueError,
        new RegExp(`^cast: the value ${String(v)} at flat index 1 cannot be converted to int32`),
      );
    },
  );
});
