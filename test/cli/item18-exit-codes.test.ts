import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "./run-cli.js";

// Issue 9, item 18: exit codes as docs/cli.md states them (2: a usage mistake, such as a flag value that
// names nothing; 1: a failure while running, such as an unreadable or corrupted file), and one line that
// names the file and says what it is not.

let dir: string;
let model: string;
let csv: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tapegrad-item18-"));
  const r = await runInProcess([
    "train",
    "--limit",
    "50",
    "--test-limit",
    "20",
    "--epochs",
    "1",
    "--quiet",
    "--out",
    join(dir, "m"),
  ]);
  expect(r.code).toBe(0);
  model = join(dir, "m", "model.safetensors");
  csv = join(dir, "table.csv");
  await writeFile(
    csv,
    ["a,b,y", ...Array.from({ length: 20 }, (_, i) => `${i},${i % 3},${i * 2}`)].join("\n"),
  );
  await mkdir(join(dir, "a-folder"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function oneLine(r: { code: number | null; stderr: string }, code: number, expected: string | RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  if (typeof expected === "string") expect(lines[0]).toBe(expected);
  else expect(lines[0]).toMatch(expected);
  expect(lines[0]).not.toMatch(/readCsv|parseCsv|EISDIR|illegal operation/);
}

describe("item 18: exit codes and messages", () => {
  it("item 18: a --target column that does not exist is a usage mistake (exit 2)", async () => {
    const r = await runInProcess(["train", "--csv", csv, "--target", "nope", "--out", join(dir, "never")]);
    oneLine(r, 2, `tapegrad: --target nope: ${csv} has no column named "nope" (columns: a, b, y)`);
    const r2 = await runInProcess(["train", "--csv", csv, "--target", "7", "--out", join(dir, "never")]);
    oneLine(r2, 2, `tapegrad: --target 7: ${csv} has 3 columns (0..2)`);
  });

  it("item 18: an unreadable image is a failure while running (exit 1), named as not a PNG", async () => {
    const path = join(dir, "photo.png");
    await writeFile(path, "GIF89a this is not a PNG");
    oneLine(
      await runInProcess(["predict", "--model", model, "--image", path]),
      1,
      `tapegrad: --image ${path}: not a PNG file (no PNG signature at its start)`,
    );
  });

  it("item 18: a folder where a file is expected names the folder (exit 1)", async () => {
    const folder = join(dir, "a-folder");
    const expected = `tapegrad: ${folder}: is a directory, expected a file`;
    oneLine(await runInProcess(["eval", "--model", folder]), 1, expected);
    oneLine(await runInProcess(["predict", "--model", model, "--image", folder]), 1, expected);
    oneLine(
      await runInProcess(["train", "--csv", folder, "--target", "y", "--out", join(dir, "never")]),
      1,
      expected,
    );
  });

  it("item 18: a JSON file given as a model is not a safetensors file (exit 1)", async () => {
    const path = join(dir, "history.json");
    await writeFile(path, JSON.stringify({ epochs: [{ loss: 0.25, testAccuracy: 0.9 }] }, null, 2));
    oneLine(
      await runInProcess(["eval", "--model", path]),
      1,
      `tapegrad: --model ${path}: not a safetensors file (it should start with an 8-byte header length and a JSON header)`,
    );
    const tiny = join(dir, "tiny.safetensors");
    await writeFile(tiny, "abc");
    oneLine(
      await runInProcess(["eval", "--model", tiny]),
      1,
      /^tapegrad: --model .*tiny\.safetensors: not a safetensors file/,
    );
  });

  it("item 18: CSV errors name the file and line, not an internal function (exit 1)", async () => {
    const bad = join(dir, "bad.csv");
    await writeFile(bad, "a,b,y\n1,2,3\n4,x,6\n7,8,9\n");
    oneLine(
      await runInProcess(["train", "--csv", bad, "--target", "y", "--out", join(dir, "never")]),
      1,
      `tapegrad: ${bad} line 3, column 2 ("b"): "x" is not a finite number`,
    );
    const empty = join(dir, "empty.csv");
    await writeFile(empty, "");
    oneLine(
      await runInProcess(["train", "--csv", empty, "--target", "y", "--out", join(dir, "never")]),
      1,
      `tapegrad: ${empty} is empty`,
    );
  });
});
