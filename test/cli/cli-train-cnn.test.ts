/**
 * `tapegrad train --model cnn` on a small subset writes the same outputs as the default run, and eval and
 * predict work on its model file, which describes the CNN as a list of layers with their options.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digitPng } from "../../packages/cli/src/data/digit-image.js";
import { loadMnistPackage } from "../../packages/cli/src/data/mnist-package.js";
import { safetensorsHeader } from "./check-formats.js";
import { type CliResult, runCli, runInProcess } from "./run-cli.js";

describe("tapegrad train --model cnn, then eval and predict on its model file", () => {
  let dir: string;
  let run: CliResult;
  let out: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tapegrad-cli-cnn-"));
    out = join(dir, "cnn");
    model = join(out, "model.safetensors");
    run = await runCli(
      ["train", "--model", "cnn", "--limit", "640", "--test-limit", "300", "--epochs", "2", "--out", out],
      { cwd: dir, timeoutMs: 170_000 },
    );
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the CNN and its defaults, one line per epoch, the summary, and learns", async () => {
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^training cnn \(\[1x28x28\], conv5x5 16, BatchNorm2d, ReLU, maxpool 2x2, conv5x5 32, .*linear 512→10\), softmaxCrossEntropy loss, adam lr 0\.002 \(cosine\), batch 64, 2 epochs, seed 1, float32, gradients from the tape$/m,
    );
    expect(run.stdout.match(/^epoch \d\/2 {2}loss \d+\.\d{4} {2}test accuracy \d+\.\d{2}%/gm)).toHaveLength(
      2,
    );
    expect(run.stdout).toMatch(/^done: 2 epochs in .* final test accuracy \d+\.\d{2}%/m);
    const history = JSON.parse(await readFile(join(out, "history.json"), "utf8")) as {
      flags: Record<string, unknown>;
      final: { testAccuracy: number };
      epochs: unknown[];
    };
    expect(history.epochs).toHaveLength(2);
    expect(history.flags).toMatchObject({ model: "cnn", loss: "softmaxCrossEntropy", optimizer: "adam" });
    expect(history.flags.sizes).toBeUndefined();
    // ten classes: chance is 10%; two short epochs on 640 digits are far above it
    expect(history.final.testAccuracy).toBeGreaterThan(0.4);
    for (const file of ["loss.svg", "loss.png", "accuracy.svg", "accuracy.png", "training-curve.png"])
      expect((await readFile(join(out, file))).length, file).toBeGreaterThan(100);
  });

  it("the model file lists the layers with their options and holds torch-named weights and buffers", async () => {
    const header = await safetensorsHeader(model);
    const meta = header.__metadata__ as Record<string, string>;
    const arch = JSON.parse(meta.architecture) as { type: string; layers: Array<Record<string, unknown>> };
    expect(arch.type).toBe("Sequential");
    expect(arch.layers.map((l) => l.type)).toEqual([
      "Unflatten",
      "Conv2d",
      "BatchNorm2d",
      "ReLU",
      "MaxPool2d",
      "Conv2d",
      "BatchNorm2d",
      "ReLU",
      "MaxPool2d",
      "Flatten",
      "Dropout",
      "Linear",
    ]);
    expect(arch.layers[5]).toEqual({
      type: "Conv2d",
      inChannels: 16,
      outChannels: 32,
      kernelSize: [5, 5],
      stride: [1, 1],
      padding: [0, 0],
      dilation: [1, 1],
      groups: 1,
      bias: true,
    });
    expect(header["1.weight"]).toMatchObject({ dtype: "F32", shape: [16, 1, 5, 5] });
    expect(header["2.running_var"]).toMatchObject({ shape: [16] });
    expect(header["11.weight"]).toMatchObject({ shape: [512, 10] });
  });

  it("eval rebuilds the CNN and scores it as training did (BatchNorm in eval mode)", async () => {
    const history = JSON.parse(await readFile(join(out, "history.json"), "utf8")) as {
      final: { testAccuracy: number; testLoss: number };
    };
    const text = await runInProcess(["eval", "--model", model, "--test-limit", "300", "--confusion"]);
    expect(text.stderr).toBe("");
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^model .*model\.safetensors: cnn \(\[1x28x28\], conv5x5 16, .*\), float32$/m,
    );
    expect(text.stdout).toContain(`test accuracy ${(100 * history.final.testAccuracy).toFixed(2)}%`);
    expect(text.stdout).toContain("confusion matrix");
    const json = await runInProcess(["eval", "--model", model, "--test-limit", "300", "--json"]);
    const r = JSON.parse(json.stdout) as { accuracy: number; loss: number; examples: number };
    expect(r.examples).toBe(300);
    expect(r.accuracy).toBe(history.final.testAccuracy);
    expect(r.loss).toBeCloseTo(history.final.testLoss, 5);
  });

  it("predict classifies a test digit by index and the same digit as a PNG alike", async () => {
    const byIndex = await runInProcess(["predict", "--model", model, "--index", "5", "--json"]);
    expect(byIndex.code).toBe(0);
    const a = JSON.parse(byIndex.stdout) as { class: number; probabilities: number[]; outputs: number[] };
    expect(a.probabilities).toHaveLength(10);
    expect(a.probabilities.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 6);
    const { test } = await loadMnistPackage("float64");
    await writeFile(join(dir, "digit.png"), digitPng(test.pixels.subarray(5 * 784, 6 * 784), 1));
    const byImage = await runInProcess([
      "predict",
      "--model",
      model,
      "--image",
      join(dir, "digit.png"),
      "--json",
    ]);
    expect(byImage.code).toBe(0);
    expect((JSON.parse(byImage.stdout) as { class: number }).class).toBe(a.class);
    const text = await runInProcess(["predict", "--model", model, "--index", "5"]);
    expect(text.stdout).toMatch(/^test example 5: predicted \d \(probability \d+\.\d%\), label \d/m);
  });

  it("refuses flags that belong to the article's network, and tables", async () => {
    const sizes = await runInProcess(["train", "--model", "cnn", "--sizes", "784,10", "--epochs", "1"]);
    expect(sizes.code).toBe(2);
    expect(sizes.stderr).toMatch(/--sizes: not used by --model cnn/);
    const manual = await runInProcess(["train", "--model", "cnn", "--backprop", "manual", "--epochs", "1"]);
    expect(manual.code).toBe(2);
    expect(manual.stderr).toMatch(/--backprop manual: .*--model cnn uses the tape/);
    const csv = join(dir, "t.csv");
    await writeFile(csv, "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n");
    const table = await runInProcess([
      "train",
      "--model",
      "cnn",
      "--csv",
      csv,
      "--target",
      "y",
      "--epochs",
      "1",
    ]);
    expect(table.code).not.toBe(0);
    expect(table.stderr).toMatch(/--model cnn: needs images/);
    const bad = await runInProcess(["train", "--model", "resnet"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--model resnet: expected one of mlp, cnn/);
  });

  it("graph --model cnn draws the CNN's loss, convolutions and pools among its primitives", async () => {
    const g = join(dir, "graph");
    const r = await runInProcess(["graph", "--model", "cnn", "--batch-size", "2", "--out", g]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^recorded \d+ tape nodes for cnn \(\[1x28x28\], conv5x5 16, .*\) \+ softmaxCrossEntropy$/m,
    );
    const mmd = await readFile(join(g, "graph.mmd"), "utf8");
    expect(mmd).toContain("[2, 16, 24, 24]"); // the first convolution's output
    expect(mmd).toContain("[2, 32, 4, 4]"); // after the second pool
    expect(mmd).toContain("every primitive");
  });
});
