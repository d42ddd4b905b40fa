import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "./run-cli.js";

// Issue 9, item 20 (CLI parts): history.json records only the flags that apply; eval --confusion --json
// includes the matrix; predict --json gives the class as a number.

const TINY = ["train", "--limit", "200", "--test-limit", "100", "--epochs", "1", "--quiet"];

let dir: string;
let model: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tapegrad-item20-"));
  const r = await runInProcess([...TINY, "--out", join(dir, "sgd")]);
  expect(r.code).toBe(0);
  model = join(dir, "sgd", "model.safetensors");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function flags(name: string): Promise<Record<string, unknown>> {
  const history = JSON.parse(await readFile(join(dir, name, "history.json"), "utf8")) as {
    flags: Record<string, unknown>;
  };
  return history.flags;
}

describe("item 20: what the files and JSON lines record", () => {
  it("item 20: history.json has no momentum for plain SGD or Adam, and the momentum for momentum/nesterov", async () => {
    expect(await flags("sgd")).not.toHaveProperty("momentum");
    for (const [optimizer, lr] of [
      ["adam", "0.01"],
      ["nesterov", "0.1"],
    ]) {
      const r = await runInProcess([
        ...TINY,
        "--optimizer",
        optimizer,
        "--lr",
        lr,
        "--out",
        join(dir, optimizer),
      ]);
      expect(r.code).toBe(0);
    }
    expect(await flags("adam")).not.toHaveProperty("momentum");
    expect(await flags("nesterov")).toMatchObject({ optimizer: "nesterov", momentum: 0.9 });
  });

  it("item 20: eval --confusion --json includes the confusion matrix", async () => {
    const r = await runInProcess(["eval", "--model", model, "--test-limit", "100", "--confusion", "--json"]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { accuracy: number; confusion: number[][]; examples: number };
    expect(result.confusion).toHaveLength(10);
    for (const row of result.confusion) expect(row).toHaveLength(10);
    const total = result.confusion.flat().reduce((a, b) => a + b, 0);
    const diagonal = result.confusion.reduce((a, row, i) => a + row[i], 0);
    expect(total).toBe(result.examples);
    expect(diagonal / total).toBeCloseTo(result.accuracy, 12);
    // Without --confusion the JSON line stays as it was.
    const plain = JSON.parse(
      (await runInProcess(["eval", "--model", model, "--test-limit", "10", "--json"])).stdout,
    );
    expect(plain).not.toHaveProperty("confusion");
  });

  it("item 20: predict --json gives the class and label as numbers", async () => {
    const r = await runInProcess(["predict", "--model", model, "--index", "3", "--json"]);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as { class: unknown; label: unknown };
    expect(typeof p.class).toBe("number");
    expect(typeof p.label).toBe("number");
  });
});
