import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Dataset } from "../lib/data.js";
import { CLASSES, FEATURES } from "../lib/data.js";
import type { Impl, Item, Runner } from "../lib/harness.js";
import { SeededRandom } from "../lib/rng.js";
import { median, secondsSince } from "../lib/stats.js";
import { type Autograd, loadAutograd, loadNn } from "../lib/tapegrad.js";
import { type Tf, useBackend } from "../peers/tfjs.js";
import { startTorch, type TorchChild } from "../peers/torch.js";
import type { WorkloadContext } from "./context.js";
import { batchStarts, EPOCH_SAMPLES } from "./init.js";

/**
 * W5: the PyTorch reference CNN of issue 10, conv5×5(1→16)+ReLU+maxpool2 → conv5×5(16→32)+ReLU+
 * maxpool2 → linear(512→10), softmax cross-entropy, Adam 1e-3, batch 64, float32; seconds per
 * 8,000-sample epoch and the held-out accuracy after each measured epoch (every measurement trains
 * one more epoch from where the last left off). tapegrad is written with the public functional ops
 * (conv2d, maxPool2d, matmul) and nn's Adam over plain tensors. Plus the researcher's conv trunk
 * alone (bench/kernels/conv.ts), forward+backward of a batch of 32, in ms per step.
 */
export const W5 = { batch: 64, lr: 1e-3, warmBatches: 10, tfjsBatches: 1, convBatch: 32 };

/** Shared initial weights in torch's layouts (conv OIHW, linear [out, in]): He-normal, zero biases. */
export interface CnnWeights {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
  w3: Float32Array;
  b3: Float32Array;
}

export function cnnWeights(seed = 5): CnnWeights {
  const rng = new SeededRandom(seed);
  const he = (n: number, fanIn: number) =>
    rng.fillNormal(new Float32Array(n), Math.sqrt(2 / fanIn)) as Float32Array;
  return {
    w1: he(16 * 25, 25),
    b1: new Float32Array(16),
    w2: he(32 * 16 * 25, 400),
    b2: new Float32Array(32),
    w3: he(10 * 512, 512),
    b3: new Float32Array(10),
  };
}

/** [out, in] → [in, out] for tapegrad's and TF.js's x·W. */
function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
  return t;
}

interface TrainSplit {
  train: Dataset;
  /** Held-out images [test, 784] and their labels. */
  testX: Float32Array;
  testLabels: Int32Array;
}

function percent(a: number): string {
  return `${(100 * a).toFixed(1)}%`;
}

function accuracyDetail(acc: number[]): string {
  return acc.length === 0
    ? "no epoch measured"
    : `held-out accuracy after each measured epoch: ${acc.map(percent).join(", ")}`;
}

