import {
  adaptiveAvgPool2d,
  avgPool2d,
  conv1d,
  conv2d,
  convTranspose2d,
  getKernelBackend,
  grads,
  maxPool2d,
  ShapeError,
  setKernelBackend,
  type Tensor,
  tensor,
  unfold,
  ValueError,
  wasmAvailable,
  zeros,
} from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

/** Bad input to the convolution and pooling ops: the op's name, the shapes and what was expected. */
describe("convolution and pooling errors", () => {
  const x = zeros([2, 3, 8, 8]);

  it("conv2d: channel mismatch names both shapes and the groups", () => {
    expect(() => conv2d(x, zeros([6, 4, 3, 3]))).toThrow(ShapeError);
    expect(() => conv2d(x, zeros([6, 4, 3, 3]))).toThrow(
      "conv2d: input has 3 channels but weight expects 4 (groups 1): x [2, 3, 8, 8], w [6, 4, 3, 3]",
    );
    expect(() => conv2d(zeros([1, 4, 5, 5]), zeros([3, 2, 3, 3]), null, { groups: 2 })).toThrow(
      "conv2d: 3 output channels are not divisible by groups 2: x [1, 4, 5, 5], w [3, 2, 3, 3]",
    );
  });

  it("conv2d: ranks, bias shape, kernel larger than the padded input, bad options", () => {
    expect(() => conv2d(zeros([3, 8, 8]), zeros([6, 3, 3, 3]))).toThrow(
      "conv2d: input must be 4-D [N, C, H, W], got [3, 8, 8]",
    );
    expect(() => conv2d(x, zeros([6, 3, 3]))).toThrow(
      "conv2d: weight must be 4-D [O, C/groups, KH, KW], got [6, 3, 3]",
    );
    expect(() => conv2d(x, zeros([6, 3, 3, 3]), zeros([5]))).toThrow(
      "conv2d: bias must have shape [6] (one per output channel), got [5]",
    );
    expect(() => conv2d(x, zeros([6, 3, 9, 3]))).toThrow(ShapeError);
    expect(() => conv2d(x, zeros([6, 3, 9, 3]))).toThrow(/conv2d: the input .* is too small for the kernel/);
    expect(() => conv2d(x, zeros([6, 3, 3, 3]), null, { stride: 0 })).toThrow(ValueError);
    expect(() => conv2d(x, zeros([6, 3, 3, 3]), null, { stride: 0 })).toThrow(
      "conv2d: stride must be an integer >= 1 or a pair of them, got 0",
    );
    expect(() => conv2d(x, zeros([6, 3, 3, 3]), null, { padding: "full" as never })).toThrow(
      "conv2d: padding must be a number, a pair, 'same' or 'valid', got 'full'",
    );
    expect(() => conv2d(x, zeros([6, 3, 3, 3]), null, { padding: "same", stride: 2 })).toThrow(
      "conv2d: padding 'same' needs stride 1, got stride [2,2]",
    );
    expect(() => conv2d(x, zeros([6, 3, 3, 3]), null, { groups: 0 })).toThrow(
      "conv2d: groups must be a positive integer, got 0",
    );
    expect(() => conv2d(x.cast("int32"), zeros([6, 3, 3, 3]).cast("int32"))).toThrow(
      /conv2d: expected a float32 or float64 tensor/,
    );
  });

  it("conv1d and convTranspose2d name themselves", () => {
    expect(() => conv1d(zeros([2, 3, 10]), zeros([4, 2, 3]))).toThrow(
      "conv1d: input has 3 channels but weight expects 2 (groups 1): x [2, 3, 10], w [4, 2, 3]",
    );
    expect(() => convTranspose2d(x, zeros([4, 2, 3, 3]))).toThrow(
      "convTranspose2d: input has 3 channels but weight expects 4 (its first axis): x [2, 3, 8, 8], w [4, 2, 3, 3]",
    );
    expect(() => convTranspose2d(x, zeros([3, 2, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(
      "convTranspose2d: outputPadding [2,2] must be smaller than the stride [2,2] or the dilation [1,1]",
    );
  });

  it("pooling: padding over half the kernel, input too small, a window wholly in the padding", () => {
    expect(() => maxPool2d(x, 2, { padding: 2 })).toThrow(
      "maxPool2d: padding [2,2] must be at most half the kernel [2,2]",
    );
    expect(() => avgPool2d(zeros([1, 1, 2, 2]), 3)).toThrow(ShapeError);
    expect(() => avgPool2d(zeros([1, 1, 2, 2]), 3)).toThrow(/avgPool2d: input \[1, 1, 2, 2\] is too small/);
    expect(() =>
      maxPool2d(zeros([1, 1, 1, 1]), [1, 2], { padding: [0, 1], dilation: [1, 2], stride: 1 }),
    ).toThrow(/maxPool2d: the window at output \(0, 0\) lies entirely in the padding/);
    expect(() => maxPool2d(zeros([8, 8]), 2)).toThrow(
      "maxPool2d: input must be 4-D [N, C, H, W] or 3-D [C, H, W], got [8, 8]",
    );
    expect(() => adaptiveAvgPool2d(x, [0, 2])).toThrow(
      "adaptiveAvgPool2d: outputSize must be an integer >= 1 or a pair of them, got [0,2]",
    );
    expect(() => unfold(x, [3, 3], { dilation: [1, 0] })).toThrow(
      "unfold: dilation must be an integer >= 1 or a pair of them, got [1,0]",
    );
    expect(() => maxPool2d(tensor([1, 2, 3, 4]).reshape([1, 1, 2, 2]), 2, { ceilMode: 1 as never })).toThrow(
      "maxPool2d: ceilMode must be true or false, got 1",
    );
  });
});

describe("convolution and pooling of an empty batch", () => {
  it.each(["js", "wasm"] as const)(
    "gives empty outputs and a zero weight gradient (%s kernels)",
    (backend) => {
      if (backend === "wasm" && !wasmAvailable()) return;
      const previous = getKernelBackend();
      setKernelBackend(backend);
      try {
        const x = zeros([0, 2, 5, 5]);
        const w = tensor(
          Float64Array.from({ length: 54 }, (_, i) => i / 10),
          { shape: [3, 2, 3, 3] },
        );
        expect([...conv2d(x, w, null, { padding: 1 }).shape]).toEqual([0, 3, 5, 5]);
        const [gw] = grads((v: Tensor) => conv2d(x, v, null, { padding: 1 }).sum())(w);
        expect(Array.from((gw as Tensor).data)).toEqual(new Array(54).fill(0));
        expect([...maxPool2d(x, 2).shape]).toEqual([0, 2, 2, 2]);
        expect([...convTranspose2d(zeros([0, 3, 2, 2]), w).shape]).toEqual([0, 2, 4, 4]);
      } finally {
        setKernelBackend(previous);
      }
    },
  );
});
