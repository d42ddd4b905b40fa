/**
 * Messages between the page and the training worker. Typed arrays travel as transferables; every request
 * the worker receives is checked by parseRequest, so a malformed one is a clear error, not a silent no-op.
 */
import { checkConfig, type TrainConfig } from "./config.js";
import type { GraphModel } from "./graph-model.js";

export type Request =
  | { type: "init"; dataUrl: string; config: TrainConfig }
  | { type: "reset"; config: TrainConfig }
  /** Train until `epochs` epochs are complete (then pause). */
  | { type: "run"; epochs: number }
  | { type: "pause" }
  /** One batch; the snapshot that follows carries the tape's backward order for the animation. */
  | { type: "step" }
  | { type: "predict"; id: number; pixels: Float32Array }
  /** A test digit to put on the drawing pad (for keyboard users, and to compare with a drawing). */
  | { type: "sample" };

export interface NodeTensors {
  shape: number[];
  value: Float32Array;
  /** ∂L/∂(this node) on the batch; null where there is none (the target Y). */
  cotangent: Float32Array | null;
}

export interface GradientComparison {
  /** W_1, b_1, ... */
  name: string;
  /** max|tape − deltas| / max(|tape|, |deltas|) over the tensor. */
  relDiff: number;
  maxAbsDiff: number;
}

export interface Snapshot {
  /** Optimiser steps taken when the batch was looked at (the state before this step's update). */
  step: number;
  batchLoss: number;
  nodes: Record<string, NodeTensors>;
  comparison: GradientComparison[];
  /** Graph node ids in the order the tape's backward walk reaches them (set for single steps). */
  backwardOrder?: string[];
}

export interface Progress {
  running: boolean;
  /** Completed epochs. */
  epoch: number;
  /** Batches done in the current epoch. */
  batch: number;
  batchesPerEpoch: number;
  step: number;
  /** Mean training loss over the batches since the last progress message (NaN if none). */
  loss: number;
}

export interface Evaluation {
  step: number;
  /** Epochs done, fractional (e.g. 0.25 after a quarter of the first epoch). */
  epochs: number;
  testAccuracy: number;
  testLoss: number;
}

export interface EpochDone {
  epoch: number;
  /** Time spent in training steps (forward, backward, update) during the epoch. */
  seconds: number;
  /** Wall time of the epoch while running, including snapshots and test evaluations. */
  wallSeconds: number;
  testAccuracy: number;
  /**
   * Matrix products so far by kernel: WASM SIMD or plain JS (small products may stay in JS), and whether
   * the WASM products fuse their multiply-adds (relaxed SIMD, on by default in Chrome 114+).
   */
  kernels: { wasm: number; js: number; fusedMultiplyAdd: boolean };
}

export interface Prediction {
  id: number;
  /** The network's output ŷ for the drawing. */
  output: number[];
  /** ŷ as probabilities: softmax for softmaxCrossEntropy, else ŷ normalised to sum 1. */
  probs: number[];
  predicted: number;
  /** ∂ŷ_predicted / ∂x, 784 values, via grad(). */
  saliency: Float32Array;
}

export type Reply =
  | { type: "ready"; trainCount: number; testCount: number; graph: GraphModel; config: TrainConfig }
  | { type: "progress"; progress: Progress }
  | { type: "snapshot"; snapshot: Snapshot }
  | { type: "evaluation"; evaluation: Evaluation }
  | { type: "epoch"; done: EpochDone }
  | { type: "prediction"; prediction: Prediction }
  | { type: "sample"; index: number; label: number; pixels: Float32Array }
  | { type: "error"; message: string };

export function parseRequest(data: unknown): Request {
  if (typeof data !== "object" || data === null) throw new Error("worker request: expected an object");
  const m = data as Record<string, unknown>;
  switch (m.type) {
    case "init":
      if (typeof m.dataUrl !== "string" || m.dataUrl === "")
        throw new Error("worker request init: dataUrl must be a non-empty string");
      return { type: "init", dataUrl: m.dataUrl, config: checkConfig(m.config) };
    case "reset":
      return { type: "reset", config: checkConfig(m.config) };
    case "run":
      if (typeof m.epochs !== "number" || !Number.isInteger(m.epochs) || m.epochs < 1)
        throw new Error(`worker request run: epochs must be a positive integer, got ${String(m.epochs)}`);
      return { type: "run", epochs: m.epochs };
    case "pause":
    case "step":
    case "sample":
      return { type: m.type };
    case "predict":
      if (typeof m.id !== "number" || !Number.isInteger(m.id))
        throw new Error("worker request predict: id must be an integer");
      if (!(m.pixels instanceof Float32Array) || m.pixels.length !== 784)
        throw new Error(
          `worker request predict: pixels must be a Float32Array of 784 values, got ${
            m.pixels instanceof Float32Array ? m.pixels.length : typeof m.pixels
          }`,
        );
      return { type: "predict", id: m.id, pixels: m.pixels };
    default:
      throw new Error(`worker request: unknown type ${JSON.stringify(m.type)}`);
  }
}

/** The buffers a reply can hand over without copying. */
export function transferables(reply: Reply): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const add = (a: Float32Array | null) => {
    // Only buffers the array owns whole: transferring a shared slab would detach other tensors' data.
    if (a && a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) {
      if (!out.includes(a.buffer)) out.push(a.buffer);
    }
  };
  if (reply.type === "snapshot") {
    for (const t of Object.values(reply.snapshot.nodes)) {
      add(t.value);
      add(t.cotangent);
    }
  } else if (reply.type === "prediction") {
    add(reply.prediction.saliency);
  } else if (reply.type === "sample") {
    add(reply.pixels);
  }
  return out;
}
