import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Writes a file via a temp file in the same folder and a rename, so readers never see half a report. */
export function writeFileAtomic(file: string, contents: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(temp, contents);
  renameSync(temp, file);
}
