import { noGrad, Rng, ShapeError, type Tensor, ValueError } from "@tapegrad/autograd";
import type { Loss } from "./losses.js";
import { NN } from "./manual.js";
import { countCorrect } from "./metrics.js";
import type { Module, Parameter } from "./module.js";
import { clipGradNorm } from "./optim/clip.js";
import { shapeStr, takeRows } from "./util.js";

export interface Dataset {
  x: Tensor;
  y: Tensor;
}
export type Metric = "accuracy";

/** Passed to onBatch after every optimiser step. epoch and batch count from 1. */
export interface BatchInfo {
  epoch: number;
  batch: number;
  batches: number;
  /** The loss of this batch (before the step). */
  loss: number;
  accuracy?: number;
  seconds: number;
  lr: number;
}

/** Passed to onEpoch and kept in History. loss/accuracy are averages over the epoch's batches, by rows. */
export interface EpochInfo {
  epoch: number;
  epochs: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  /** The learning rate of the epoch's first step (a schedule may change it within the epoch). */
  lr: number;
}

export interface History {
  epochs: EpochInfo[];
  loss: number[];
  accuracy: number[];
  valLoss: number[];
  valAccuracy: number[];
  seconds: number[];
  stoppedEarly: boolean;
  /** 1-based epoch with the best monitored value, when earlyStopping is on. */
  bestEpoch?: number;
}

export interface EarlyStopping {
  /** Default 'valLoss' with validation data, else 'loss'. */
  monitor?: "loss" | "accuracy" | "valLoss" | "valAccuracy";
  /**
   * Epochs without improvement that are tolerated; the next one stops training (default 0: stop at the first
   * epoch that does not improve), as PyTorch's ReduceLROnPlateau counts.
   */
  patience?: number;
  /** The least change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Default 'max' for accuracies, 'min' for losses. */
  mode?: "min" | "max";
  /** Put back the parameters of the best epoch when stopping or at the end (default false). */
  restoreBest?: boolean;
}

/** What fit needs of an optimiser: every Optimizer qualifies, and so does a hand-written one. */
export interface OptimizerLike {
  step(): void;
  zeroGrad(): void;
  /** The learning rate of the next step (reported in callbacks). */
  readonly lr: number;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  /** Defaults to the model's own loss when the model is an NN. */
  loss?: Loss;
  optimizer: OptimizerLike;
  /** Reshuffle the rows every epoch (default true), seeded by `seed` (default 0). */
  shuffle?: boolean;
  seed?: number;
  validation?: Dataset;
  earlyStopping?: EarlyStopping;
  onBatch?: (info: BatchInfo) => void;
  onEpoch?: (info: EpochInfo) => void | Promise<void>;
  metrics?: Metric[];
  /**
   * Where gradients come from: 'tape' (default; loss.backward() fills .grad) or 'manual' (NN.backprop's
   * hand-derived deltas, written to .grad; the model must be an NN). The optimiser step is the same.
   */
  gradients?: "tape" | "manual";
  /** Clip the global gradient norm to this value before each step. */
  clipNorm?: number;
}

function checkData(where: string, data: Dataset): number {
  const { x, y } = data;
  if (x.ndim < 1 || y.ndim < 1 || x.shape[0] !== y.shape[0]) {
    throw new ShapeError(
      `${where}: x ${shapeStr(x.shape)} and y ${shapeStr(y.shape)} must have the same number of rows`,
    );
  }
  return x.shape[0];
}

function resolveLoss(where: string, model: Module, loss: Loss | undefined): Loss {
  if (loss) return loss;
  if (model instanceof NN) return model.loss;
  throw new ValueError(`${where}: opts.loss is required for a ${model.constructor.name}`);
}

/** One turn of the event loop: setImmediate where it exists (Node), else a 0 ms timeout (browsers). */
const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
const nextTick = (): Promise<void> =>
  new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));

