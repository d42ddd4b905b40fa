/// <reference lib="dom" />
/**
 * The training worker: owns the Trainer and runs batches in slices of ~30 ms, so messages (pause, step,
 * predict) are answered between slices and the page never waits on training.
 */
import { kernelStats, wasmFeatures } from "@tapegrad/autograd";
import type { TrainConfig } from "./config.js";
import { type DigitsFile, decodeDigits } from "./digits-file.js";
import { parseRequest, type Reply, type Request, transferables } from "./protocol.js";
import { Trainer } from "./trainer.js";

interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
}
const scope = self as unknown as WorkerScope;

const SLICE_MS = 30;
const SNAPSHOT_MS = 250;
const EVAL_EVERY = 100;

let data: DigitsFile | null = null;
let trainer: Trainer | null = null;
let running = false;
let untilEpoch = Number.POSITIVE_INFINITY;
let timer: ReturnType<typeof setTimeout> | null = null;
let lastSnapshot = 0;
let nextSample = 0;
let lossSum = 0;
let lossCount = 0;
let epochTrainMs = 0;
let epochStarted = 0;

function post(reply: Reply): void {
  scope.postMessage(reply, transferables(reply));
}

function progress(): void {
  if (!trainer) return;
  post({
    type: "progress",
    progress: {
      running,
      epoch: trainer.epoch,
      batch: trainer.batchInEpoch,
      batchesPerEpoch: trainer.batchesPerEpoch,
      step: trainer.steps,
      loss: lossCount > 0 ? lossSum / lossCount : Number.NaN,
    },
  });
  lossSum = 0;
  lossCount = 0;
}

function start(config: TrainConfig): void {
  if (!data) throw new Error("the digits are not loaded yet");
  pause();
  trainer = new Trainer(data, config);
  epochTrainMs = 0;
  epochStarted = performance.now();
  post({
    type: "ready",
    trainCount: trainer.trainCount,
    testCount: trainer.testCount,
    graph: trainer.graph,
    config: trainer.config,
  });
  post({ type: "snapshot", snapshot: trainer.snapshot(trainer.peekBatch()) });
  post({ type: "evaluation", evaluation: trainer.evaluate() });
  progress();
}

function pause(): void {
  running = false;
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

/** Trains one batch; handles the end of an epoch and the periodic test evaluation. */
function trainOne(t: Trainer): void {
  const started = performance.now();
  const { loss, epochEnded } = t.step();
  epochTrainMs += performance.now() - started;
  lossSum += loss;
  lossCount++;
  if (epochEnded) {
    const evaluation = t.evaluate();
    post({ type: "evaluation", evaluation });
    post({
      type: "epoch",
      done: {
        epoch: t.epoch,
        seconds: epochTrainMs / 1000,
        wallSeconds: (performance.now() - epochStarted) / 1000,
        testAccuracy: evaluation.testAccuracy,
        kernels: {
          wasm: kernelStats().wasm,
          js: kernelStats().js,
          fusedMultiplyAdd: wasmFeatures().fusedMultiplyAdd,
        },
      },
    });
    epochTrainMs = 0;
    epochStarted = performance.now();
  } else if (t.steps % EVAL_EVERY === 0) {
    post({ type: "evaluation", evaluation: t.evaluate() });
  }
}

function slice(): void {
  timer = null;
  const t = trainer;
  if (!running || !t) return;
  const until = performance.now() + SLICE_MS;
  do trainOne(t);
  while (performance.now() < until && t.epoch < untilEpoch);
  if (t.epoch >= untilEpoch) running = false;
  progress();
  if (performance.now() - lastSnapshot > SNAPSHOT_MS) {
    lastSnapshot = performance.now();
    post({ type: "snapshot", snapshot: t.snapshot(t.peekBatch()) });
  }
  if (running) timer = setTimeout(slice, 0);
}

async function handle(request: Request): Promise<void> {
  switch (request.type) {
    case "init": {
      const response = await fetch(request.dataUrl);
      if (!response.ok)
        throw new Error(`could not load the digits from ${request.dataUrl}: HTTP ${response.status}`);
      data = decodeDigits(new Uint8Array(await response.arrayBuffer()));
      start(request.config);
      return;
    }
    case "reset":
      start(request.config);
      return;
    case "run":
      if (!trainer || running) return;
      untilEpoch = request.epochs;
      if (trainer.epoch >= untilEpoch) {
        progress();
        return;
      }
      running = true;
      epochStarted = performance.now() - epochTrainMs;
      slice();
      return;
    case "pause":
      pause();
      progress();
      return;
    case "step": {
      if (!trainer) return;
      pause();
      const batch = trainer.peekBatch();
      const snapshot = trainer.snapshot(batch);
      snapshot.backwardOrder = trainer.graph.backwardOrder;
      post({ type: "snapshot", snapshot });
      trainOne(trainer);
      progress();
      return;
    }
    case "sample":
      if (!trainer) return;
      // Walk the test set with a stride coprime to 2,000, so consecutive presses show different digits.
      post({ type: "sample", ...trainer.testDigit(nextSample) });
      nextSample += 337;
      return;
    case "predict":
      if (!trainer) return;
      post({ type: "prediction", prediction: trainer.predict(request.id, request.pixels) });
      return;
  }
}

scope.onmessage = (event: MessageEvent) => {
  let request: Request;
  try {
    request = parseRequest(event.data);
  } catch (error) {
    post({ type: "error", message: error instanceof Error ? error.message : String(error) });
    return;
  }
  handle(request).catch((error: unknown) => {
    pause();
    post({ type: "error", message: error instanceof Error ? error.message : String(error) });
  });
};
