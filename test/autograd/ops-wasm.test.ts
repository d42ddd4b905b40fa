import {
  convKernelStats,
  elementwiseKernelStats,
  getKernelBackend,
  type KernelBackend,
  kernelStats,
  resetKernelStats,
  setKernelBackend,
} from "@tapegrad/autograd";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { opPropertySuite } from "./op-properties.js";

/**
 * The op table's properties again with the 'wasm' backend forced: every op whose kernel has a WASM
 * version (matmul, exp, sigmoid, relu, the activation gradients, arithmetic, transposes) runs it even
 * on the op table's small shapes, so gradients and second derivatives through the WASM kernels are
 * checked against finite differences, not only the kernels against the JS loops.
 */
let previous: KernelBackend;

beforeAll(() => {
  previous = getKernelBackend();
  setKernelBackend("wasm");
  resetKernelStats();
});

afterAll(() => setKernelBackend(previous));

opPropertySuite({ label: "wasm kernels", runs: { forward: 10, float32: 5, grad: 8, gradgrad: 4 } });

describe("with the wasm backend forced", () => {
  it("the op table's products and elementwise ops ran on WASM", () => {
    expect(kernelStats().wasm).toBeGreaterThan(0);
    expect(elementwiseKernelStats().wasm).toBeGreaterThan(0);
  });
  it("the op table's convolutions and pooling ran their im2col, col2im, argmax, gather and scatter on WASM", () => {
    expect(convKernelStats().wasm).toBeGreaterThan(0);
    expect(convKernelStats().js).toBe(0);
  });
});
