import { spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Linear, loadModel, saveModel, writeFileAtomic } from "@tapegrad/nn";
import { afterAll, describe, expect, it } from "vitest";

const root = mkdtempSync(join(tmpdir(), "tapegrad-atomic-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const repo = join(import.meta.dirname, "../..");
const child = join(import.meta.dirname, "children/save-then-hang.ts");

/** Runs the child save, SIGKILLs it once it is mid-write, and returns the temporary file it left. */
async function killMidSave(target: string): Promise<string> {
  // node itself with tsx's loader (the tsx binary would run the script in a grandchild that SIGKILL misses)
  const proc = spawn(process.execPath, ["--import", "tsx", "--conditions=@tapegrad/source", child, target], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stderr.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    proc.on("exit", (_code, sig) => resolve(sig)),
  );
  const temp = await new Promise<string>((resolve, reject) => {
    proc.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.trim());
    });
    proc.on("exit", (code) => reject(new Error(`child exited (${code}) before its save began: ${err}`)));
  });
  proc.kill("SIGKILL");
  expect(await exited).toBe("SIGKILL");
  expect(temp).toContain(String(proc.pid)); // the temporary is the killed process's own
  return temp;
}

/** Makes a file look as if it was last written `seconds` ago. */
function age(path: string, seconds: number): void {
  const t = Date.now() / 1000 - seconds;
  utimesSync(path, t, t);
}

describe("issue 9.13: a save killed mid-write leaves a temporary file that the next save removes", () => {
  it("a child SIGKILLed mid-save leaves a partial temporary; a later save to the same path removes it once stale", async () => {
    const dir = mkdtempSync(join(root, "kill-"));
    const target = join(dir, "model.safetensors");
    const temp = await killMidSave(target);
    const tempPath = join(dir, temp);
    expect(existsSync(tempPath)).toBe(true);
    expect(statSync(tempPath).size).toBeGreaterThan(0);
    expect(existsSync(target)).toBe(false);

    // its writer is dead but the file is recent: another save leaves it (it could still be a slow writer's)
    const model = new Linear(3, 2, { seed: 2 });
    await saveModel(target, model);
    expect(readdirSync(dir).sort()).toEqual(["model.safetensors", temp].sort());

    // a minute later, the next save to the same path sweeps it away
    age(tempPath, 120);
    await saveModel(target, model);
    expect(readdirSync(dir)).toEqual(["model.safetensors"]);
    await loadModel(target, new Linear(3, 2, { seed: 3 }));
  });

  it("keeps old temporaries of a live process, of other files and of unrelated names", async () => {
    const dir = mkdtempSync(join(root, "keep-"));
    const target = join(dir, "model.safetensors");
    const dead = await killMidSave(target);
    const keep = [
      dead.replace(/\d+/, String(process.pid)), // the same name with a live pid (this process)
      dead.replace("model.safetensors", "other.safetensors"), // a temporary of another target
      "model.safetensors.bak",
      "notes.txt",
    ];
    for (const name of keep) writeFileSync(join(dir, name), "x");
    for (const name of [dead, ...keep]) age(join(dir, name), 3600);
    await saveModel(target, new Linear(2, 2));
    expect(readdirSync(dir).sort()).toEqual(["model.safetensors", ...keep].sort());
  });

  it("a failed save removes its own temporary and names the path", async () => {
    const dir = mkdtempSync(join(root, "fail-"));
    const target = join(dir, "missing-folder", "model.safetensors");
    await expect(saveModel(target, new Linear(2, 2))).rejects.toThrow(
      /saveModel: cannot write .*missing-folder/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it("writeFileAtomic (exported for the CLI) writes text, makes folders on request and sweeps the same way", async () => {
    const dir = mkdtempSync(join(root, "text-"));
    const target = join(dir, "runs", "1", "history.json");
    await expect(writeFileAtomic(target, "{}")).rejects.toThrow(
      /writeFileAtomic: cannot write .*history\.json/,
    );
    await writeFileAtomic(target, '{"epochs": 1}', { makeDirs: true });
    expect(readFileSync(target, "utf8")).toBe('{"epochs": 1}');
    // a stale temporary in the old CLI naming (.<file>.<pid>.<hex>.tmp) of a process that is gone
    const deadPid = await new Promise<number>((resolve) => {
      const p = spawn(process.execPath, ["-e", ""]);
      p.on("exit", () => resolve(p.pid ?? 0));
    });
    const legacy = join(dir, "runs", "1", `.history.json.${deadPid}.1a2b3c4d.tmp`);
    writeFileSync(legacy, "partial");
    age(legacy, 600);
    await writeFileAtomic(target, '{"epochs": 2}', { who: "train" });
    expect(readdirSync(join(dir, "runs", "1"))).toEqual(["history.json"]);
  });
});