function tapegradCnn(split: TrainSplit, init: CnnWeights, scale: number): Impl {
  return {
    id: "tapegrad",
    label: "functional conv2d/maxPool2d/matmul + nn Adam",
    tapegrad: true,
    async setup(): Promise<Runner> {
      const ag: Autograd = await loadAutograd();
      const { Adam, softmaxCrossEntropy, countCorrect } = await loadNn();
      const f32 = { dtype: "float32" as const, requiresGrad: true };
      const p = [
        ag.tensor(init.w1, { ...f32, shape: [16, 1, 5, 5] }),
        ag.tensor(init.b1, { ...f32, shape: [16] }),
        ag.tensor(init.w2, { ...f32, shape: [32, 16, 5, 5] }),
        ag.tensor(init.b2, { ...f32, shape: [32] }),
        ag.tensor(transposed(init.w3, 10, 512), { ...f32, shape: [512, 10] }),
        ag.tensor(init.b3, { ...f32, shape: [10] }),
      ];
      const forward = (x: InstanceType<Autograd["Tensor"]>) => {
        let h = ag.maxPool2d(ag.conv2d(x, p[0], p[1]).relu(), 2);
        h = ag.maxPool2d(ag.conv2d(h, p[2], p[3]).relu(), 2);
        return ag.matmul(h.reshape([h.shape[0], 512]), p[4]).add(p[5]);
      };
      const optimizer = new Adam(p, { lr: W5.lr, eps: 1e-8 });
      const { train } = split;
      const accuracies: number[] = [];
      const run = (batches?: number) => {
        for (const s of batchStarts(train.n, W5.batch, batches)) {
          const rows = Math.min(W5.batch, train.n - s);
          const x = ag.tensor(train.x.subarray(s * FEATURES, (s + rows) * FEATURES), {
            shape: [rows, 1, 28, 28],
          });
          const y = ag.tensor(train.y.subarray(s * CLASSES, (s + rows) * CLASSES), {
            shape: [rows, CLASSES],
          });
          optimizer.zeroGrad();
          softmaxCrossEntropy.fn(forward(x), y).backward();
          optimizer.step();
        }
      };
      // In chunks of 500: one forward over all 2,000 would hold a 115 MB column matrix.
      const accuracy = () =>
        ag.noGrad(() => {
          const n = split.testLabels.length;
          let correct = 0;
          for (let s = 0; s < n; s += 500) {
            const rows = Math.min(500, n - s);
            const x = ag.tensor(split.testX.subarray(s * FEATURES, (s + rows) * FEATURES), {
              shape: [rows, 1, 28, 28],
            });
            const labels = ag.tensor(split.testLabels.subarray(s, s + rows), { shape: [rows] });
            correct += countCorrect(forward(x), labels);
          }
          return correct / n;
        });
      return {
        warmUp: async () => run(W5.warmBatches),
        measure: async () => {
          const start = performance.now();
          run();
          const seconds = secondsSince(start) * scale;
          accuracies.push(accuracy());
          return seconds;
        },
        detail: () => accuracyDetail(accuracies),
      };
    },
  };
}

/** The data and weights the PyTorch child reads (raw little-endian arrays in a temporary folder). */
function writeTorchInputs(split: TrainSplit, init: CnnWeights): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tapegrad-w5-"));
  const n = split.train.n;
  const x = new Float32Array((n + split.testLabels.length) * FEATURES);
  x.set(split.train.x.subarray(0, n * FEATURES));
  x.set(split.testX, n * FEATURES);
  const labels = new Int32Array(n + split.testLabels.length);
  labels.set(split.train.labels.subarray(0, n));
  labels.set(split.testLabels, n);
  const raw = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(path.join(dir, "x.f32"), raw(x));
  writeFileSync(path.join(dir, "labels.i32"), raw(labels));
  for (const [name, a] of Object.entries(init)) writeFileSync(path.join(dir, `${name}.f32`), raw(a));
  return dir;
}

function torchCnn(split: TrainSplit, init: CnnWeights, scale: number): Impl {
  return {
    id: "torch",
    label: "PyTorch 1 thread",
    tapegrad: false,
    async setup(): Promise<Runner> {
      const dir = writeTorchInputs(split, init);
      const child: TorchChild = startTorch();
      const info = await child.request<{ torch: string }>({ cmd: "info" });
      await child.request({
        cmd: "w5",
        dir,
        n: split.train.n,
        test: split.testLabels.length,
        batch: W5.batch,
        lr: W5.lr,
      });
      rmSync(dir, { recursive: true, force: true });
      const accuracies: number[] = [];
      const train = (batches: number | null) =>
        child.request<{ seconds: number; accuracy: number }>({ cmd: "train", batches });
      return {
        warmUp: async () => {
          await train(W5.warmBatches);
        },
        measure: async () => {
          const r = await train(null);
          accuracies.push(r.accuracy);
          return r.seconds * scale;
        },
        detail: () => `torch ${info.torch}, torch.set_num_threads(1); ${accuracyDetail(accuracies)}`,
        dispose: () => child.close(),
      };
    },
  };
}

/**
 * TF.js cpu takes minutes per epoch on this CNN, so each measurement trains a fixed number of
 * batches and is extrapolated to the epoch's batch count (and reports no meaningful accuracy).
 */
