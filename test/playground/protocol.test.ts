import { describe, expect, it } from "vitest";
import {
  checkConfig,
  DEFAULT_CONFIG,
  parseSizes,
  suggestedLr,
} from "../../packages/playground/src/config.js";
import { parseRequest, type Reply, transferables } from "../../packages/playground/src/protocol.js";

describe("worker requests", () => {
  it("accepts every well-formed request", () => {
    expect(parseRequest({ type: "init", dataUrl: "./digits.bin", config: DEFAULT_CONFIG }).type).toBe("init");
    expect(
      parseRequest({ type: "reset", config: { ...DEFAULT_CONFIG, sizes: [784, 16, 16, 10] } }),
    ).toMatchObject({
      config: { sizes: [784, 16, 16, 10] },
    });
    expect(parseRequest({ type: "run", epochs: 3 })).toEqual({ type: "run", epochs: 3 });
    expect(parseRequest({ type: "pause" })).toEqual({ type: "pause" });
    expect(parseRequest({ type: "step" })).toEqual({ type: "step" });
    expect(parseRequest({ type: "sample" })).toEqual({ type: "sample" });
    const pixels = new Float32Array(784);
    expect(parseRequest({ type: "predict", id: 4, pixels })).toEqual({ type: "predict", id: 4, pixels });
  });

  it("rejects malformed requests with a message naming what is wrong", () => {
    expect(() => parseRequest(null)).toThrow(/expected an object/);
    expect(() => parseRequest({ type: "jump" })).toThrow(/unknown type "jump"/);
    expect(() => parseRequest({ type: "init", dataUrl: "", config: DEFAULT_CONFIG })).toThrow(/dataUrl/);
    expect(() => parseRequest({ type: "run", epochs: 0 })).toThrow(
      /epochs must be a positive integer, got 0/,
    );
    expect(() => parseRequest({ type: "predict", id: 1, pixels: new Float32Array(10) })).toThrow(
      /784 values, got 10/,
    );
    expect(() => parseRequest({ type: "predict", id: 1.5, pixels: new Float32Array(784) })).toThrow(/id/);
    expect(() => parseRequest({ type: "reset", config: { ...DEFAULT_CONFIG, lr: -1 } })).toThrow(
      /config.lr: expected a number in \(0, 100\], got -1/,
    );
    expect(() => parseRequest({ type: "reset", config: { ...DEFAULT_CONFIG, loss: "hinge" } })).toThrow(
      /config.loss: expected one of quadratic, l2, mse, crossEntropy, softmaxCrossEntropy, got "hinge"/,
    );
  });

  it("transfers only buffers an array owns whole (never a slab shared with other tensors)", () => {
    const slab = new Float32Array(100);
    const owned = new Float32Array(4);
    const reply: Reply = {
      type: "snapshot",
      snapshot: {
        step: 0,
        batchLoss: 0,
        comparison: [],
        nodes: {
          a: { shape: [4], value: owned, cotangent: slab.subarray(10, 14) },
          b: { shape: [4], value: owned, cotangent: null },
        },
      },
    };
    expect(transferables(reply)).toEqual([owned.buffer]);
  });
});

describe("configuration", () => {
  it("parses layer sizes written with commas, spaces or dashes", () => {
    expect(parseSizes("784, 30, 10")).toEqual([784, 30, 10]);
    expect(parseSizes("784-100-30-10")).toEqual([784, 100, 30, 10]);
  });

  it("refuses sizes the digits cannot use", () => {
    expect(() => parseSizes("700, 30, 10")).toThrow(/first must be 784 \(28×28 pixels\), got 700/);
    expect(() => parseSizes("784, 30, 9")).toThrow(/last must be 10 \(one per digit\), got 9/);
    expect(() => parseSizes("784, 3.5, 10")).toThrow(/whole numbers/);
    expect(() => parseSizes("784, 4096, 10")).toThrow(/at most 512 units, got 4096/);
    expect(() => parseSizes("784,8,8,8,8,8,10")).toThrow(/at most 5 layers, got 6/);
  });

  it("checks every field of a config and suggests a learning rate per optimiser", () => {
    expect(checkConfig(DEFAULT_CONFIG)).toEqual(DEFAULT_CONFIG);
    expect(() => checkConfig({ ...DEFAULT_CONFIG, batchSize: 0 })).toThrow(/config.batchSize/);
    expect(() => checkConfig({ ...DEFAULT_CONFIG, seed: -1 })).toThrow(/config.seed/);
    expect(() => checkConfig({ ...DEFAULT_CONFIG, init: "zeros" })).toThrow(/config.init/);
    expect(suggestedLr("sgd")).toBe(DEFAULT_CONFIG.lr);
    expect(suggestedLr("adam")).toBeLessThan(0.1);
  });
});
