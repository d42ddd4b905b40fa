/**
 * The convolution and pooling layers beyond the PyTorch fixtures: gradcheck through each layer in
 * float64 (inputs with autograd's gradcheck, every parameter element by central differences), the
 * default initialisation's bounds, seeding, the architecture record and the errors for bad options.
 */
import { gradcheck, noGrad, Rng, ShapeError, type Tensor, ValueError } from "@tapegrad/autograd";
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  Conv1d,
  Conv2d,
  ConvTranspose2d,
  Flatten,
  MaxPool2d,
  type Module,
  Unflatten,
} from "@tapegrad/nn";
import { describe, expect, it } from "vitest";
import { gaussian } from "./helpers.js";

const f64 = { dtype: "float64" as const };

function checkInputs(m: Module, x: Tensor): void {
  const r = gradcheck((t) => m.forward(t), [x], { atol: 1e-7, rtol: 1e-5 });
  expect(r.ok, `${m.constructor.name}: worst ${JSON.stringify(r.worst)}`).toBe(true);
}

/** ∂⟨v, m(x)⟩/∂p for every parameter element against central differences. */
function checkParameters(m: Module, x: Tensor, rng: Rng): void {
  const v = gaussian([...noGrad(() => m.forward(x)).shape], rng);
  const loss = (): Tensor => m.forward(x).mul(v).sum();
  m.zeroGrad();
  loss().backward();
  const eps = 1e-6;
  for (const [name, p] of m.namedParameters()) {
    expect(p.grad, `${name} has no gradient`).not.toBeNull();
    for (let i = 0; i < p.size; i++) {
      const orig = p.data[i];
      p.data[i] = orig + eps;
      const up = noGrad(loss).item();
      p.data[i] = orig - eps;
      const down = noGrad(loss).item();
      p.data[i] = orig;
      const numeric = (up - down) / (2 * eps);
      expect(Math.abs(p.grad!.data[i] - numeric), `${name}[${i}]`).toBeLessThan(
        1e-6 + 1e-5 * Math.abs(numeric),
      );
    }
  }
}

describe("gradcheck through each conv/pool layer (float64)", () => {
  const rng = new Rng(21);
  it("Conv2d: padded, strided+dilated+grouped, 'same', depthwise without bias", () => {
    for (const [m, shape] of [
      [new Conv2d(2, 3, 3, { ...f64, seed: 1, padding: 1 }), [2, 2, 5, 4]],
      [
        new Conv2d(4, 2, [2, 3], { ...f64, seed: 2, stride: [2, 1], dilation: [1, 2], groups: 2 }),
        [1, 4, 5, 6],
      ],
      [new Conv2d(2, 2, 2, { ...f64, seed: 3, padding: "same" }), [1, 2, 4, 3]],
      [new Conv2d(2, 4, 3, { ...f64, seed: 4, groups: 2, bias: false }), [2, 2, 4, 4]],
    ] as const) {
      const x = gaussian([...shape], rng);
      checkInputs(m, x);
      checkParameters(m, x, rng);
    }
  });

  it("Conv1d and ConvTranspose2d", () => {
    for (const [m, shape] of [
      [new Conv1d(2, 3, 3, { ...f64, seed: 5, stride: 2, padding: 1 }), [2, 2, 7]],
      [new Conv1d(2, 2, 2, { ...f64, seed: 6, padding: "same", dilation: 2, groups: 2 }), [1, 2, 6]],
      [
        new ConvTranspose2d(2, 4, 3, { ...f64, seed: 7, stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
        [1, 2, 3, 2],
      ],
      [new ConvTranspose2d(3, 2, [2, 1], { ...f64, seed: 8, dilation: [2, 1] }), [2, 3, 2, 3]],
    ] as const) {
      const x = gaussian([...shape], rng);
      checkInputs(m, x);
      checkParameters(m, x, rng);
    }
  });

  it("MaxPool2d, AvgPool2d and AdaptiveAvgPool2d", () => {
    for (const [m, shape] of [
      [new MaxPool2d(2), [2, 2, 4, 5]],
      [new MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }), [1, 2, 5, 6]],
      [new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }), [1, 2, 5, 6]],
      [new AvgPool2d([2, 3], { stride: 1 }), [2, 1, 4, 4]],
      [new AdaptiveAvgPool2d([3, 2]), [2, 2, 7, 5]],
    ] as const) {
      checkInputs(m, gaussian([...shape], rng));
      expect(m.parameters()).toEqual([]);
    }
  });
});

