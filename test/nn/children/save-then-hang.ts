/**
 * Child process for the stale-temporary test (issue 9.13). Starts saveModel(argv[2]) on a model large
 * enough to be written in many chunks, and as soon as a partly written temporary file appears next to the
 * target it prints that file's name and blocks its own event loop, so the write can go no further. The
 * parent then SIGKILLs it: the state a save killed mid-write leaves behind.
 */
import { readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Linear, saveModel } from "@tapegrad/nn";

const target = process.argv[2];
const dir = dirname(target);
const model = new Linear(1024, 1024, { dtype: "float64", seed: 1 }); // 8 MB: many 512 KiB write chunks

void saveModel(target, model);
const poll = (): void => {
  const temp = readdirSync(dir).find((f) => f !== basename(target));
  if (temp !== undefined && statSync(join(dir, temp)).size > 0) {
    process.stdout.write(`${temp}\n`); // synchronous on a pipe
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // hold here until killed
  }
  setImmediate(poll);
};
poll();
