/**
 * examples/cnn-mnist.ts at CI size (one epoch on 1,000 digits): it runs from source as the README says,
 * prints one line per epoch and its final accuracy, and learns (ten classes: chance is 10%).
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSX = pathToFileURL(createRequire(`${ROOT}package.json`).resolve("tsx")).href;

function runExample(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", TSX, "--conditions=@tapegrad/source", `${ROOT}examples/cnn-mnist.ts`, ...args],
      { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("examples/cnn-mnist.ts at reduced size", () => {
  it("--epochs 1 --limit 1000 trains the CNN and scores well above chance", async () => {
    const r = await runExample(["--epochs", "1", "--limit", "1000"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^cnn-mnist: 1000 training \/ 1000 test digits, 1 epochs, batch 64/m);
    expect(r.stdout).toMatch(/^epoch {2}1\/1 {2}loss \d+\.\d{4} {2}train \d+\.\d{2}% {2}test \d+\.\d{2}%/m);
    const m = r.stdout.match(/^test accuracy (\d+\.\d{2})% \((\d+)\/1000\) after 1 epochs in/m);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(30);
  }, 120_000);
});
