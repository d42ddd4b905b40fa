/**
 * Times one epoch of the playground's own training loop (the Trainer the worker runs) on Node, for the
 * browser-vs-Node comparison: `pnpm --filter @tapegrad/playground run epoch:node` after a build.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_CONFIG } from "../src/config.js";
import { decodeDigits } from "../src/digits-file.js";
import { Trainer } from "../src/trainer.js";

const here = dirname(fileURLToPath(import.meta.url));
const data = decodeDigits(new Uint8Array(await readFile(join(here, "..", "public", "digits.bin"))));
const epochs = Number(process.argv[2] ?? 3);
const trainer = new Trainer(data, DEFAULT_CONFIG);
for (let e = 1; e <= epochs; e++) {
  let ms = 0;
  let ended = false;
  while (!ended) {
    const t0 = performance.now();
    ended = trainer.step().epochEnded;
    ms += performance.now() - t0;
  }
  const { testAccuracy } = trainer.evaluate();
  console.log(
    `epoch ${e}: ${(ms / 1000).toFixed(2)} s in training steps, test accuracy ${(100 * testAccuracy).toFixed(1)}%`,
  );
}
