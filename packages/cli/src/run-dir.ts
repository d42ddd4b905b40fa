import { mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "./util/errors.js";

function stamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/**
 * The output folder: --out as given, or a new runs/<timestamp>/ (never one that already exists). An --out
 * folder that already holds files (an earlier run's model) is refused unless `force` is set.
 */
export async function makeRunDir(out: string | undefined, now = new Date(), force = false): Promise<string> {
  if (out) {
    await mkdir(out, { recursive: true });
    const present = await readdir(out);
    if (present.length > 0 && !force) {
      const shown = present.sort().slice(0, 3).join(", ") + (present.length > 3 ? ", ..." : "");
      throw new UsageError(
        `--out ${out}: the folder is not empty (${shown}); give another folder, or --force to overwrite`,
      );
    }
    return out;
  }
  await mkdir("runs", { recursive: true });
  const base = join("runs", stamp(now));
  for (let k = 1; ; k++) {
    const dir = k === 1 ? base : `${base}-${k}`;
    try {
      await mkdir(dir); // not recursive: fails on an existing folder, so two runs never share one
      return dir;
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
  }
}
