/**
 * The training state the worker drives: the network, its optimiser, the digits, and the views the page
 * asks for (the f_i graph, per-node values and cotangents, tape vs deltas, test accuracy, predictions).
 * No worker globals here, so it runs (and is tested) in Node as well.
 */
import { grad, grads, noGrad, Rng, record, type Tensor, tensor, zeros } from "@tapegrad/autograd";
import { Adam, activations, losses, NN, SGD } from "@tapegrad/nn";
import type { TrainConfig } from "./config.js";
import type { DigitSet, DigitsFile } from "./digits-file.js";
import { buildGraph, type GraphModel } from "./graph-model.js";
import type { Evaluation, GradientComparison, NodeTensors, Prediction, Snapshot } from "./protocol.js";
import { relativeDifference } from "./stats.js";

interface Floats {
  count: number;
  x: Float32Array;
  labels: Uint8Array;
}

function toFloats(set: DigitSet): Floats {
  const x = new Float32Array(set.pixels.length);
  for (let i = 0; i < x.length; i++) x[i] = set.pixels[i] / 255;
  return { count: set.count, x, labels: set.labels };
}

function oneHot(labels: ArrayLike<number>): Float32Array {
  const y = new Float32Array(labels.length * 10);
  for (let r = 0; r < labels.length; r++) y[r * 10 + labels[r]] = 1;
  return y;
}

/** A copy owning its buffer (safe to transfer; tensor storage may be a shared slab). */
function own(t: Tensor): Float32Array {
  return Float32Array.from(t.data as Float32Array);
}

export interface Batch {
  x: Tensor;
  y: Tensor;
}

export class Trainer {
  readonly config: TrainConfig;
  readonly net: NN;
  readonly graph: GraphModel;
  private readonly optimizer: SGD | Adam;
  private readonly train: Floats;
  private readonly test: Floats;
  private readonly testX: Tensor;
  private readonly testY: Tensor;
  private readonly rng: Rng;
  private order: Int32Array;
  /** Next position in `order`. */
  private cursor = 0;
  epoch = 0;
  steps = 0;