describe("conv layer parameters follow PyTorch", () => {
  it("weights and biases start in U(±1/√fan_in), fan_in = weight.shape[1]·KH·KW, and fill the range", () => {
    for (const [m, fanIn] of [
      [new Conv2d(6, 8, [3, 2], { groups: 2, seed: 1 }), 3 * 3 * 2],
      [new Conv1d(4, 6, 5, { seed: 2 }), 4 * 5],
      // torch's fan_in for a transposed conv is its weight's axis 1: outChannels/groups
      [new ConvTranspose2d(6, 4, 3, { groups: 2, seed: 3 }), 2 * 3 * 3],
    ] as const) {
      const bound = 1 / Math.sqrt(fanIn);
      for (const p of [m.weight, m.bias!]) {
        const v = Array.from(p.data);
        expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(bound);
        if (p === m.weight) expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.8 * bound);
      }
    }
  });

  it("torch's layouts and state-dict keys; bias: false drops the bias; the seed decides the values", () => {
    expect(new Conv2d(6, 8, [3, 2], { groups: 2 }).weight.shape).toEqual([8, 3, 3, 2]);
    expect(new Conv1d(4, 6, 5).weight.shape).toEqual([6, 4, 5]);
    const t = new ConvTranspose2d(6, 4, 3, { groups: 2 });
    expect(t.weight.shape).toEqual([6, 2, 3, 3]);
    expect(t.bias!.shape).toEqual([4]);
    expect(Object.keys(t.stateDict())).toEqual(["weight", "bias"]);
    expect(Object.keys(new Conv2d(1, 2, 3, { bias: false }).stateDict())).toEqual(["weight"]);
    const a = new Conv2d(2, 3, 3, { seed: 9 });
    const b = new Conv2d(2, 3, 3, { seed: 9 });
    const c = new Conv2d(2, 3, 3, { seed: 10 });
    expect(Array.from(a.weight.data)).toEqual(Array.from(b.weight.data));
    expect(Array.from(a.weight.data)).not.toEqual(Array.from(c.weight.data));
    expect(a.weight.dtype).toBe("float32");
    expect(new Conv2d(2, 3, 3, f64).weight.dtype).toBe("float64");
  });

  it("architecture() records every option, so a model can be rebuilt from it", () => {
    expect(new Conv2d(4, 6, [3, 2], { padding: "same", groups: 2 }).architecture()).toEqual(
      expect.objectContaining({ type: "Conv2d", padding: "same", groups: 2 }),
    );
    const conv = new Conv2d(4, 6, [3, 2], {
      stride: [2, 1],
      padding: 1,
      dilation: 2,
      groups: 2,
      bias: false,
    });
    expect(conv.architecture()).toEqual({
      type: "Conv2d",
      inChannels: 4,
      outChannels: 6,
      kernelSize: [3, 2],
      stride: [2, 1],
      padding: [1, 1],
      dilation: [2, 2],
      groups: 2,
      bias: false,
    });
    expect(new MaxPool2d(2).architecture()).toEqual({
      type: "MaxPool2d",
      kernelSize: [2, 2],
      stride: [2, 2],
      padding: [0, 0],
      dilation: [1, 1],
      ceilMode: false,
    });
    expect(new AdaptiveAvgPool2d(1).architecture()).toEqual({
      type: "AdaptiveAvgPool2d",
      outputSize: [1, 1],
    });
    expect(new ConvTranspose2d(2, 2, 3, { outputPadding: [1, 0], stride: 2 }).architecture()).toEqual(
      expect.objectContaining({ outputPadding: [1, 0], stride: [2, 2], padding: [0, 0] }),
    );
  });
});