function tfjsCpuCnn(split: TrainSplit, init: CnnWeights): Impl {
  const epochBatches = Math.ceil(EPOCH_SAMPLES / W5.batch);
  return {
    id: "tfjs-cpu",
    label: "TF.js cpu",
    tapegrad: false,
    async setup(): Promise<Runner> {
      const tf: Tf = await useBackend("cpu");
      // NHWC like TF.js's conv2d; filters HWIO; the flatten in NCHW order as torch's.
      const hwio = (w: Float32Array, o: number, c: number) =>
        tf.transpose(tf.tensor4d(w, [o, c, 5, 5]), [2, 3, 1, 0]);
      const v = [
        tf.variable(hwio(init.w1, 16, 1)),
        tf.variable(tf.tensor1d(init.b1)),
        tf.variable(hwio(init.w2, 32, 16)),
        tf.variable(tf.tensor1d(init.b2)),
        tf.variable(tf.tensor2d(transposed(init.w3, 10, 512), [512, 10])),
        tf.variable(tf.tensor1d(init.b3)),
      ];
      const optimizer = tf.train.adam(W5.lr, 0.9, 0.999, 1e-8);
      const { train } = split;
      const starts = batchStarts(train.n, W5.batch, W5.tfjsBatches);
      type T4 = ReturnType<Tf["tensor4d"]>;
      const loss = (x: T4, y: ReturnType<Tf["tensor2d"]>, rows: number) => {
        const layer = (a: T4, w: number, b: number): T4 =>
          tf.maxPool(tf.relu(tf.add(tf.conv2d(a, v[w] as T4, 1, "valid"), v[b])) as T4, 2, 2, "valid");
        const h = layer(layer(x, 0, 1), 2, 3);
        const flat = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [rows, 512]);
        const logits = tf.add(tf.matMul(flat, v[4]), v[5]);
        return tf.losses.softmaxCrossEntropy(y, logits) as ReturnType<Tf["scalar"]>;
      };
      const run = async (batches: number[]) => {
        await useBackend("cpu");
        for (const s of batches) {
          const rows = Math.min(W5.batch, train.n - s);
          tf.tidy(() => {
            const x = tf.tensor4d(train.x.subarray(s * FEATURES, (s + rows) * FEATURES), [rows, 28, 28, 1]);
            const y = tf.tensor2d(train.y.subarray(s * CLASSES, (s + rows) * CLASSES), [rows, CLASSES]);
            optimizer.minimize(() => loss(x, y, rows), false, v);
          });
        }
        v[0].dataSync();
      };
      return {
        // A batch of 8 rows compiles the same kernels at an eighth of the cost (a batch of 64 takes
        // tens of seconds of CPU).
        warmUp: async () => {
          await useBackend("cpu");
          tf.tidy(() => {
            const x = tf.tensor4d(train.x.subarray(0, 8 * FEATURES), [8, 28, 28, 1]);
            const y = tf.tensor2d(train.y.subarray(0, 8 * CLASSES), [8, CLASSES]);
            optimizer.minimize(() => loss(x, y, 8), false, v);
          });
        },
        measure: async () => {
          const start = performance.now();
          await run(starts);
          return (secondsSince(start) * epochBatches) / starts.length;
        },
        detail: () =>
          `${starts.length} batch${starts.length === 1 ? "" : "es"} of ${W5.batch} timed per measurement and extrapolated to the epoch's ${epochBatches} (a full epoch takes minutes); no accuracy`,
        dispose: () => {
          for (const t of v) t.dispose();
          optimizer.dispose();
        },
      };
    },
  };
}

/** Why TF.js wasm is not a W5 peer, checked against the kernel registry when that backend loaded. */
async function tfjsWasmFinding(): Promise<string> {
  try {
    const tf = await useBackend("wasm");
    const missing = ["Conv2DBackpropFilter", "Conv2DBackpropInput", "MaxPoolGrad"].filter(
      (k) => tf.getKernel(k, "wasm") === undefined,
    );
    await useBackend("cpu");
    return missing.length === 0
      ? "TF.js wasm: every CNN gradient kernel is registered (not timed here)"
      : `finding: TF.js wasm has no ${missing.join(", ")} kernel (tf.getKernel(name, 'wasm') is undefined), so it cannot train a CNN; not run`;
  } catch (error) {
    return `TF.js wasm not checked: ${(error as Error).message.split("\n")[0]}`;
  }
}

