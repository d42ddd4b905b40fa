import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { safetensorsHeader } from "./check-formats.js";
import { runInProcess } from "./run-cli.js";

const TINY = ["--limit", "100", "--test-limit", "50", "--epochs", "2", "--quiet"];

interface History {
  epochs: Array<{ loss: number; lr: number }>;
  flags: Record<string, unknown>;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tapegrad-cli-options-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function train(name: string, args: string[]): Promise<History> {
  const out = join(dir, name);
  const r = await runInProcess(["train", ...TINY, ...args, "--out", out]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(await readFile(join(out, "history.json"), "utf8")) as History;
}

describe("train flags reach the network and the optimiser", () => {
  it.each([
    ["sgd", "3"],
    ["momentum", "0.1"],
    ["nesterov", "0.1"],
    ["adam", "0.01"],
    ["adamw", "0.01"],
    ["rmsprop", "0.01"],
    ["adagrad", "0.1"],
  ])("--optimizer %s trains to finite losses", async (optimizer, lr) => {
    const history = await train(optimizer, ["--optimizer", optimizer, "--lr", lr]);
    expect(history.flags.optimizer).toBe(optimizer);
    for (const e of history.epochs) expect(Number.isFinite(e.loss)).toBe(true);
  });

  it("--schedule step:1:0.5 halves the learning rate every epoch", async () => {
    const history = await train("schedule", ["--schedule", "step:1:0.5", "--epochs", "3"]);
    expect(history.epochs.map((e) => e.lr)).toEqual([3, 1.5, 0.75]);
  });

  it("--sizes, --activation, --loss and --dtype shape the saved model", async () => {
    const out = join(dir, "shape");
    const r = await runInProcess([
      "train",
      ...TINY,
      "--sizes",
      "784,16,8,10",
      "--activation",
      "tanh",
      "--loss",
      "softmaxCrossEntropy",
      "--init",
      "xavier",
      "--dtype",
      "float64",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    const header = await safetensorsHeader(join(out, "model.safetensors"));
    expect(JSON.parse((header.__metadata__ as Record<string, string>).architecture)).toMatchObject({
      sizes: [784, 16, 8, 10],
      activation: "tanh",
      loss: "softmaxCrossEntropy",
      init: "xavier",
    });
    expect(header["w.2"]).toMatchObject({ dtype: "F64", shape: [8, 10] });
  });

  it("stops with one line when the loss stops being a number", async () => {
    const r = await runInProcess([
      "train",
      ...TINY,
      "--activation",
      "identity",
      "--lr",
      "1000",
      "--out",
      join(dir, "nan"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^tapegrad: train: the training loss became (NaN|Infinity) in epoch 1 \(lr 1000\); try a smaller --lr/,
    );
    // No empty output folder is left behind.
    await expect(stat(join(dir, "nan"))).rejects.toThrow(/ENOENT/);
  });

  it("rejects a batch larger than the training set", async () => {
    const r = await runInProcess(["train", ...TINY, "--batch-size", "101", "--out", join(dir, "never")]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe("tapegrad: --batch-size 101: larger than the 100 training examples");
  });
});