  constructor(data: DigitsFile, config: TrainConfig) {
    this.config = config;
    this.train = toFloats(data.train);
    this.test = toFloats(data.test);
    this.testX = tensor(this.test.x, { shape: [this.test.count, 784] });
    this.testY = tensor(oneHot(this.test.labels), { shape: [this.test.count, 10] });
    this.net = new NN(config.sizes, activations[config.activation], losses[config.loss], {
      init: config.init,
      seed: config.seed,
    });
    const params = this.net.parameters();
    this.optimizer =
      config.optimizer === "adam"
        ? new Adam(params, { lr: config.lr })
        : new SGD(params, { lr: config.lr, momentum: config.optimizer === "momentum" ? 0.9 : 0 });
    this.rng = new Rng(config.seed);
    this.order = this.rng.permutation(this.train.count);
    this.graph = this.recordGraph();
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.train.count / this.config.batchSize);
  }

  /** Batches done in the current epoch. */
  get batchInEpoch(): number {
    return Math.ceil(this.cursor / this.config.batchSize);
  }

  get trainCount(): number {
    return this.train.count;
  }

  get testCount(): number {
    return this.test.count;
  }

  private recordGraph(): GraphModel {
    const { x, y } = this.peekBatch();
    const { tape } = record(() => this.net.lossTensor(x, y));
    return buildGraph(tape.nodes);
  }

  private rows(set: Floats, indices: ArrayLike<number>): Batch {
    const n = indices.length;
    const x = new Float32Array(n * 784);
    const labels = new Uint8Array(n);
    for (let r = 0; r < n; r++) {
      const i = indices[r];
      x.set(set.x.subarray(i * 784, (i + 1) * 784), r * 784);
      labels[r] = set.labels[i];
    }
    const xt = tensor(x, { shape: [n, 784] });
    xt.name = "X";
    const yt = tensor(oneHot(labels), { shape: [n, 10] });
    yt.name = "Y";
    return { x: xt, y: yt };
  }

  /** The batch the next step will train on (without consuming it). */
  peekBatch(): Batch {
    const end = Math.min(this.cursor + this.config.batchSize, this.train.count);
    return this.rows(this.train, this.order.subarray(this.cursor, end));
  }

  /** One optimiser step on the next batch, gradients from the tape. Returns the batch loss and whether an epoch ended. */
  step(batch = this.peekBatch()): { loss: number; epochEnded: boolean } {
    const loss = this.net.lossTensor(batch.x, batch.y);
    this.optimizer.zeroGrad();
    loss.backward();
    this.optimizer.step();
    this.steps++;
    this.cursor = Math.min(this.cursor + this.config.batchSize, this.train.count);
    let epochEnded = false;
    if (this.cursor >= this.train.count) {
      this.epoch++;
      this.cursor = 0;
      this.order = this.rng.permutation(this.train.count);
      epochEnded = true;
    }
    return { loss: loss.item(), epochEnded };
  }

  /**
   * Values and cotangents of every graph node on `batch`, and the tape's gradients next to NN.backprop's
   * deltas. Cotangents of the f_i come from the tape too: a zero "probe" is added to each f_i and grads()
   * differentiates with respect to the probes, which gives exactly ∂L/∂f_i.
   */
  snapshot(batch: Batch): Snapshot {
    const net = this.net;
    const L = net.w.length;
    const act = net.activation;
    const loss = net.loss;
    const n = batch.x.shape[0];
    const widths = [784, ...net.sizes.slice(1).flatMap((s) => [s, s])]; // f_0, then z_l and a_l per layer
    const probes = widths.map((w) => zeros([n, w]));
    const values: Tensor[] = [];
    const f = (...args: Tensor[]): Tensor => {
      const ws = args.slice(0, L);
      const bs = args.slice(L, 2 * L);
      const es = args.slice(2 * L);
      values.length = 0;
      let h = batch.x.add(es[0]);
      values.push(h);
      for (let l = 0; l < L; l++) {
        const z = h
          .matmul(ws[l])
          .add(bs[l])
          .add(es[2 * l + 1]);
        values.push(z);
        h = act.fn(z).add(es[2 * l + 2]);
        values.push(h);
      }
      const out = loss.fn(h, batch.y);
      values.push(out);
      return out;
    };
    // Detached: plain gradients (parameters that require grad would keep the result connected to them).
    const g = grads(f)(...[...net.w, ...net.b].map((p) => p.detach()), ...probes);
    const orZeros = (t: Tensor | null, shape: readonly number[]) =>
      t ? own(t) : new Float32Array(shape.reduce((a, b) => a * b, 1));
    const nodes: Record<string, NodeTensors> = {};
    this.graph.chain.forEach((id, k) => {
      const v = values[k];
      nodes[id] = {
        shape: [...v.shape],
        value: own(v),
        cotangent: k === values.length - 1 ? Float32Array.of(1) : orZeros(g[2 * L + k], v.shape),
      };
    });
    for (let l = 0; l < L; l++) {
      nodes[`W_${l + 1}`] = {
        shape: [...net.w[l].shape],
        value: own(net.w[l]),
        cotangent: orZeros(g[l], net.w[l].shape),
      };
      nodes[`b_${l + 1}`] = {
        shape: [...net.b[l].shape],
        value: own(net.b[l]),
        cotangent: orZeros(g[L + l], net.b[l].shape),
      };
    }
    nodes.Y = { shape: [...batch.y.shape], value: own(batch.y), cotangent: null };
    return {
      step: this.steps,
      batchLoss: values[values.length - 1].item(),
      nodes,
      comparison: this.compare(batch),
    };
  }

  /** NN.backpropTape (autograd) against NN.backprop (the article's deltas) on one batch. */
  compare(batch: Batch): GradientComparison[] {
    const tape = this.net.backpropTape(batch.x, batch.y);
    const deltas = this.net.backprop(batch.x, batch.y);
    const out: GradientComparison[] = [];
    const one = (name: string, a: Tensor, b: Tensor) => {
      let maxAbsDiff = 0;
      for (let i = 0; i < a.size; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a.data[i] - b.data[i]));
      out.push({ name, relDiff: relativeDifference(a.data, b.data), maxAbsDiff });
    };
    for (let l = 0; l < tape.wGrad.length; l++) {
      one(`W_${l + 1}`, tape.wGrad[l], deltas.wGrad[l]);
      one(`b_${l + 1}`, tape.bGrad[l], deltas.bGrad[l]);
    }
    return out;
  }

  /** Accuracy and loss on the 2,000 test digits. */
  evaluate(): Evaluation {
    return noGrad(() => {
      const out = this.net.forwardPass(this.testX);
      const predicted = out.argmax(1).data;
      let correct = 0;
      for (let r = 0; r < this.test.count; r++) if (predicted[r] === this.test.labels[r]) correct++;
      return {
        step: this.steps,
        epochs: this.epoch + this.cursor / this.train.count,
        testAccuracy: correct / this.test.count,
        testLoss: this.net.loss.fn(out, this.testY).item(),
      };
    });
  }

  /** Test digit `index` (wrapped into range): its pixels in 0..1 and its label. */
  testDigit(index: number): { index: number; label: number; pixels: Float32Array } {
    const i = ((index % this.test.count) + this.test.count) % this.test.count;
    return { index: i, label: this.test.labels[i], pixels: this.test.x.slice(i * 784, (i + 1) * 784) };
  }

  /** The prediction for one 28×28 image and the saliency ∂ŷ_k/∂x of the predicted class k, via grad(). */
  predict(id: number, pixels: Float32Array): Prediction {
    const x = tensor(Float32Array.from(pixels), { shape: [1, 784] });
    const output = Array.from(noGrad(() => this.net.forwardPass(x)).data);
    let predicted = 0;
    for (let k = 1; k < output.length; k++) if (output[k] > output[predicted]) predicted = k;
    let probs: number[];
    if (this.config.loss === "softmaxCrossEntropy") {
      const m = Math.max(...output);
      const e = output.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b, 0);
      probs = e.map((v) => v / s);
    } else {
      const s = output.reduce((a, b) => a + Math.max(0, b), 0);
      probs = output.map((v) => (s > 0 ? Math.max(0, v) / s : 1 / output.length));
    }
    const g = grad((input: Tensor) =>
      this.net
        .forwardPass(input)
        .slice(1, predicted, predicted + 1)
        .sum(),
    )(x);
    return { id, output, probs, predicted, saliency: g ? own(g) : new Float32Array(784) };
  }
}
