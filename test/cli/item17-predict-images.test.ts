import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runInProcess } from "./run-cli.js";

// pngjs is the CLI's dependency, not the workspace root's: load it from the CLI package.
const { PNG } = createRequire(join(ROOT, "packages", "cli", "package.json"))("pngjs") as {
  PNG: {
    new (opts: { width: number; height: number }): { data: Buffer };
    sync: { write(png: { data: Buffer }): Buffer };
  };
};

// Issue 9, item 17: predict on a blank picture says "no ink" (exit 1); probabilities mean something; a
// picture over the pixel limit is refused from its header, before it is decoded.

const TINY = ["train", "--limit", "200", "--test-limit", "50", "--epochs", "1", "--quiet"];

let dir: string;
let sigmoidModel: string;
let softmaxModel: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tapegrad-item17-"));
  const a = await runInProcess([...TINY, "--out", join(dir, "sigmoid")]);
  const b = await runInProcess([
    ...TINY,
    "--sizes",
    "784,16,10",
    "--activation",
    "relu",
    "--loss",
    "softmaxCrossEntropy",
    "--init",
    "he",
    "--optimizer",
    "adam",
    "--lr",
    "0.01",
    "--out",
    join(dir, "softmax"),
  ]);
  expect(a.code).toBe(0);
  expect(b.code).toBe(0);
  sigmoidModel = join(dir, "sigmoid", "model.safetensors");
  softmaxModel = join(dir, "softmax", "model.safetensors");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A width x height RGBA picture, every pixel [r, g, b, a]. */
function solidPng(width: number, height: number, rgba: [number, number, number, number]): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) png.data.set(rgba, 4 * i);
  return PNG.sync.write(png);
}

/** A PNG whose header claims width x height but holds almost no data: only its header can be read cheaply. */
function headerOnlyPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, "latin1");
    return Buffer.concat([head, data, Buffer.alloc(4)]); // the CRC is not checked before the size is
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.alloc(16))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("item 17: predict on pictures", () => {
  it.each([
    ["all-white.png", () => solidPng(60, 40, [255, 255, 255, 255])],
    ["all-transparent.png", () => solidPng(50, 50, [0, 0, 0, 0])],
    ["one-pixel.png", () => solidPng(1, 1, [0, 0, 0, 255])],
    ["all-black-28.png", () => solidPng(28, 28, [0, 0, 0, 255])],
    ["all-grey.png", () => solidPng(30, 30, [170, 170, 170, 255])],
  ])("item 17: %s has no ink: says so and exits 1", async (name, make) => {
    const path = join(dir, name);
    await writeFile(path, make());
    const r = await runInProcess(["predict", "--model", sigmoidModel, "--image", path]);
    expect(r.stdout).toBe("");
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `tapegrad: --image ${path}: no ink: the picture is one shade all over, so there is no digit to classify`,
    );
  });

  it("item 17: a picture over the pixel limit is refused from its header", async () => {
    const path = join(dir, "huge.png");
    await writeFile(path, headerOnlyPng(20000, 20000));
    const r = await runInProcess(["predict", "--model", sigmoidModel, "--image", path]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `tapegrad: --image ${path}: 20000x20000 pixels is over the limit of 16777216 pixels (4096x4096); scale it down`,
    );
  });

  it("item 17: a softmax-trained model reports the softmax of its outputs as probabilities", async () => {
    const r = await runInProcess(["predict", "--model", softmaxModel, "--index", "0", "--json"]);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as { outputs: number[]; probabilities: number[]; class: number };
    const max = Math.max(...p.outputs);
    const exps = p.outputs.map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    p.probabilities.forEach((q, c) => {
      expect(q).toBeCloseTo(exps[c] / sum, 12);
    });
    const text = await runInProcess(["predict", "--model", softmaxModel, "--index", "0"]);
    expect(text.stdout).toMatch(/^test example 0: predicted \d \(probability \d+\.\d%\)/m);
    expect(text.stdout).toContain("probability (softmax)");
  });

  it("item 17: a sigmoid-output model reports scores, not a distribution", async () => {
    const r = await runInProcess(["predict", "--model", sigmoidModel, "--index", "0", "--json"]);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(p).not.toHaveProperty("probabilities");
    expect(p.scores).toBe("sigmoid outputs: independent scores, not a probability distribution");
    const text = await runInProcess(["predict", "--model", sigmoidModel, "--index", "0"]);
    expect(text.stdout).toMatch(/^test example 0: predicted \d \(score \d\.\d{4}\)/m);
    expect(text.stdout).toContain("sigmoid outputs: independent scores, not a probability distribution");
    expect(text.stdout).not.toMatch(/probability \(|%/);
  });
});
