import { stat } from "node:fs/promises";
import { join } from "node:path";
import { ValueError } from "@tapegrad/autograd";
import { readIdx } from "@tapegrad/nn";
import type { FloatDType, ImageSet, ImageSplit } from "./images.js";

/** The four files of the original MNIST distribution, by their usual names (a dot before idx also occurs). */
const FILES = {
  trainImages: ["train-images-idx3-ubyte", "train-images.idx3-ubyte"],
  trainLabels: ["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"],
  testImages: ["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"],
  testLabels: ["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"],
} as const;

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function findFile(dir: string, names: readonly string[]): Promise<string> {
  for (const name of names) {
    for (const candidate of [name, `${name}.gz`]) {
      const path = join(dir, candidate);
      if (await isFile(path)) return path;
    }
  }
  throw new ValueError(`--data ${dir}: ${names[0]} (or ${names[0]}.gz) not found`);
}

function readImageSet(imagesPath: string, labelsPath: string, dtype: FloatDType): ImageSet {
  const images = readIdx(imagesPath, { dtype, scale: 1 / 255 });
  const labels = readIdx(labelsPath, { dtype: "int32" });
  if (images.ndim !== 3) {
    throw new ValueError(
      `--data: ${imagesPath} has shape [${images.shape.join(", ")}], expected [count, rows, cols]`,
    );
  }
  if (labels.ndim !== 1 || labels.shape[0] !== images.shape[0]) {
    throw new ValueError(
      `--data: ${labelsPath} has shape [${labels.shape.join(", ")}], expected [${images.shape[0]}] (one label per image in ${imagesPath})`,
    );
  }
  const ids = labels.data as Int32Array;
  let classes = 0;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] > 255)
      throw new ValueError(`--data: ${labelsPath}: label ${i} is ${ids[i]}, expected 0..255`);
    classes = Math.max(classes, ids[i] + 1);
  }
  return {
    count: images.shape[0],
    rows: images.shape[1],
    cols: images.shape[2],
    pixels: images.data as Float32Array | Float64Array,
    labels: ids,
    classes,
  };
}

/** The original MNIST IDX files of a folder (plain or .gz): 60,000 training and 10,000 test images. */
export async function loadIdxDir(dir: string, dtype: FloatDType): Promise<ImageSplit> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(dir);
  } catch {
    throw new ValueError(`--data ${dir}: no such directory`);
  }
  if (!info.isDirectory()) throw new ValueError(`--data ${dir}: not a directory`);
  const train = readImageSet(
    await findFile(dir, FILES.trainImages),
    await findFile(dir, FILES.trainLabels),
    dtype,
  );
  const test = readImageSet(
    await findFile(dir, FILES.testImages),
    await findFile(dir, FILES.testLabels),
    dtype,
  );
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new ValueError(
      `--data ${dir}: training images are ${train.rows}x${train.cols} but test images ${test.rows}x${test.cols}`,
    );
  }
  const classes = Math.max(train.classes, test.classes);
  return {
    train: { ...train, classes },
    test: { ...test, classes },
    source: `IDX files in ${dir}`,
  };
}
