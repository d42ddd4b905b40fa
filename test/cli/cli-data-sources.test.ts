import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadMnistPackage } from "../../packages/cli/src/data/mnist-package.js";
import { mulberry32 } from "../../packages/cli/src/data/split-rng.js";
import { safetensorsHeader } from "./check-formats.js";
import { runInProcess } from "./run-cli.js";

/** An IDX file of unsigned bytes: 00 00 08 ndim, big-endian sizes, then the bytes. */
function idx(shape: number[], values: ArrayLike<number>): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(header.buffer);
  header.set([0, 0, 8, shape.length]);
  shape.forEach((n, d) => {
    view.setUint32(4 + 4 * d, n, false);
  });
  const out = new Uint8Array(header.length + values.length);
  out.set(header);
  for (let i = 0; i < values.length; i++) out[header.length + i] = values[i];
  return out;
}

interface History {
  epochs: Array<{ loss: number; testLoss: number; testAccuracy?: number }>;
  data: { spec: { kind: string; task?: string } };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tapegrad-cli-data-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("--data DIR: the original MNIST IDX files", () => {
  let idxDir: string;
  beforeAll(async () => {
    idxDir = join(dir, "idx");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(idxDir);
    const { train, test } = await loadMnistPackage("float64");
    const bytes = (pixels: Float64Array | Float32Array, n: number) =>
      Array.from(pixels.subarray(0, n * 784), (v) => Math.round(v * 255));
    // Training files gzipped, test files plain: both forms are read.
    await writeFile(
      join(idxDir, "train-images-idx3-ubyte.gz"),
      gzipSync(idx([300, 28, 28], bytes(train.pixels, 300))),
    );
    await writeFile(
      join(idxDir, "train-labels-idx1-ubyte.gz"),
      gzipSync(idx([300], train.labels.subarray(0, 300))),
    );
    await writeFile(join(idxDir, "t10k-images-idx3-ubyte"), idx([100, 28, 28], bytes(test.pixels, 100)));
    await writeFile(join(idxDir, "t10k-labels-idx1-ubyte"), idx([100], test.labels.subarray(0, 100)));
  });

  it("trains on them and eval finds them again through the model's metadata", async () => {
    const out = join(dir, "idx-run");
    const r = await runInProcess(["train", "--data", idxDir, "--epochs", "2", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`data: IDX files in ${idxDir}: 300 train, 100 test`);
    const meta = (await safetensorsHeader(join(out, "model.safetensors"))).__metadata__ as Record<
      string,
      string
    >;
    expect(JSON.parse(meta.data)).toEqual({ kind: "idx", dir: idxDir, rows: 28, cols: 28, classes: 10 });
    const e = await runInProcess(["eval", "--model", join(out, "model.safetensors"), "--json"]);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout).examples).toBe(100);
  });

  it("names the file when one is truncated or missing", async () => {
    const bad = join(dir, "idx-bad");
    const { cp } = await import("node:fs/promises");
    await cp(idxDir, bad, { recursive: true });
    const full = await readFile(join(bad, "t10k-images-idx3-ubyte"));
    await writeFile(join(bad, "t10k-images-idx3-ubyte"), full.subarray(0, full.length - 10));
    const r = await runInProcess(["train", "--data", bad, "--epochs", "1", "--out", join(dir, "never")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tapegrad: .*t10k-images-idx3-ubyte.*truncated/);
    await rm(join(bad, "t10k-labels-idx1-ubyte"));
    const r2 = await runInProcess(["train", "--data", bad, "--epochs", "1", "--out", join(dir, "never")]);
    expect(r2.stderr.trim()).toMatch(
      /^tapegrad: --data .*: t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte\.gz\) not found$/,
    );
  });
});

