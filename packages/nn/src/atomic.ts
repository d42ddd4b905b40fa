import type * as Fs from "node:fs";
import type * as Path from "node:path";
import { TapegradError } from "@tapegrad/autograd";
import { nodeBuiltin } from "./node-builtin.js";

/**
 * Atomic file writes: readers see the old file or the whole new one, never half of one. The bytes go to
 * `<file>.tmp-<pid>-<random>` in the same folder, are fsynced, then renamed over the target.
 *
 * A writer killed mid-write cannot remove its temporary, so every write first sweeps the temporaries of
 * the same target that are stale: older than a minute (by mtime; a live writer keeps touching its file)
 * and left by a process that no longer exists. A temporary whose pid is alive is kept whatever its age,
 * since that process may still rename it. Files of earlier versions (`.<file>.<pid>.<...>.tmp`) count too.
 */

/** A temporary untouched for this long, whose writer is gone, is garbage. */
export const STALE_TEMP_MS = 60_000;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The writer's pid if `name` is a temporary of `base` (this version's or an earlier one's), else null. */
function tempPid(name: string, base: string): number | null {
  const b = escapeRegExp(base);
  const m =
    new RegExp(`^${b}\\.tmp-(\\d+)-[0-9a-f]+$`).exec(name) ??
    new RegExp(`^\\.${b}\\.(\\d+)\\..+\\.tmp$`).exec(name);
  return m === null ? null : Number(m[1]);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only checks the process exists
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, but belongs to someone else
  }
}

function randomHex(): string {
  const b = new Uint32Array(2);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (v) => v.toString(16).padStart(8, "0")).join("");
}

/** Removes stale temporaries of `path` (see above); best effort, never throws. Returns the names removed. */
export async function removeStaleTemporaries(path: string, now = Date.now()): Promise<string[]> {
  const fs = nodeBuiltin<typeof Fs>("node:fs", "removeStaleTemporaries", "it needs Node.js");
  const p = nodeBuiltin<typeof Path>("node:path", "removeStaleTemporaries", "it needs Node.js");
  const dir = p.dirname(path);
  const base = p.basename(path);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = tempPid(name, base);
    if (pid === null || pid === process.pid || processAlive(pid)) continue;
    const file = p.join(dir, name);
    try {
      const st = await fs.promises.lstat(file);
      if (!st.isFile() || now - st.mtimeMs < STALE_TEMP_MS) continue;
      await fs.promises.rm(file, { force: true });
      removed.push(name);
    } catch {
      // gone already (another writer swept it) or not ours to remove: leave it
    }
  }
  return removed;
}

export interface AtomicWriteOptions {
  /** The operation named in errors (default "writeFileAtomic"). */
  who?: string;
  /** Create the folder (and its parents) first (default false: a missing folder is an error). */
  makeDirs?: boolean;
}

/**
 * Writes `data` to `path` atomically (temporary file, fsync, rename), after sweeping stale temporaries of
 * the same path. Errors are TapegradErrors naming `who` and the path; the temporary never outlives a failure.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const who = opts.who ?? "writeFileAtomic";
  const instead = "write the bytes yourself outside Node.js";
  const fs = nodeBuiltin<typeof Fs>("node:fs", who, instead);
  const p = nodeBuiltin<typeof Path>("node:path", who, instead);
  if (opts.makeDirs) {
    try {
      await fs.promises.mkdir(p.dirname(path), { recursive: true });
    } catch (e) {
      throw new TapegradError(`${who}: cannot create the folder of ${path}: ${(e as Error).message}`);
    }
  }
  await removeStaleTemporaries(path);
  const tmp = p.join(p.dirname(path), `${p.basename(path)}.tmp-${process.pid}-${randomHex()}`);
  try {
    const fh = await fs.promises.open(tmp, "wx");
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, path);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw new TapegradError(`${who}: cannot write ${path}: ${(e as Error).message}`);
  }
}
