/**
 * One training step of the CLI's CNN (`tapegrad train --model cnn`: conv5×5 16 + BatchNorm2d + ReLU +
 * maxpool, conv5×5 32 + BatchNorm2d + ReLU + maxpool, dropout, linear; softmax cross-entropy, Adam), batch
 * 64, float32: wall ms per step (mean of the measured steps), then, with --primitives, the wall time of
 * every primitive (each rule's forward wrapped with a timer, keyed by primitive and input shapes).
 * PyTorch's 1-thread step for the same layers: /usr/bin/python3 bench/profile/cnn_cli_step_torch.py.
 *
 *   node_modules/.bin/tsx --conditions=@tapegrad/source bench/profile/cnn-cli-step.ts [--steps N] [--primitives]
 */
import { type Tensor, tensor } from "@tapegrad/autograd";
import { Adam, softmaxCrossEntropy } from "@tapegrad/nn";
import { buildCnn } from "../../packages/cli/src/cnn.js";
import { timePrimitives } from "./primitive-timer.js";

const at = process.argv.indexOf("--steps");
const STEPS = at >= 0 ? Number(process.argv[at + 1]) : 60;
const PRIMITIVES = process.argv.includes("--primitives");
const B = 64;

const model = buildCnn({ dtype: "float32", seed: 1, rows: 28, cols: 28, classes: 10 });
const optimizer = new Adam(model.parameters(), { lr: 0.002 });
const xs = Array.from({ length: 4 }, (_, s) =>
  tensor(
    Float32Array.from({ length: B * 784 }, (_, i) => ((i * 7 + s) % 255) / 255),
    { shape: [B, 784] },
  ),
);
const labels = tensor(
  Int32Array.from({ length: B }, (_, i) => i % 10),
  { shape: [B] },
);

const timer = PRIMITIVES ? timePrimitives() : null;

function step(s: number): void {
  optimizer.zeroGrad();
  softmaxCrossEntropy.fn(model.forward(xs[s % xs.length]!) as Tensor, labels).backward();
  optimizer.step();
}

for (let s = 0; s < 10; s++) step(s);
if (timer !== null) timer.on = true;
const t0 = performance.now();
for (let s = 0; s < STEPS; s++) step(s);
const perStep = (performance.now() - t0) / STEPS;
console.log(`CLI CNN step, batch ${B}: ${perStep.toFixed(2)} ms wall (mean of ${STEPS} steps)`);
timer?.print(STEPS, 0.1, "the rest: tape, layers' own work, Adam");
