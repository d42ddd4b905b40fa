import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digitPng } from "../../packages/cli/src/data/digit-image.js";
import { loadMnistPackage } from "../../packages/cli/src/data/mnist-package.js";
import { safetensorsHeader, xmlRoot } from "./check-formats.js";
import { type CliResult, runCli, runInProcess } from "./run-cli.js";

interface History {
  epochs: Array<{ epoch: number; loss: number; testLoss: number; testAccuracy: number; seconds: number }>;
  final: { testLoss: number; testAccuracy: number };
  flags: Record<string, unknown>;
}

const SMALL = ["--limit", "400", "--test-limit", "200", "--epochs", "1"];

describe("tapegrad train on a small subset, then eval and predict on its model", () => {
  let dir: string;
  let tape: CliResult;
  let tape64: CliResult;
  let manual64: CliResult;
  let runDir: string; // the float32 run writes to the default runs/<timestamp>/ under its working directory
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tapegrad-cli-train-"));
    [tape, tape64, manual64] = await Promise.all([
      runCli(["train", ...SMALL], { cwd: dir }),
      runCli(["train", ...SMALL, "--dtype", "float64", "--seed", "7", "--out", join(dir, "tape64")], {
        cwd: dir,
      }),
      runCli(
        [
          "train",
          ...SMALL,
          "--dtype",
          "float64",
          "--seed",
          "7",
          "--backprop",
          "manual",
          "--out",
          join(dir, "manual64"),
        ],
        {
          cwd: dir,
        },
      ),
    ]);
    const m = tape.stdout.match(/wrote (runs\/\d{8}-\d{6}(?:-\d+)?)\//);
    runDir = join(dir, m ? m[1] : "no-runs-folder-in-the-output");
  }, 180_000); // three trainings in child processes: generous for a busy CI machine
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the run, one line per epoch and a summary, and exits 0", () => {
    expect(tape.stderr).toBe("");
    expect(tape.code).toBe(0);
    expect(tape.stdout).toMatch(
      /^training \[784, 30, 10\] sigmoid, quadratic loss, init normal, sgd lr 3, batch 10, 1 epoch, seed 1, float32/m,
    );
    expect(tape.stdout).toMatch(
      /^epoch 1\/1 {2}loss \d+\.\d{4} {2}test accuracy \d+\.\d{2}% {2}\d+\.\d{2}s$/m,
    );
    expect(tape.stdout).toMatch(/^done: 1 epoch in .* final test accuracy \d+\.\d{2}% .*wrote /m);
    // No progress bar on a pipe.
    expect(tape.stdout).not.toContain("\r");
    // Without --out, a fresh runs/<timestamp>/ folder under the working directory.
    expect(tape.stdout).toMatch(
      /wrote runs\/\d{8}-\d{6}(-\d+)?\/ \(model\.safetensors, history\.json, loss\.svg/,
    );
  });

  it("writes model.safetensors with the architecture and data source in its header", async () => {
    const header = await safetensorsHeader(join(runDir, "model.safetensors"));
    const meta = header.__metadata__ as Record<string, string>;
    expect(meta.format).toBe("tapegrad");
    expect(JSON.parse(meta.architecture)).toMatchObject({
      type: "NN",
      sizes: [784, 30, 10],
      activation: "sigmoid",
      loss: "quadratic",
    });
    expect(JSON.parse(meta.data)).toMatchObject({ kind: "mnist-package" });
    expect(header["w.0"]).toMatchObject({ dtype: "F32", shape: [784, 30] });
    expect(header["b.1"]).toMatchObject({ dtype: "F32", shape: [1, 10] });
  });

  it("writes history.json and SVG charts that parse", async () => {
    const history = JSON.parse(await readFile(join(runDir, "history.json"), "utf8")) as History;
    expect(history.epochs).toHaveLength(1);
    const [e] = history.epochs;
    expect(Number.isFinite(e.loss) && e.loss > 0).toBe(true);
    expect(e.testAccuracy).toBeGreaterThan(0.2); // one pass over 400 digits already beats guessing (10%)
    expect(e.testAccuracy).toBeLessThanOrEqual(1);
    expect(history.final.testAccuracy).toBeCloseTo(e.testAccuracy, 10);
    for (const name of ["loss.svg", "accuracy.svg", "training-curve.svg"]) {
      const svg = await readFile(join(runDir, name), "utf8");
      expect(xmlRoot(svg)).toBe("svg");
      expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
      expect(svg).toContain("<polyline");
    }
    for (const name of ["loss.png", "accuracy.png"]) {
      const png = await readFile(join(runDir, name));
      expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    }
    // Atomic writes leave no temporary files behind.
    const { readdir } = await import("node:fs/promises");
    expect((await readdir(runDir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("--backprop manual trains the same network as the tape, to rounding (float64, same seed)", async () => {
    expect(manual64.code).toBe(0);
    expect(tape64.code).toBe(0);
    expect(manual64.stdout).toContain("gradients from hand-derived deltas");
    const a = JSON.parse(await readFile(join(dir, "tape64", "history.json"), "utf8")) as History;
    const b = JSON.parse(await readFile(join(dir, "manual64", "history.json"), "utf8")) as History;
    expect(Math.abs(a.epochs[0].loss - b.epochs[0].loss)).toBeLessThan(1e-9 * Math.abs(a.epochs[0].loss));
    expect(Math.abs(a.final.testLoss - b.final.testLoss)).toBeLessThan(1e-9 * Math.abs(a.final.testLoss));
    expect(a.final.testAccuracy).toBe(b.final.testAccuracy);
  });

  it("eval scores the saved model exactly as training reported", async () => {
    const history = JSON.parse(await readFile(join(runDir, "history.json"), "utf8")) as History;
    const r = await runCli([
      "eval",
      "--model",
      join(runDir, "model.safetensors"),
      "--test-limit",
      "200",
      "--json",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { examples: number; loss: number; accuracy: number };
    expect(result.examples).toBe(200);
    expect(result.accuracy).toBe(history.final.testAccuracy);
    expect(result.loss).toBeCloseTo(history.final.testLoss, 6);
    const text = await runInProcess([
      "eval",
      "--model",
      join(runDir, "model.safetensors"),
      "--test-limit",
      "200",
      "--confusion",
    ]);
    expect(text.stdout).toMatch(/test accuracy \d+\.\d{2}%/);
    expect(text.stdout).toContain("confusion matrix");
  });

  it("predict classifies a test digit, and the same digit as a PNG, in either ink colour", async () => {
    const model = join(runDir, "model.safetensors");
    const { test } = await loadMnistPackage("float64");
    const digit = test.pixels.subarray(5 * 784, 6 * 784);
    const writePng = async (name: string, ink: (v: number) => number, scale: number) => {
      await writeFile(join(dir, name), digitPng(digit.map(ink), scale));
    };
    await writePng("white-on-black.png", (v) => v, 1);
    await writePng("black-on-white.png", (v) => 1 - v, 1);
    await writePng("large.png", (v) => 1 - v, 3);
    type Prediction = { class: number; label?: number; outputs: number[] };
    const predict = async (args: string[], inProcess = true) => {
      const r = await (inProcess ? runInProcess : runCli)(["predict", "--model", model, "--json", ...args]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout) as Prediction;
    };
    const byIndex = await predict(["--index", "5"], false);
    const white = await predict(["--image", join(dir, "white-on-black.png")]);
    const black = await predict(["--image", join(dir, "black-on-white.png")]);
    const large = await predict(["--image", join(dir, "large.png")]);
    expect(byIndex.label).toBe(test.labels[5]);
    // 8-bit PNG quantisation moves pixels by < 1/255: the same class, nearly the same outputs.
    expect(white.class).toBe(byIndex.class);
    expect(black.class).toBe(white.class);
    white.outputs.forEach((p, c) => {
      expect(p).toBeCloseTo(byIndex.outputs[c], 2);
    });
    expect(large.class).toBeGreaterThanOrEqual(0);
    expect(large.class).toBeLessThanOrEqual(9);
    // Bad pictures and indices: one line each.
    await writeFile(join(dir, "not-a.png"), "plain text");
    const notPng = await runInProcess(["predict", "--model", model, "--image", join(dir, "not-a.png")]);
    expect(notPng.code).toBe(1); // an unreadable file is a failure while running (docs/cli.md; issue 9 item 18)
    expect(notPng.stderr.trim()).toMatch(/^tapegrad: --image .*not-a\.png: not a PNG file/);
    const missing = await runInProcess(["predict", "--model", model, "--image", join(dir, "missing.png")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(`tapegrad: ${join(dir, "missing.png")}: no such file or directory`);
    const outside = await runInProcess(["predict", "--model", model, "--index", "2000"]);
    expect(outside.stderr.trim()).toBe("tapegrad: --index 2000: the test set has 2000 examples (0..1999)");
    const text = await runInProcess(["predict", "--model", model, "--index", "5", "--show"]);
    expect(text.stdout).toMatch(/test example 5: predicted \d \(score \d\.\d{4}\), label \d/);
    expect(text.stdout).toMatch(/[@%#]/); // the text picture of the digit
  });
});
