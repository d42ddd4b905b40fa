import { join } from "node:path";
import { type ChartOptions, chartsSideBySide, lineChartSvg } from "./charts/line-chart.js";
import { svgToPng } from "./charts/png.js";
import type { DataSpec } from "./data/source.js";
import { writeFileAtomic } from "./util/atomic.js";

const TEST_COLOR = "#1f77b4";
const TRAIN_COLOR = "#ff7f0e";

export interface EpochRecord {
  epoch: number; // 1-based
  loss: number; // mean training loss over the epoch's batches
  testLoss: number;
  testAccuracy?: number; // classification only, 0..1
  trainAccuracy?: number; // classification only: over the epoch's batches, as they were trained
  seconds: number; // training time of the epoch (evaluation excluded)
  lr: number;
}

export interface RunHistory {
  command: string;
  flags: Record<string, unknown>;
  data: { description: string; train: number; test: number; spec: DataSpec };
  epochs: EpochRecord[];
  final: { testLoss: number; testAccuracy?: number };
  secondsPerEpoch: number;
  totalSeconds: number;
  /** Set when Ctrl-C stopped training: the model and history are those of the last finished epoch. */
  interrupted?: { finishedEpochs: number; epochs: number };
}

/** Model-file metadata: everything eval and predict need besides the weights (all values are strings). */
export function modelMetadata(run: RunHistory): Record<string, string> {
  return {
    data: JSON.stringify(run.data.spec),
    training: JSON.stringify(run.flags),
    testAccuracy: run.final.testAccuracy === undefined ? "" : String(run.final.testAccuracy),
    testLoss: String(run.final.testLoss),
  };
}

export function lossChart(run: RunHistory): ChartOptions {
  return {
    title: "Loss",
    xLabel: "epoch",
    yLabel: `${String(run.flags.loss ?? "")} loss`,
    series: [
      {
        name: `test (${run.data.test} examples)`,
        points: run.epochs.map((e) => [e.epoch, e.testLoss] as const),
        color: TEST_COLOR,
      },
      {
        name: "train (during the epoch)",
        points: run.epochs.map((e) => [e.epoch, e.loss] as const),
        color: TRAIN_COLOR,
        dashed: true,
      },
    ],
  };
}

export function accuracyChart(run: RunHistory): ChartOptions {
  return {
    title: "Accuracy",
    xLabel: "epoch",
    yLabel: "accuracy",
    percent: true,
    legend: "bottom-right",
    series: [
      {
        name: `test (${run.data.test} examples)`,
        points: run.epochs.map((e) => [e.epoch, e.testAccuracy ?? Number.NaN] as const),
        color: TEST_COLOR,
      },
      {
        name: "train (during the epoch)",
        points: run.epochs.map((e) => [e.epoch, e.trainAccuracy ?? Number.NaN] as const),
        color: TRAIN_COLOR,
        dashed: true,
      },
    ],
  };
}

/**
 * Writes a run's folder: model.safetensors (through `saveModel`), history.json, loss.svg, accuracy.svg
 * (classification), training-curve.svg (both side by side) and PNG copies when a renderer loads.
 * Every file is written atomically. Returns the file names written.
 */
export async function writeRunOutputs(
  dir: string,
  run: RunHistory,
  saveModel: (path: string, metadata: Record<string, string>) => Promise<void>,
): Promise<string[]> {
  const written: string[] = [];
  await saveModel(join(dir, "model.safetensors"), modelMetadata(run));
  written.push("model.safetensors");
  await writeFileAtomic(join(dir, "history.json"), `${JSON.stringify(run, null, 2)}\n`);
  written.push("history.json");
  const charts: Array<[string, string]> = [["loss", lineChartSvg(lossChart(run))]];
  if (run.final.testAccuracy !== undefined) {
    charts.push(["accuracy", lineChartSvg(accuracyChart(run))]);
    charts.push(["training-curve", chartsSideBySide([lossChart(run), accuracyChart(run)])]);
  }
  for (const [name, svg] of charts) {
    await writeFileAtomic(join(dir, `${name}.svg`), svg);
    written.push(`${name}.svg`);
    const png = await svgToPng(svg);
    if (png) {
      await writeFileAtomic(join(dir, `${name}.png`), png);
      written.push(`${name}.png`);
    }
  }
  return written;
}