describe("--csv FILE --target COLUMN", () => {
  let divers: string;
  let flowers: string;
  beforeAll(async () => {
    const random = mulberry32(5);
    // The article's example: how long divers hold their breath, from measurements of them.
    const lines = ["height_cm,weight_kg,age,lung_capacity_l,breath_hold_s"];
    for (let i = 0; i < 200; i++) {
      const height = 160 + 30 * random();
      const weight = 55 + 40 * random();
      const age = 18 + 40 * random();
      const lungs = 3 + 0.04 * (height - 160) + 1.5 * random();
      const hold = 20 + 18 * lungs - 0.4 * (age - 18) - 0.1 * (weight - 55) + 4 * (random() - 0.5);
      lines.push([height, weight, age, lungs, hold].map((v) => v.toFixed(2)).join(","));
    }
    divers = join(dir, "divers.csv");
    await writeFile(divers, `${lines.join("\n")}\n`);
    // Three well-separated classes in two features, the label in the first column.
    const rows = ["species,petal,sepal"];
    for (let i = 0; i < 150; i++) {
      const c = i % 3;
      rows.push(`${c},${(c * 3 + random()).toFixed(3)},${(5 - c * 2 + random()).toFixed(3)}`);
    }
    flowers = join(dir, "flowers.csv");
    await writeFile(flowers, `${rows.join("\n")}\n`);
  });

  it("regression: fits the input and output sizes to the table and the loss falls", async () => {
    const out = join(dir, "divers-run");
    const r = await runInProcess([
      "train",
      "--csv",
      divers,
      "--target",
      "breath_hold_s",
      "--epochs",
      "15",
      "--lr",
      "1",
      "--out",
      out,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("training [4, 30, 1] sigmoid");
    expect(r.stdout).toContain("regression of breath_hold_s from 4 columns");
    expect(r.stdout).toMatch(/^epoch 15\/15 {2}loss \d+\.\d{4} {2}test loss \d+\.\d{4}/m);
    const history = JSON.parse(await readFile(join(out, "history.json"), "utf8")) as History;
    expect(history.epochs[14].testLoss).toBeLessThan(history.epochs[0].testLoss);
    const p = await runInProcess([
      "predict",
      "--model",
      join(out, "model.safetensors"),
      "--index",
      "0",
      "--json",
    ]);
    expect(p.code).toBe(0);
    const { prediction, actual } = JSON.parse(p.stdout) as { prediction: number; actual: number };
    // The test row's own value, back in seconds: the divers' formula above gives roughly 30..125 s.
    expect(actual).toBeGreaterThan(20);
    expect(actual).toBeLessThan(160);
    expect(prediction).toBeGreaterThan(20); // in the table's units (seconds), not the 0..1 training scale
    expect(prediction).toBeLessThan(200);
  });

  it("classification: integer targets with few values become classes and are learned", async () => {
    const out = join(dir, "flowers-run");
    const r = await runInProcess([
      "train",
      "--csv",
      flowers,
      "--target",
      "0",
      "--epochs",
      "10",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("training [2, 30, 3]");
    expect(r.stdout).toContain("classification of species");
    const history = JSON.parse(await readFile(join(out, "history.json"), "utf8")) as History;
    expect(history.epochs[9].testAccuracy).toBeGreaterThan(0.9);
    const e = await runInProcess(["eval", "--model", join(out, "model.safetensors"), "--json"]);
    expect(JSON.parse(e.stdout).accuracy).toBe(history.epochs[9].testAccuracy);
  });

  it("rejects sizes that do not fit the table, and a column that does not exist", async () => {
    const r = await runInProcess(["train", "--csv", divers, "--target", "breath_hold_s", "--sizes", "5,8,1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(
      "tapegrad: --sizes 5,8,1: the first size must be 4 for the CSV's 4 feature columns",
    );
    const r2 = await runInProcess(["train", "--csv", divers, "--target", "depth"]);
    expect(r2.code).toBe(2); // a flag value that names no column is a usage mistake (issue 9 item 18)
    expect(r2.stderr.trim().split("\n")).toHaveLength(1);
    expect(r2.stderr).toMatch(/no column named "depth"/);
    const r3 = await runInProcess(["train", "--csv", join(dir, "nope.csv"), "--target", "x"]);
    expect(r3.stderr).toMatch(/nope\.csv/);
  });
});
