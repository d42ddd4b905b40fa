import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "./run-cli.js";

// Issue 9, item 16: --out refuses a folder that already holds files unless --force is given.

const TINY = ["train", "--limit", "50", "--test-limit", "20", "--epochs", "1", "--quiet"];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tapegrad-item16-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("item 16: --out and an earlier run", () => {
  it("item 16: refuses a non-empty --out folder (exit 2) and leaves its files alone", async () => {
    const out = join(dir, "earlier");
    await mkdir(out);
    await writeFile(join(out, "model.safetensors"), "an earlier run's model");
    const r = await runInProcess([...TINY, "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `tapegrad: --out ${out}: the folder is not empty (model.safetensors); give another folder, or --force to overwrite`,
    );
    expect(await readFile(join(out, "model.safetensors"), "utf8")).toBe("an earlier run's model");
    expect(await readdir(out)).toEqual(["model.safetensors"]);
  });

  it("item 16: --force overwrites; a new or empty folder needs no --force", async () => {
    const out = join(dir, "forced");
    await mkdir(out);
    await writeFile(join(out, "model.safetensors"), "old");
    const forced = await runInProcess([...TINY, "--out", out, "--force"]);
    expect(forced.stderr).toBe("");
    expect(forced.code).toBe(0);
    expect((await readFile(join(out, "model.safetensors"))).subarray(8, 9).toString()).toBe("{");
    const empty = join(dir, "empty");
    await mkdir(empty);
    expect((await runInProcess([...TINY, "--out", empty])).code).toBe(0);
    expect((await runInProcess([...TINY, "--out", join(dir, "new", "deeper")])).code).toBe(0);
  });
});
