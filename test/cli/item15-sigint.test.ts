import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runInProcess } from "./run-cli.js";

// Issue 9, item 15: Ctrl-C during training keeps the finished epochs. The CLI runs as a child process (as
// `pnpm tapegrad` does); SIGINT is sent once the first epoch line appears.

const TSX = pathToFileURL(createRequire(`${ROOT}package.json`).resolve("tsx")).href;

interface Interrupted {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `tapegrad train ...`, sends SIGINT `times` times once stdout shows `after`, and waits for the exit. */
function trainAndInterrupt(args: string[], after: RegExp, times = 1): Promise<Interrupted> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", TSX, "--conditions=@tapegrad/source", `${ROOT}packages/cli/src/main.ts`, "train", ...args],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: "1", NODE_OPTIONS: "" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    let sent = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no exit after SIGINT\n${stdout}\n${stderr}`));
    }, 120_000);
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      if (!sent && after.test(stdout)) {
        sent = true;
        for (let k = 0; k < times; k++) child.kill("SIGINT");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tapegrad-item15-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MANY_EPOCHS = ["--limit", "200", "--test-limit", "50", "--epochs", "100000"];

describe("item 15: Ctrl-C during training", () => {
  it("item 15: SIGINT writes the model and history of the last finished epoch, says so in one line, exits 130", async () => {
    const out = join(dir, "stopped");
    const r = await trainAndInterrupt([...MANY_EPOCHS, "--out", out], /^epoch 1\/100000 /m);
    expect(r.code).toBe(130);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^tapegrad: interrupted: kept the \d+ finished epochs? of 100000 in .*stopped\/ \(model\.safetensors, history\.json/,
    );
    const history = JSON.parse(await readFile(join(out, "history.json"), "utf8")) as {
      epochs: Array<{ epoch: number; testAccuracy: number; testLoss: number }>;
      interrupted: { finishedEpochs: number; epochs: number };
      final: { testAccuracy: number };
    };
    const finished = history.epochs.length;
    expect(finished).toBeGreaterThanOrEqual(1);
    expect(finished).toBeLessThan(100000);
    expect(history.interrupted).toEqual({ finishedEpochs: finished, epochs: 100000 });
    expect(lines[0]).toContain(`kept the ${finished} finished epoch`);
    // Every epoch line that was printed is in the history, and no more.
    expect(r.stdout.match(/^epoch \d+\/100000 /gm)).toHaveLength(finished);
    // The model is the one of the last finished epoch: eval scores it exactly as that epoch was scored.
    const last = history.epochs[finished - 1];
    expect(history.final.testAccuracy).toBe(last.testAccuracy);
    const scored = await runInProcess([
      "eval",
      "--model",
      join(out, "model.safetensors"),
      "--test-limit",
      "50",
      "--json",
    ]);
    expect(scored.code).toBe(0);
    const result = JSON.parse(scored.stdout) as { accuracy: number; loss: number };
    expect(result.accuracy).toBe(last.testAccuracy);
    expect(result.loss).toBeCloseTo(last.testLoss, 6);
    expect((await readdir(out)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("item 15: a second SIGINT quits at once with exit 130, leaving no temporary files", async () => {
    const out = join(dir, "twice");
    const r = await trainAndInterrupt([...MANY_EPOCHS, "--out", out], /^epoch 1\/100000 /m, 2);
    expect(r.code).toBe(130);
    const left = await readdir(out).catch(() => [] as string[]);
    expect(left.filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("item 15: interrupting before the first epoch finishes writes nothing and leaves no empty folder", async () => {
    const { run } = await import("../../packages/cli/src/cli.js");
    const stop = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(stop, 0, 1); // as if Ctrl-C came while the data loaded
    let stderr = "";
    const out = join(dir, "early");
    const code = await run(["train", ...MANY_EPOCHS, "--out", out], {
      stdout: { write: () => true },
      stderr: {
        write: (s: string) => {
          stderr += s;
          return true;
        },
      },
      interrupt: stop,
    });
    expect(code).toBe(130);
    expect(stderr.trim()).toBe("tapegrad: interrupted before the first epoch finished; nothing written");
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  });
});
