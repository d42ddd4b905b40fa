import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, runInProcess } from "./run-cli.js";

/** One clear line on stderr, no stack trace, a non-zero exit. */
function expectOneLineError(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(result.code).not.toBe(0);
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tapegrad: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe("tapegrad --help", () => {
  it("lists every command", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const command of ["train", "gradcheck", "graph", "eval", "predict"])
      expect(r.stdout).toContain(command);
  });

  it.each([
    [
      "train",
      [
        "--sizes <list>",
        "--activation",
        "--loss",
        "--init",
        "--optimizer",
        "--lr",
        "--schedule",
        "--batch-size",
        "--epochs",
        "--seed",
        "--dtype",
        "--backprop",
        "--out",
        "--limit",
        "--data",
        "--csv",
        "--target",
      ],
    ],
    ["gradcheck", ["--sizes", "--batch-size", "--samples", "--tolerance"]],
    ["graph", ["--sizes", "--out", "--level"]],
    ["eval", ["--model", "--data", "--csv"]],
    ["predict", ["--model", "--image", "--index"]],
  ])("describes every flag of %s", async (command, flags) => {
    const r = await runInProcess([command, "--help"]);
    expect(r.code).toBe(0);
    for (const flag of flags) expect(r.stdout).toContain(flag);
  });

  it("states the article's defaults for train", async () => {
    const r = await runInProcess(["train", "--help"]);
    for (const d of [
      "784,30,10",
      '"sigmoid"',
      '"quadratic"',
      '"normal"',
      '"sgd"',
      "3.0",
      "none",
      "(default: 10)",
      "(default: 30)",
      "(default: 1)",
      '"float32"',
      '"tape"',
    ]) {
      expect(r.stdout).toContain(d);
    }
  });
});

describe("bad input: one line on stderr and a non-zero exit", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tapegrad-cli-errors-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("an unknown command", async () => {
    expectOneLineError(await runCli(["trian"]), /unknown command 'trian'.*train/);
  });

  it("an unknown flag", async () => {
    expectOneLineError(
      await runInProcess(["train", "--learning-rate", "3"]),
      /unknown option '--learning-rate'/,
    );
  });

  it.each([
    [["train", "--sizes", "784,0,10"], /--sizes 784,0,10: expected at least two positive integers/],
    [["train", "--sizes", "784"], /--sizes 784: expected at least two/],
    [["train", "--lr", "-1"], /--lr -1: expected a number > 0/],
    [["train", "--epochs", "2.5"], /--epochs 2.5: expected a positive integer/],
    [["train", "--activation", "swish"], /--activation swish: expected one of sigmoid, tanh/],
    [["train", "--dtype", "float16"], /--dtype float16: expected one of float32, float64/],
    [["train", "--backprop", "magic"], /--backprop magic: expected one of tape, manual/],
    [["train", "--schedule", "step:0"], /--schedule step:0/],
    [["train", "--csv", "x.csv"], /--csv needs --target/],
    [["predict", "--model", "m.safetensors"], /exactly one of --image PNG or --index N/],
    [["eval"], /required option '--model <file>'/],
  ])("%j", async (args, pattern) => {
    expectOneLineError(await runInProcess(args as string[]), pattern as RegExp);
  });

  it("a first size that does not fit MNIST's 784 pixels", async () => {
    const r = await runInProcess(["train", "--sizes", "100,30,10", "--out", join(dir, "never")]);
    expectOneLineError(r, /--sizes 100,30,10: the first size must be 784/);
  });

  it("a last size that is not the 10 classes", async () => {
    const r = await runInProcess(["train", "--sizes", "784,30,9", "--out", join(dir, "never")]);
    expectOneLineError(r, /the last size must be 10, one per class/);
  });

  it("a model file that does not exist", async () => {
    expectOneLineError(
      await runCli(["eval", "--model", join(dir, "missing.safetensors")]),
      /missing\.safetensors: no such file/,
    );
  });

  it("a model file that is not a safetensors file", async () => {
    const path = join(dir, "garbage.safetensors");
    await writeFile(path, "this is not a model");
    expectOneLineError(await runInProcess(["eval", "--model", path]), /garbage\.safetensors|safetensors/);
  });

  it("a --data folder without IDX files", async () => {
    const r = await runCli([
      "train",
      "--data",
      join(dir, "nowhere"),
      "--epochs",
      "1",
      "--out",
      join(dir, "never"),
    ]);
    expectOneLineError(r, /nowhere/);
  });

  it("--debug adds the stack trace", async () => {
    const r = await runCli(["--debug", "eval", "--model", join(dir, "missing.safetensors")]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/\n\s+at /);
  });
});
