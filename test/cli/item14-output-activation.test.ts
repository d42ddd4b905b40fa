import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tensor } from "@tapegrad/autograd";
import { encodeSafetensors, NN, quadratic, relu } from "@tapegrad/nn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { safetensorsHeader } from "./check-formats.js";
import { runInProcess } from "./run-cli.js";

// Issue 9, item 14: --output-activation. The output layer of a softmaxCrossEntropy network gives logits
// (identity); every other loss keeps the hidden activation on the output, as the article's network does.

const TINY = ["--limit", "200", "--test-limit", "100", "--epochs", "2", "--quiet"];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tapegrad-item14-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function architecture(out: string): Promise<Record<string, unknown>> {
  const header = await safetensorsHeader(join(out, "model.safetensors"));
  return JSON.parse((header.__metadata__ as Record<string, string>).architecture) as Record<string, unknown>;
}

async function train(name: string, args: string[]): Promise<string> {
  const out = join(dir, name);
  const r = await runInProcess(["train", ...TINY, ...args, "--out", out]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return out;
}

type Prediction = { outputs: number[]; probabilities: number[] };
async function predict(model: string, index: number): Promise<Prediction> {
  const r = await runInProcess(["predict", "--model", model, "--index", String(index), "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Prediction;
}

const RELU_SOFTMAX = ["--sizes", "784,32,10", "--activation", "relu", "--loss", "softmaxCrossEntropy"];

describe("item 14: --output-activation", () => {
  it("item 14: softmaxCrossEntropy gives identity outputs (logits) by default, recorded in the model file", async () => {
    const out = await train("relu-softmax", [
      ...RELU_SOFTMAX,
      "--init",
      "he",
      "--optimizer",
      "adam",
      "--lr",
      "0.001",
    ]);
    expect(await architecture(out)).toMatchObject({
      activation: "relu",
      outputActivation: "identity",
      loss: "softmaxCrossEntropy",
    });
    // ReLU on the logits would clamp them at 0: identity outputs go negative for some classes.
    const outputs = (
      await Promise.all([0, 1, 2].map((i) => predict(join(out, "model.safetensors"), i)))
    ).flatMap((p) => p.outputs);
    expect(Math.min(...outputs)).toBeLessThan(0);
  });

  it("item 14: other losses keep the hidden activation on the output (the article's network)", async () => {
    const out = await train("article", []);
    expect(await architecture(out)).toMatchObject({ activation: "sigmoid", outputActivation: "sigmoid" });
  });

  it("item 14: --output-activation overrides the default and eval rebuilds the same network", async () => {
    const out = await train("tanh-out", [...RELU_SOFTMAX, "--output-activation", "tanh", "--init", "he"]);
    expect(await architecture(out)).toMatchObject({ activation: "relu", outputActivation: "tanh" });
    const outputs = (await predict(join(out, "model.safetensors"), 0)).outputs;
    for (const v of outputs) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    const history = JSON.parse(await readFile(join(out, "history.json"), "utf8")) as {
      final: { testAccuracy: number; testLoss: number };
      flags: Record<string, unknown>;
    };
    expect(history.flags.outputActivation).toBe("tanh");
    const r = await runInProcess([
      "eval",
      "--model",
      join(out, "model.safetensors"),
      "--test-limit",
      "100",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const scored = JSON.parse(r.stdout) as { accuracy: number; loss: number };
    expect(scored.accuracy).toBe(history.final.testAccuracy);
    expect(scored.loss).toBeCloseTo(history.final.testLoss, 6);
  });

  it("item 14: hand-derived deltas and the tape train the same relu/identity network (float64)", async () => {
    const common = [
      ...RELU_SOFTMAX,
      "--init",
      "he",
      "--optimizer",
      "adam",
      "--lr",
      "0.001",
      "--dtype",
      "float64",
    ];
    const tapeOut = await train("tape64", common);
    const manualOut = await train("manual64", [...common, "--backprop", "manual"]);
    const read = async (out: string) =>
      JSON.parse(await readFile(join(out, "history.json"), "utf8")) as { epochs: Array<{ loss: number }> };
    const a = await read(tapeOut);
    const b = await read(manualOut);
    a.epochs.forEach((e, i) => {
      expect(Math.abs(e.loss - b.epochs[i].loss)).toBeLessThan(1e-9 * Math.abs(e.loss));
    });
  });

  it("item 14: the documented relu/softmax run predicts every class and passes 94% (78.75% with ReLU on the logits)", async () => {
    // docs/cli.md's command, as written there (the measured 95.20% is quoted in docs/cli.md; 94% leaves room
    // for float summation order, while ReLU on the logits stayed at 78.75% and never predicted 5 or 6).
    const out = join(dir, "documented");
    const r = await runInProcess([
      "train",
      ...["--sizes", "784,100,10", "--activation", "relu", "--loss", "softmaxCrossEntropy"],
      ...["--init", "he", "--optimizer", "adam", "--lr", "0.001", "--batch-size", "64", "--epochs", "10"],
      ...["--quiet", "--out", out],
    ]);
    expect(r.code).toBe(0);
    const e = await runInProcess([
      "eval",
      "--model",
      join(out, "model.safetensors"),
      "--confusion",
      "--json",
    ]);
    const result = JSON.parse(e.stdout) as { accuracy: number; confusion: number[][] };
    expect(result.accuracy).toBeGreaterThanOrEqual(0.94);
    for (let c = 0; c < 10; c++) {
      const predicted = result.confusion.reduce((a, row) => a + row[c], 0);
      expect(predicted, `class ${c} is predicted`).toBeGreaterThan(0);
    }
  });

  it("item 14: a model file without outputActivation loads as before (the activation on every layer)", async () => {
    const net = new NN([784, 8, 10], relu, quadratic, { seed: 3, dtype: "float64" });
    const path = join(dir, "old.safetensors");
    // A file as written before issue 9: its architecture has no outputActivation.
    const { outputActivation: _, ...oldArchitecture } = net.architecture();
    await writeFile(
      path,
      encodeSafetensors(net.namedParameters(), {
        format: "tapegrad",
        architecture: JSON.stringify(oldArchitecture),
        layout: "W[in,out]",
        data: JSON.stringify({ kind: "mnist-package", rows: 28, cols: 28, classes: 10 }),
      }),
    );
    const header = await safetensorsHeader(path);
    expect(
      JSON.parse((header.__metadata__ as Record<string, string>).architecture).outputActivation,
    ).toBeUndefined();
    const p = await predict(path, 3);
    const { loadMnistPackage } = await import("../../packages/cli/src/data/mnist-package.js");
    const { test } = await loadMnistPackage("float64");
    const x = tensor(Float64Array.from(test.pixels.subarray(3 * 784, 4 * 784)), { shape: [1, 784] });
    const expected = Array.from(net.forwardPass(x).data);
    p.outputs.forEach((v, c) => {
      expect(v).toBeCloseTo(expected[c], 12);
    });
  });
});
