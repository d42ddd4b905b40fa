/**
 * What the W5 profiles share: eight random batches of 64 digits with one-hot labels (the cost does not
 * depend on the pixels), the reference CNN's initial weights as tensors that require grad (W₃ stored
 * [in, out]), and Adam over them, as bench/workloads/w5.ts trains it.
 */
import { type Tensor, tensor } from "@tapegrad/autograd";
import { Adam } from "@tapegrad/nn";
import { SeededRandom } from "../lib/rng.js";
import { cnnWeights } from "../workloads/w5.js";

export const W5_BATCH = 64;
const BATCHES = 8;

const rng = new SeededRandom(5);
const data = Float32Array.from({ length: BATCHES * W5_BATCH * 784 }, () => rng.uniform());
const onehot = new Float32Array(BATCHES * W5_BATCH * 10);
for (let r = 0; r < BATCHES * W5_BATCH; r++) onehot[r * 10 + Math.floor(rng.uniform() * 10)] = 1;

/** Batch `s` (mod 8) as the bench loop builds it: tensor views of the epoch's arrays. */
export function w5Batch(s: number): { x: Tensor; y: Tensor } {
  const k = s % BATCHES;
  const n = W5_BATCH;
  return {
    x: tensor(data.subarray(k * n * 784, (k + 1) * n * 784), { shape: [n, 1, 28, 28] }),
    y: tensor(onehot.subarray(k * n * 10, (k + 1) * n * 10), { shape: [n, 10] }),
  };
}

/** The six parameters (w1, b1, w2, b2, w3 [512, 10], b3) and Adam (lr 1e-3, eps 1e-8) over them. */
export function w5Model(): { p: Tensor[]; optimizer: InstanceType<typeof Adam> } {
  const init = cnnWeights();
  const f32 = { dtype: "float32" as const, requiresGrad: true };
  const w3 = new Float32Array(512 * 10);
  for (let r = 0; r < 10; r++) for (let c = 0; c < 512; c++) w3[c * 10 + r] = init.w3[r * 512 + c];
  const p = [
    tensor(init.w1, { ...f32, shape: [16, 1, 5, 5] }),
    tensor(init.b1, { ...f32, shape: [16] }),
    tensor(init.w2, { ...f32, shape: [32, 16, 5, 5] }),
    tensor(init.b2, { ...f32, shape: [32] }),
    tensor(w3, { ...f32, shape: [512, 10] }),
    tensor(init.b3, { ...f32, shape: [10] }),
  ];
  return { p, optimizer: new Adam(p, { lr: 1e-3, eps: 1e-8 }) };
}
