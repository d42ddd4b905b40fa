/**
 * Wall time of every primitive in one W5 training step (the reference CNN of bench/workloads/w5.ts,
 * batch 64, float32, Adam), forward and backward alike: each rule's forward is wrapped with a timer,
 * keyed by primitive and input shapes, and summed over the measured steps. Also prints the step's wall
 * time and how many products ran on one or two threads (kernelStats).
 *
 *   node_modules/.bin/tsx --conditions=@tapegrad/source bench/profile/w5-primitives.ts [--threads N] [--join] [--steps N]
 *
 * --join makes the helper thread take part in every product (the thread policy is bypassed).
 */
import {
  conv2d,
  kernelStats,
  matmul,
  maxPool2d,
  resetKernelStats,
  setKernelThreads,
  type Tensor,
} from "@tapegrad/autograd";
import { softmaxCrossEntropy } from "@tapegrad/nn";
import { setHelpersMustJoin } from "../../packages/autograd/src/kernels/wasm/workers.js";
import { timePrimitives } from "./primitive-timer.js";
import { W5_BATCH as B, w5Batch, w5Model } from "./w5-setup.js";

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
if (arg("--threads") !== undefined) setKernelThreads(Number(arg("--threads")));
if (process.argv.includes("--join")) setHelpersMustJoin(true);
const STEPS = Number(arg("--steps") ?? 100);
const { p, optimizer } = w5Model();

const timer = timePrimitives();

let total = 0;
function step(s: number): void {
  const { x, y } = w5Batch(s);
  const t0 = performance.now();
  optimizer.zeroGrad();
  let h: Tensor = maxPool2d(conv2d(x, p[0]!, p[1]!).relu(), 2);
  h = maxPool2d(conv2d(h, p[2]!, p[3]!).relu(), 2);
  h = matmul(h.reshape([B, 512]), p[4]!).add(p[5]!);
  softmaxCrossEntropy.fn(h, y).backward();
  optimizer.step();
  if (timer.on) total += performance.now() - t0;
}

for (let s = 0; s < 15; s++) step(s);
timer.on = true;
resetKernelStats();
for (let s = 0; s < STEPS; s++) step(s);
console.log(`W5 step, batch ${B}: ${(total / STEPS).toFixed(2)} ms wall (mean of ${STEPS} steps)`);
timer.print(STEPS, 0.05, "the rest: tape, composites' own work, Adam");
console.log(`products by threads: ${JSON.stringify(kernelStats().wasmThreads)}`);
