import { writeFileAtomic as writeAtomic } from "@tapegrad/nn";

/**
 * The CLI's outputs go through nn's atomic writer (temporary, fsync, rename; stale temporaries of killed
 * runs are swept), creating the run folder first.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  return writeAtomic(path, data, { makeDirs: true, who: "tapegrad" });
}
