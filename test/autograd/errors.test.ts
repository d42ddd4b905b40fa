import {
  concat,
  DTypeError,
  GraphError,
  matmul,
  ones,
  ShapeError,
  TapegradError,
  tensor,
  ValueError,
  zeros,
} from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

/** Every error is a TapegradError subclass whose message names the op, the shapes or values, and what was expected. */
function expectError(fn: () => unknown, type: new (...a: never[]) => Error, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(type);
  expect(caught).toBeInstanceOf(TapegradError);
  expect((caught as Error).message).toMatch(message);
}

describe("error messages", () => {
  it("matmul with mismatched inner dimensions names both shapes and the dims", () => {
    expectError(
      () => matmul(zeros([8, 784]), zeros([30, 10])),
      ShapeError,
      /^matmul: inner dimensions differ: \[8, 784\] x \[30, 10\] \(784 != 30\)$/,
    );
  });
  it("matmul with non-broadcastable batch dims", () => {
    expectError(
      () => matmul(zeros([2, 3, 4]), zeros([5, 4, 2])),
      ShapeError,
      /matmul: batch dimensions \[2\] and \[5\]/,
    );
  });
  it("matmul of a 0-d tensor", () => {
    expectError(() => matmul(tensor(2), zeros([2, 2])), ShapeError, /at least 1-D, got \[\] x \[2, 2\]/);
  });
  it("broadcasting failures name the op and both shapes", () => {
    expectError(
      () => zeros([2, 3]).add(zeros([4])),
      ShapeError,
      /^add: shapes \[2, 3\] and \[4\] cannot be broadcast/,
    );
    expectError(
      () => zeros([3]).broadcastTo([2, 4]),
      ShapeError,
      /broadcastTo: cannot broadcast \[3\] to \[2, 4\]/,
    );
  });
  it("bad axes", () => {
    expectError(
      () => zeros([2, 3]).sum(2),
      ShapeError,
      /sum: axis 2 is out of range for a 2-d tensor; valid axes: \[-2, 1\]/,
    );
    expectError(() => zeros([2, 3]).sum([0, -2]), ShapeError, /sum: repeated axis/);
    expectError(() => zeros([2, 3]).softmax(5), ShapeError, /softmax: axis 5/);
    expectError(() => zeros([2, 3]).transpose([0, 0]), ShapeError, /not a permutation/);
    expectError(
      () => zeros([2, 3]).squeeze(0),
      ShapeError,
      /squeeze: axis 0 of \[2, 3\] has size 2, expected 1/,
    );
  });
  it("reshape to a different size, and two -1", () => {
    expectError(
      () => zeros([2, 3]).reshape([4, 2]),
      ShapeError,
      /reshape: cannot reshape \[2, 3\] \(6 elements\) into \[4, 2\] \(8 elements\)/,
    );
    expectError(() => zeros([2, 3]).reshape([-1, -1]), ShapeError, /only one -1/);
  });
  it("wrong-length data and ragged arrays", () => {
    expectError(
      () => tensor(new Float32Array(5), { shape: [2, 3] }),
      ShapeError,
      /5 values do not fill shape \[2, 3\] \(6 elements\)/,
    );
    expectError(
      () => tensor([[1, 2], [3]]),
      ShapeError,
      /ragged nested array at \[1\]: expected length 2, got length 1/,
    );
    expectError(
      () => tensor([1, Number.NaN as unknown as number, "x" as unknown as number]),
      ValueError,
      /expected a number at \[2\]/,
    );
  });
  it("gather with out-of-range or non-integer indices", () => {
    expectError(
      () => zeros([3, 2]).gather([0, 3]),
      ShapeError,
      /gather: index 3 \(position 1\) is out of range for axis 0 of size 3 in \[3, 2\]/,
    );
    expectError(
      () => zeros([3]).gather(tensor([0.5])),
      ValueError,
      /indices must be an int32 tensor, got float32/,
    );
  });
  it("concat with mismatched shapes", () => {
    expectError(
      () => concat([zeros([2, 3]), zeros([2, 4])], 0),
      ShapeError,
      /concat: tensors\[1\] has shape \[2, 4\], which does not match \[2, 3\] outside axis 0/,
    );
  });
  it("int32 tensors cannot require grad", () => {
    expectError(
      () => tensor(new Int32Array([1]), { requiresGrad: true }),
      DTypeError,
      /int32 tensors .* cannot require grad/,
    );
  });
  it("only leaves can stop requiring grad", () => {
    const y = ones([2], { requiresGrad: true }).mul(2);
    expectError(
      () => {
        y.requiresGrad = false;
      },
      GraphError,
      /only leaf tensors can change requiresGrad; this tensor was produced by mul \(f_\d+\)/,
    );
  });
  it("item on a tensor with more than one element", () => {
    expectError(
      () => zeros([2]).item(),
      ValueError,
      /item: only size-1 tensors have one value; this one has shape \[2\]/,
    );
  });
  it("math on int32 where it makes no sense", () => {
    expectError(
      () => tensor(new Int32Array([1])).exp(),
      DTypeError,
      /exp: expected a float32 or float64 tensor, got int32/,
    );
  });
  it("clamp with min > max", () => {
    expectError(() => zeros([2]).clamp(1, 0), ValueError, /clamp: expected min <= max, got min 1 and max 0/);
  });
  it("errors raised inside a vjp name the node", () => {
    // A custom op whose vjp returns a wrong shape.
    const x = ones([2], { requiresGrad: true });
    const y = x
      .reshape([2, 1])
      .matmul(ones([1, 2]))
      .sum();
    expect(() => y.backward(ones([3]))).toThrow(ShapeError);
  });
});