/**
 * Loss (and accuracy) of the model on a data set, in eval mode without the tape, in chunks of batchSize rows.
 * Chunk losses are added for 'sum' losses and averaged by rows for 'mean' losses, so the result equals the
 * loss of one big batch.
 */
export function evaluate(
  model: Module,
  data: Dataset,
  opts: { loss?: Loss; metrics?: Metric[]; batchSize?: number } = {},
): { loss: number; accuracy?: number } {
  const n = checkData("evaluate", data);
  const loss = resolveLoss("evaluate", model, opts.loss);
  const wantAccuracy = opts.metrics?.includes("accuracy") ?? false;
  const chunk = Math.max(1, opts.batchSize ?? 1024);
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let total = 0;
      let correct = 0;
      const all = Int32Array.from({ length: n }, (_, i) => i);
      for (let start = 0; start < n; start += chunk) {
        const end = Math.min(n, start + chunk);
        const xb = n <= chunk ? data.x : takeRows(data.x, all, start, end);
        const yb = n <= chunk ? data.y : takeRows(data.y, all, start, end);
        const out = model.forward(xb);
        const value = loss.fn(out, yb).item();
        total += loss.reduction === "sum" ? value : value * (end - start);
        if (wantAccuracy) correct += countCorrect(out, yb);
      }
      const result: { loss: number; accuracy?: number } = {
        loss: loss.reduction === "sum" ? total : total / n,
      };
      if (wantAccuracy) result.accuracy = correct / n;
      return result;
    });
  } finally {
    model.train(wasTraining);
  }
}

/**
 * Trains `model` with mini-batch gradient steps. Each epoch reshuffles (seeded), copies rows into batches,
 * computes gradients from the tape or from NN's manual backprop, optionally clips them, and steps the
 * optimiser; the batch loop is synchronous, and fit awaits the event loop once per epoch so progress bars
 * can redraw.
 */
