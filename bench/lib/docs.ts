import { readFileSync } from "node:fs";
import { writeFileAtomic } from "./atomic.js";

export const MEASURED_START = "<!-- measured:start (pnpm bench --docs rewrites this block) -->";
export const MEASURED_END = "<!-- measured:end -->";

/** Replaces the block between the measured markers of a Markdown file with `section`. */
export function spliceMeasured(file: string, section: string): void {
  const text = readFileSync(file, "utf8");
  const start = text.indexOf(MEASURED_START);
  const end = text.indexOf(MEASURED_END);
  if (start < 0 || end < start) {
    throw new Error(`--docs: ${file} has no "${MEASURED_START}" ... "${MEASURED_END}" block to rewrite`);
  }
  const before = text.slice(0, start + MEASURED_START.length);
  writeFileAtomic(file, `${before}\n\n${section.trim()}\n\n${text.slice(end)}`);
}