describe("bad options and inputs get errors naming the layer", () => {
  it("constructor arguments", () => {
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(
      /Conv2d: inChannels 3 and outChannels 4 must both be divisible by groups 2/,
    );
    expect(() => new Conv2d(2, 4, 3, { stride: 2, padding: "same" })).toThrow(
      /Conv2d: padding 'same' needs stride 1/,
    );
    expect(() => new Conv2d(2, 4, [3, 0])).toThrow(/Conv2d: kernelSize must be an integer >= 1 or a pair/);
    expect(() => new Conv2d(2, 4, 3, { padding: -1 })).toThrow(/Conv2d: padding must be an integer >= 0/);
    expect(() => new Conv2d(0, 4, 3)).toThrow(ValueError);
    expect(() => new Conv1d(2, 4, 3, { padding: "full" as never })).toThrow(/Conv1d: padding must be/);
    expect(() => new ConvTranspose2d(2, 2, 3, { outputPadding: 1 })).toThrow(
      /ConvTranspose2d: outputPadding \[1,1\] must be smaller than the stride/,
    );
    expect(() => new MaxPool2d(2, { padding: 2 })).toThrow(/MaxPool2d: padding \[2,2\] must be at most half/);
    expect(() => new AvgPool2d(3, { ceilMode: 1 as never })).toThrow(
      /AvgPool2d: ceilMode must be true or false/,
    );
    expect(() => new AdaptiveAvgPool2d(0)).toThrow(/AdaptiveAvgPool2d: outputSize/);
  });

  it("forward inputs with the wrong rank or channel count", () => {
    const rng = new Rng(3);
    expect(() => new Conv2d(3, 4, 3).forward(gaussian([2, 2, 5, 5], rng))).toThrow(
      /Conv2d: expected input \[N, C, H, W\] \(or unbatched, without N\) with 3 channels, got \[2, 2, 5, 5\]/,
    );
    expect(() => new Conv1d(3, 4, 3).forward(gaussian([2, 3], rng))).toThrow(ShapeError);
    expect(() => new ConvTranspose2d(2, 4, 3).forward(gaussian([1, 3, 4, 4], rng))).toThrow(
      /ConvTranspose2d: expected input/,
    );
    expect(() => new Conv2d(1, 1, 5).forward(gaussian([1, 1, 3, 3], rng))).toThrow(/conv2d/);
    expect(() => new MaxPool2d(2).forward(gaussian([4, 4], rng))).toThrow(/maxPool2d/);
  });
});

describe("Unflatten", () => {
  it("splits one dim into the given sizes, undoes Flatten, passes gradients, and names bad sizes", () => {
    const rng = new Rng(4);
    const x = gaussian([3, 12], rng);
    const u = new Unflatten(1, [2, 2, 3]);
    const y = u.forward(x);
    expect(y.shape).toEqual([3, 2, 2, 3]);
    expect(Array.from(y.data)).toEqual(Array.from(x.data));
    expect(Array.from(new Flatten().forward(y).data)).toEqual(Array.from(x.data));
    expect(new Unflatten(-1, [4, 3]).forward(x).shape).toEqual([3, 4, 3]);
    checkInputs(u, x);
    expect(u.architecture()).toEqual({ type: "Unflatten", dim: 1, sizes: [2, 2, 3] });
    expect(() => new Unflatten(1, [5, 2]).forward(x)).toThrow(
      /Unflatten: dim 1 of an input of shape \[3, 12\] cannot be split into \[5, 2\]/,
    );
    expect(() => new Unflatten(1, [])).toThrow(ValueError);
  });
});
