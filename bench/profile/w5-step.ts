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
import { conv2d, grads, matmul, maxPool2d, type Tensor } from "@tapegrad/autograd";
import { softmaxCrossEntropy } from "@tapegrad/nn";
import { W5_BATCH as B, w5Batch, w5Model } from "./w5-setup.js";

const i = process.argv.indexOf("--steps");
const STEPS = i >= 0 ? Number(process.argv[i + 1]) : 60;
const WARM = 10;
const { p, optimizer } = w5Model();

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
  // As the bench loop: views of the epoch's arrays, wrapped.
  const { x, y } = w5Batch(s);
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

const x64 = w5Batch(0).x;
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
