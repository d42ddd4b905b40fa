import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rand } from "@tapegrad/autograd";
import { decodeSafetensors } from "@tapegrad/nn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadClassifier } from "../../packages/cli/src/model-file.js";
import { relativeError, runOnnx } from "../onnx/ort.js";
import { type CliResult, runCli } from "./run-cli.js";

const SMALL = ["--limit", "300", "--test-limit", "100", "--epochs", "1"];

/**
 * tapegrad export on models the CLI trained: the default network (784-30-10 sigmoid, float32) and a
 * deeper float64 one with another activation and loss. Each ONNX file runs in onnxruntime on a batch
 * size it was not exported with and agrees with tapegrad's forward of the same model file.
 */
describe("tapegrad export", () => {
  let dir: string;
  const trained: Record<string, CliResult> = {};
  const runs = {
    default: [] as string[],
    // xavier init and a small rate: with the article's N(0, 1) weights and rate 3, gelu + softmax
    // cross-entropy diverges (weights in the hundreds, outputs ~1e-4), and any two float64 engines then
    // differ by their summation order far more than 1e-12 of such outputs
    gelu64: [
      "--sizes",
      "784,16,12,10",
      "--activation",
      "gelu",
      "--loss",
      "softmaxCrossEntropy",
      "--init",
      "xavier",
      "--lr",
      "0.1",
      "--dtype",
      "float64",
    ],
    // the CNN of `--model cnn` (conv, BatchNorm in eval, pooling, dropout, linear)
    cnn: ["--model", "cnn", "--epochs", "1"],
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tapegrad-cli-export-"));
    await Promise.all(
      Object.entries(runs).map(async ([name, args]) => {
        trained[name] = await runCli(["train", ...SMALL, ...args, "--out", join(dir, name)], { cwd: dir });
      }),
    );
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [name, tol] of [
    ["default", 1e-5],
    ["gelu64", 1e-12],
    ["cnn", 1e-5],
  ] as const) {
    it(`--format onnx: the ${name} model runs in onnxruntime at another batch size`, async () => {
      expect(trained[name].code, trained[name].stderr).toBe(0);
      const model = join(dir, name, "model.safetensors");
      const r = await runCli(["export", "--model", model, "--format", "onnx"], { cwd: dir });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const out = join(dir, name, "model.onnx");
      expect(r.stdout).toContain(`wrote ${out}: ONNX opset 17`);
      const classifier = await loadClassifier(model);
      // pixels in [0, 1], as the digits the model was trained on
      const x = rand([7, 784], { seed: 3, dtype: classifier.dtype });
      const got = await runOnnx(await readFile(out), { input: x });
      expect(relativeError(got.output, classifier.forward(x))).toBeLessThanOrEqual(tol);
    });
  }

  it("--format torch writes PyTorch's nn.Sequential layout, and --out picks the file", async () => {
    const out = join(dir, "torch.safetensors");
    const r = await runCli(
      ["export", "--model", join(dir, "default", "model.safetensors"), "--format", "torch", "--out", out],
      {
        cwd: dir,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const { tensors, metadata } = decodeSafetensors(await readFile(out));
    expect(metadata.layout).toBe("torch");
    expect(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.shape]))).toEqual({
      "0.weight": [30, 784],
      "0.bias": [30],
      "2.weight": [10, 30],
      "2.bias": [10],
    });
  });

  it("--format torch writes the CNN under its Sequential's state_dict keys, Linear as [out, in]", async () => {
    const model = join(dir, "cnn", "model.safetensors");
    const out = join(dir, "cnn.torch.safetensors");
    const r = await runCli(["export", "--model", model, "--format", "torch", "--out", out], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const { tensors, metadata } = decodeSafetensors(await readFile(out));
    expect(metadata.layout).toBe("torch");
    const ours = (await loadClassifier(model)).module.stateDict();
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(ours).sort());
    const linear = Object.entries(tensors).filter(([, t]) => t.shape.length === 2);
    expect(linear.map(([, t]) => t.shape)).toEqual([[10, 512]]);
    // BatchNorm2d's buffers travel too
    expect(Object.keys(tensors).filter((k) => k.endsWith(".running_var"))).toHaveLength(2);
  });

  it("a file that is not a tapegrad model, and a bad format, fail with one line", async () => {
    const missing = await runCli(["export", "--model", join(dir, "nope.safetensors")], { cwd: dir });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    const badFormat = await runCli(["export", "--model", "x", "--format", "tflite"], { cwd: dir });
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toMatch(/--format/);
  });
});
