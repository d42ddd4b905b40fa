import { type Tensor, tensor, ValueError } from "@tapegrad/autograd";
import { type CsvData, parseCsv } from "@tapegrad/nn";
import { UsageError } from "../util/errors.js";
import { readNamedFile } from "../util/files.js";
import { allocFloats, type FloatDType } from "./images.js";
import type { DataFlags } from "./load.js";
import type { DataSpec, LoadedData } from "./source.js";
import { seededPermutation } from "./split-rng.js";
import { oneHot, type TensorSet } from "./tensors.js";

type CsvSpec = Extract<DataSpec, { kind: "csv" }>;

/** A table is split 80/20 with a fixed seed, so eval and predict see the same test rows as train did. */
export const CSV_SPLIT_SEED = 20200111;
const TEST_FRACTION = 0.2;

/** Auto task: a target of whole numbers with at most 20 distinct values is a class label. */
export function looksLikeClasses(values: ArrayLike<number>): boolean {
  const distinct = new Set<number>();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isInteger(values[i])) return false;
    distinct.add(values[i]);
    if (distinct.size > 20) return false;
  }
  return distinct.size >= 2 && distinct.size * 2 <= values.length;
}

function columnStats(x: Tensor, rows: Int32Array): { mean: number[]; std: number[] } {
  const width = x.shape[1];
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  const d = x.data;
  for (const r of rows) for (let c = 0; c < width; c++) mean[c] += d[r * width + c] / rows.length;
  for (const r of rows)
    for (let c = 0; c < width; c++) std[c] += (d[r * width + c] - mean[c]) ** 2 / rows.length;
  // A constant column would divide by zero: leave it unscaled.
  return { mean, std: std.map((v) => (v > 1e-24 ? Math.sqrt(v) : 1)) };
}

function buildSet(
  x: Tensor,
  targets: ArrayLike<number>,
  rows: ArrayLike<number>,
  spec: CsvSpec,
  dtype: FloatDType,
): TensorSet {
  const width = x.shape[1];
  const n = rows.length;
  const features = allocFloats(dtype, n * width);
  for (let k = 0; k < n; k++) {
    for (let c = 0; c < width; c++) {
      features[k * width + c] = (x.data[rows[k] * width + c] - spec.mean[c]) / spec.std[c];
    }
  }
  const xs = tensor(features, { shape: [n, width] });
  if (spec.task === "classification") {
    const names = spec.classNames ?? [];
    const labels = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const id = names.indexOf(String(targets[rows[k]]));
      if (id < 0) {
        throw new ValueError(
          `csv ${spec.file}: target value ${targets[rows[k]]} is not one of the model's classes ${names.join(", ")}`,
        );
      }
      labels[k] = id;
    }
    return { x: xs, y: oneHot(labels, names.length, dtype), labels, count: n };
  }
  const lo = spec.targetMin ?? 0;
  const span = (spec.targetMax ?? 1) - lo || 1;
  const scaled = allocFloats(dtype, n);
  for (let k = 0; k < n; k++) scaled[k] = (targets[rows[k]] - lo) / span;
  return { x: xs, y: tensor(scaled, { shape: [n, 1] }), count: n };
}

/** nn's CSV errors, without the name of the function inside nn that found them (the file is named). */
function parseQuietly(text: string, file: string, target: string | number): CsvData {
  try {
    return parseCsv(text, { target, dtype: "float64" }, file);
  } catch (error) {
    if (error instanceof ValueError) throw new ValueError(error.message.replace(/^(readCsv|parseCsv): /, ""));
    throw error;
  }
}

/**
 * Parses the table with `target` (a header name or a 0-based index, negative from the end) as the column to
 * predict. A target that names no column is a usage mistake, told with the table's columns.
 */
function parseTable(text: string, file: string, target: string): CsvData {
  const probe = parseQuietly(text, file, 0); // the column names (and any bad cell) without a target yet
  const names = [probe.target, ...probe.columns];
  if (/^-?\d+$/.test(target)) {
    const index = Number(target);
    if (index >= names.length || index < -names.length)
      throw new UsageError(
        `--target ${target}: ${file} has ${names.length} columns (0..${names.length - 1})`,
      );
    return parseQuietly(text, file, index);
  }
  if (!names.includes(target))
    throw new UsageError(
      `--target ${target}: ${file} has no column named "${target}" (columns: ${names.join(", ")})`,
    );
  return parseQuietly(text, file, target);
}

/** A user's table: features standardised with the training rows' mean and spread, targets as the task needs. */
export async function loadCsvData(
  flags: DataFlags,
  dtype: FloatDType,
  fromModel?: CsvSpec,
): Promise<LoadedData> {
  const file = flags.csv ?? fromModel?.file;
  const target = flags.target ?? fromModel?.target;
  if (!file) throw new UsageError("--csv FILE is needed");
  if (!target) throw new UsageError("--csv needs --target COLUMN (the column to predict)");
  const table = parseTable((await readNamedFile(file)).toString("utf8"), file, target);
  const rowsCount = table.x.shape[0];
  if (rowsCount < 2)
    throw new ValueError(`csv ${file}: ${rowsCount} data row(s), need at least 2 to train and test`);
  const targets = table.y.data;
  for (let i = 0; i < rowsCount; i++) {
    if (!Number.isFinite(targets[i]))
      throw new ValueError(`csv ${file}: row ${i + 1} has no numeric ${table.target}`);
  }
  const order = seededPermutation(rowsCount, CSV_SPLIT_SEED);
  const testCount = Math.max(1, Math.round(rowsCount * TEST_FRACTION));
  const trainRows = order.slice(testCount);
  const testRows = order.slice(0, testCount);

  let spec: CsvSpec;
  if (fromModel) {
    if (fromModel.features.length !== table.columns.length) {
      throw new ValueError(
        `csv ${file}: ${table.columns.length} feature columns, the model was trained on ${fromModel.features.length} (${fromModel.features.join(", ")})`,
      );
    }
    spec = { ...fromModel, file };
  } else {
    const task =
      flags.task === "auto" || flags.task === undefined
        ? looksLikeClasses(targets)
          ? "classification"
          : "regression"
        : flags.task;
    const { mean, std } = columnStats(table.x, trainRows);
    spec = { kind: "csv", file, target: table.target, task, features: table.columns, mean, std };
    if (task === "classification") {
      const values = [...new Set(Array.from(targets))].sort((a, b) => a - b);
      if (values.some((v) => !Number.isInteger(v))) {
        throw new UsageError(
          `--task classification: ${table.target} holds non-integer values; use --task regression`,
        );
      }
      spec.classNames = values.map(String);
    } else {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const r of trainRows) {
        lo = Math.min(lo, targets[r]);
        hi = Math.max(hi, targets[r]);
      }
      spec.targetMin = lo;
      spec.targetMax = hi;
    }
  }
  const limitedTrain = flags.limit ? trainRows.subarray(0, flags.limit) : trainRows;
  const limitedTest = flags.testLimit ? testRows.subarray(0, flags.testLimit) : testRows;
  const outputs = spec.task === "classification" ? (spec.classNames?.length ?? 0) : 1;
  return {
    spec,
    task: spec.task,
    train: buildSet(table.x, targets, limitedTrain, spec, dtype),
    test: buildSet(table.x, targets, limitedTest, spec, dtype),
    inputs: table.columns.length,
    outputs,
    description: `${file} (${spec.task} of ${spec.target} from ${table.columns.length} columns, fixed 80/20 split)`,
  };
}
