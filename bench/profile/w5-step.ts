/**
 * One W5 training step (the reference CNN of bench/workloads/w5.ts: conv5×5(1→16)+ReLU+maxpool2 →
 * conv5×5(16→32)+ReLU+maxpool2 → linear(512→10), softmax cross-entropy, Adam 1e-3, batch 64,
 * float32) cut into phases, in CPU time (process.cpuUsage, so the other processes of a busy machine
 * do not count), summed over many steps. The forward is timed op by op under the tape (what it
 * records is what backward replays); the backward walk is one phase (its split by primitive is in a
 * `--cpu-prof` run). Random inputs: the cost does not depend on the digits. Then the whole step
 * against the conv trunk alone at the same batch (bench/kernels/conv.ts's gradients of the four conv
 * parameters), interleaved, medians of CPU and wall time: what the step adds to the trunk.
 *
 *   node_modules/.bin/tsx --conditions=@tapegrad/source bench/profile/w5-step.ts [--steps N]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx --conditions=@tapegrad/source bench/profile/w5-step.ts
 */
import { conv2d, grads, matmul, maxPool2d, type Tensor, tensor } from "@tapegrad/autograd";
import { Adam, softmaxCrossEntropy } from "@tapegrad/nn";
import { SeededRandom } from "../lib/rng.js";
import { cnnWeights } from "../workloads/w5.js";

const i = process.argv.indexOf("--steps");
const STEPS = i >= 0 ? Number(process.argv[i + 1]) : 60;
const WARM = 10;
const B = 64;

const rng = new SeededRandom(5);
const data = Float32Array.from({ length: 8 * B * 784 }, () => rng.uniform());
const onehot = new Float32Array(8 * B * 10);
for (let r = 0; r < 8 * B; r++) onehot[r * 10 + Math.floor(rng.uniform() * 10)] = 1;

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
const optimizer = new Adam(p, { lr: 1e-3, eps: 1e-8 });

const totals = new Map<string, number>();
const cpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
function step(s: number, record: boolean): void {
  let t = cpu();
  const lap = (phase: string) => {
    const u = cpu();
    if (record) totals.set(phase, (totals.get(phase) ?? 0) + u - t);
    t = u;
  };
  const k = s % 8;
  // As the bench loop: views of the epoch's arrays, wrapped.
  const x = tensor(data.subarray(k * B * 784, (k + 1) * B * 784), { shape: [B, 1, 28, 28] });
  const y = tensor(onehot.subarray(k * B * 10, (k + 1) * B * 10), { shape: [B, 10] });
  lap("batch assembly (tensor views)");
  optimizer.zeroGrad();
  lap("zeroGrad");
  let h: Tensor = conv2d(x, p[0]!, p[1]!);
  lap("fwd conv1 (+bias)");
  h = h.relu();
  lap("fwd relu1");
  h = maxPool2d(h, 2);
  lap("fwd maxpool1");
  h = conv2d(h, p[2]!, p[3]!);
  lap("fwd conv2 (+bias)");
  h = h.relu();
  lap("fwd relu2");
  h = maxPool2d(h, 2);
  lap("fwd maxpool2");
  h = h.reshape([B, 512]);
  lap("fwd reshape");
  h = matmul(h, p[4]!).add(p[5]!);
  lap("fwd linear");
  const loss = softmaxCrossEntropy.fn(h, y);
  lap("fwd softmax cross-entropy");
  loss.backward();
  lap("backward (whole walk)");
  optimizer.step();
  lap("Adam step");
}

for (let s = 0; s < WARM; s++) step(s, false);
for (let s = 0; s < STEPS; s++) step(s, true);
let sum = 0;
for (const us of totals.values()) sum += us;
console.log(`W5 step phases, CPU ms per step (mean of ${STEPS} steps after ${WARM} warm-up steps)`);
for (const [phase, us] of totals) {
  console.log(
    `${phase.padEnd(32)} ${(us / STEPS / 1000).toFixed(2).padStart(7)}  ${((100 * us) / sum).toFixed(1).padStart(5)}%`,
  );
}
console.log(`${"total".padEnd(32)} ${(sum / STEPS / 1000).toFixed(2).padStart(7)}`);

const x64 = tensor(data.subarray(0, B * 784), { shape: [B, 1, 28, 28] });
const trunk = grads((w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) => {
  const h = maxPool2d(conv2d(x64, w1, b1).relu(), 2);
  return maxPool2d(conv2d(h, w2, b2).relu(), 2).sum();
});
const trunkWeights = p.slice(0, 4).map((t) => t.detach());
const runs = { "whole step": [[], []] as number[][], "conv trunk alone": [[], []] as number[][] };
const timed = (k: keyof typeof runs, f: () => void) => {
  const c = cpu();
  const w = performance.now();
  f();
  runs[k][0]!.push((cpu() - c) / 1000);
  runs[k][1]!.push(performance.now() - w);
};
for (let r = 0; r < STEPS; r++) {
  timed("whole step", () => step(r, false));
  timed("conv trunk alone", () => trunk(...trunkWeights));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
console.log(`\nbatch ${B}, interleaved, median of ${STEPS}: CPU ms / wall ms`);
for (const [k, [c, w]] of Object.entries(runs)) {
  console.log(`${k.padEnd(32)} ${median(c!).toFixed(1).padStart(7)} ${median(w!).toFixed(1).padStart(7)}`);
}