export async function fit(model: Module, train: Dataset, opts: FitOptions): Promise<History> {
  const n = checkData("fit", train);
  const { epochs, batchSize, optimizer } = opts;
  if (!Number.isInteger(epochs) || epochs < 0)
    throw new ValueError(`fit: epochs must be an integer >= 0, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ValueError(`fit: batchSize must be a positive integer, got ${batchSize}`);
  }
  if (!optimizer || typeof optimizer.step !== "function")
    throw new ValueError("fit: opts.optimizer is required");
  const loss = resolveLoss("fit", model, opts.loss);
  const gradients = opts.gradients ?? "tape";
  if (gradients !== "tape" && gradients !== "manual") {
    throw new ValueError(`fit: gradients must be 'tape' or 'manual', got ${String(gradients)}`);
  }
  if (gradients === "manual" && !(model instanceof NN)) {
    throw new ValueError(
      `fit: gradients 'manual' needs an NN (hand-derived backprop), got a ${model.constructor.name}`,
    );
  }
  if (opts.validation) checkData("fit (validation)", opts.validation);
  const wantAccuracy = opts.metrics?.includes("accuracy") ?? false;
  const params: Parameter[] = model.parameters();
  const shuffle = opts.shuffle ?? true;
  const rng = new Rng(opts.seed ?? 0);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const batches = Math.ceil(n / batchSize);

  const es = opts.earlyStopping;
  const monitor = es?.monitor ?? (opts.validation ? "valLoss" : "loss");
  if (es && monitor.startsWith("val") && !opts.validation) {
    throw new ValueError(`fit: earlyStopping monitors ${monitor} but no validation data was given`);
  }
  if (es && monitor.endsWith("ccuracy") && !wantAccuracy) {
    throw new ValueError(`fit: earlyStopping monitors ${monitor}; add metrics: ['accuracy']`);
  }
  const mode = es?.mode ?? (monitor.endsWith("ccuracy") ? "max" : "min");
  const patience = es?.patience ?? 0;
  const minDelta = Math.abs(es?.minDelta ?? 0);
  let best = mode === "min" ? Infinity : -Infinity;
  let bestState: Record<string, Tensor> | null = null;
  let wait = 0;

  const history: History = {
    epochs: [],
    loss: [],
    accuracy: [],
    valLoss: [],
    valAccuracy: [],
    seconds: [],
    stoppedEarly: false,
  };

  model.train();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const epochStart = performance.now();
    if (shuffle) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng.uniform() * (i + 1));
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    }
    let lossSum = 0;
    let correct = 0;
    const epochLr = optimizer.lr;
    for (let b = 0; b < batches; b++) {
      const batchStart = performance.now();
      const start = b * batchSize;
      const end = Math.min(n, start + batchSize);
      const xb = takeRows(train.x, order, start, end);
      const yb = takeRows(train.y, order, start, end);
      const lr = optimizer.lr;
      let batchLoss: number;
      let out: Tensor;
      // fresh gradients every step: clear the model's (listed once, before the loop) and the optimiser's
      for (let i = 0; i < params.length; i++) params[i].grad = null;
      optimizer.zeroGrad();
      if (gradients === "manual") {
        const nn = model as NN;
        const r = nn.backpropWithLoss(xb, yb, loss);
        for (let l = 0; l < nn.w.length; l++) {
          nn.w[l].grad = r.wGrad[l];
          nn.b[l].grad = r.bGrad[l];
        }
        batchLoss = r.loss;
        out = r.output;
      } else {
        out = model.forward(xb);
        const l = loss.fn(out, yb);
        l.backward();
        batchLoss = l.item();
      }
      if (opts.clipNorm !== undefined) clipGradNorm(params, opts.clipNorm);
      optimizer.step();
      const rows = end - start;
      // 'sum' losses add up over the epoch; 'mean' losses are averaged by rows
      lossSum += loss.reduction === "sum" ? batchLoss : batchLoss * rows;
      const batchCorrect = wantAccuracy ? countCorrect(out, yb) : 0;
      correct += batchCorrect;
      if (opts.onBatch) {
        const info: BatchInfo = {
          epoch,
          batch: b + 1,
          batches,
          loss: batchLoss,
          seconds: (performance.now() - batchStart) / 1000,
          lr,
        };
        if (wantAccuracy) info.accuracy = batchCorrect / rows;
        opts.onBatch(info);
      }
    }
    const info: EpochInfo = {
      epoch,
      epochs,
      loss: loss.reduction === "sum" ? lossSum : lossSum / n,
      seconds: 0,
      lr: epochLr,
    };
    if (wantAccuracy) info.accuracy = correct / n;
    info.seconds = (performance.now() - epochStart) / 1000;
    if (opts.validation) {
      const v = evaluate(model, opts.validation, { loss, metrics: opts.metrics });
      info.valLoss = v.loss;
      if (v.accuracy !== undefined) info.valAccuracy = v.accuracy;
    }
    history.epochs.push(info);
    history.loss.push(info.loss);
    if (info.accuracy !== undefined) history.accuracy.push(info.accuracy);
    if (info.valLoss !== undefined) history.valLoss.push(info.valLoss);
    if (info.valAccuracy !== undefined) history.valAccuracy.push(info.valAccuracy);
    history.seconds.push(info.seconds);
    if (opts.onEpoch) await opts.onEpoch(info);
    await nextTick();

    if (es) {
      const value = info[monitor];
      if (value === undefined || Number.isNaN(value)) {
        throw new ValueError(`fit: earlyStopping monitor ${monitor} has no value at epoch ${epoch}`);
      }
      const improved = mode === "min" ? value < best - minDelta : value > best + minDelta;
      if (improved) {
        best = value;
        wait = 0;
        history.bestEpoch = epoch;
        if (es.restoreBest) bestState = model.stateDict();
      } else if (++wait > patience) {
        history.stoppedEarly = true;
        break;
      }
    }
  }
  if (bestState) model.loadStateDict(bestState);
  return history;
}