/** The conv trunk of bench/kernels/conv.ts in tapegrad: ms per forward+backward step (median of `steps`). */
function tapegradConv(batch: number, steps: number): Impl {
  return {
    id: "tapegrad",
    label: "conv2d + relu + maxPool2d, grads",
    tapegrad: true,
    async setup(): Promise<Runner> {
      const ag = await loadAutograd();
      const f32 = { dtype: "float32" as const };
      const x = ag.randn([batch, 1, 28, 28], f32);
      const w1 = ag.randn([16, 1, 5, 5], f32).mul(0.2);
      const b1 = ag.randn([16], f32).mul(0.1);
      const w2 = ag.randn([32, 16, 5, 5], f32).mul(0.05);
      const b2 = ag.randn([32], f32).mul(0.1);
      type T = typeof x;
      const step = ag.grads((w1: T, b1: T, w2: T, b2: T) => {
        const h = ag.maxPool2d(ag.conv2d(x, w1, b1).relu(), 2);
        return ag.maxPool2d(ag.conv2d(h, w2, b2).relu(), 2).sum();
      });
      const time = () => {
        const ms: number[] = [];
        for (let i = 0; i < steps; i++) {
          const t0 = performance.now();
          step(w1, b1, w2, b2);
          ms.push(performance.now() - t0);
        }
        return median(ms);
      };
      return { warmUp: async () => void time(), measure: async () => time() };
    },
  };
}

function torchConv(batch: number, steps: number): Impl {
  return {
    id: "torch",
    label: "PyTorch 1 thread",
    tapegrad: false,
    async setup(): Promise<Runner> {
      const child = startTorch();
      const run = () => child.request<{ ms: number }>({ cmd: "conv", batch, steps });
      return {
        warmUp: async () => void (await run()),
        measure: async () => (await run()).ms,
        dispose: () => child.close(),
      };
    },
  };
}

export function w5Items({ config, data, peers }: WorkloadContext): Item[] {
  const n = Math.min(config.quick ? 1024 : EPOCH_SAMPLES, data.n);
  if (data.test === undefined) throw new Error("W5 needs held-out digits (data.test)");
  const split: TrainSplit = {
    train: { ...data, n },
    testX: data.test.x,
    testLabels: data.test.labels,
  };
  const scale = EPOCH_SAMPLES / n;
  const init = cnnWeights();
  const epoch: Impl[] = [tapegradCnn(split, init, scale)];
  if (peers.includes("torch")) epoch.push(torchCnn(split, init, scale));
  if (peers.includes("tfjs-cpu")) epoch.push(tfjsCpuCnn(split, init));
  const notes = [
    `conv5×5(1→16)+ReLU+maxpool2 → conv5×5(16→32)+ReLU+maxpool2 → linear(512→10), softmax cross-entropy, Adam lr ${W5.lr}, batch ${W5.batch}, float32, He-normal initial weights shared by all; accuracy on ${split.testLabels.length} held-out digits (the CLI's test split when MNIST loads), not timed`,
  ];
  if (n !== EPOCH_SAMPLES) notes.push(`timed over ${n} samples, scaled to ${EPOCH_SAMPLES}`);
  const conv: Impl[] = [tapegradConv(W5.convBatch, config.quick ? 7 : 21)];
  if (peers.includes("torch")) conv.push(torchConv(W5.convBatch, config.quick ? 7 : 21));
  return [
    { workload: "W5", name: "epoch", unit: "s/epoch", higherIsBetter: false, impls: epoch, notes },
    {
      workload: "W5",
      name: `conv trunk fwd+bwd, batch ${W5.convBatch}`,
      unit: "ms",
      higherIsBetter: false,
      impls: conv,
      notes: [
        `[${W5.convBatch},1,28,28] → conv5×5×16 → relu → maxpool2 → conv5×5×32 → relu → maxpool2, sum, gradients of the four parameters (bench/kernels/conv.ts); each measurement the median of ${config.quick ? 7 : 21} steps`,
      ],
    },
  ];
}

/** Notes that belong to W5 without a measurement: TF.js wasm cannot train it. */
export async function w5Findings(peers: readonly string[]): Promise<string[]> {
  if (!peers.includes("tfjs-wasm")) {
    return [
      "TF.js wasm: not loaded in this run; it has no Conv2DBackpropFilter kernel, so it cannot train a CNN",
    ];
  }
  return [await tfjsWasmFinding()];
}
