import { mkdir } from "node:fs/promises";
import { join } from "node:path";

function stamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** The output folder: --out as given, or a new runs/<timestamp>/ (never one that already exists). */
export async function makeRunDir(out: string | undefined, now = new Date()): Promise<string> {
  if (out) {
    await mkdir(out, { recursive: true });
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
