/**
 * W4 alone: µs per primitive op of h ← tanh(h·w + b) on 1-element float32 tensors, 1,000 links (3,000
 * ops), recorded and walked back to x, w and b, split into forward (recording) and backward. Without the
 * bench's other implementations in the process, so the number is the tape's own cost on a quiet heap.
 *
 *   node_modules/.bin/tsx --conditions=@tapegrad/source bench/profile/w4-chain.ts [--calls N]
 */
import { tensor } from "@tapegrad/autograd";

const i = process.argv.indexOf("--calls");
const CALLS = i >= 0 ? Number(process.argv[i + 1]) : 2000;
const LINKS = 1000;
const OPS = 3 * LINKS;

const x = tensor([0.5], { requiresGrad: true });
const w = tensor([0.9], { requiresGrad: true });
const b = tensor([0.1], { requiresGrad: true });
let forwardMs = 0;
let backwardMs = 0;
function call(): void {
  const t0 = performance.now();
  let h = x;
  for (let k = 0; k < LINKS; k++) h = h.mul(w).add(b).tanh();
  const t1 = performance.now();
  h.backward();
  forwardMs += t1 - t0;
  backwardMs += performance.now() - t1;
  x.grad = null;
  w.grad = null;
  b.grad = null;
}

for (let k = 0; k < 500; k++) call();
forwardMs = 0;
backwardMs = 0;
for (let k = 0; k < CALLS; k++) call();
const perOp = (ms: number) => ((ms * 1e3) / (CALLS * OPS)).toFixed(3);
console.log(
  `W4 chain: ${perOp(forwardMs + backwardMs)} µs/op (forward ${perOp(forwardMs)}, backward ${perOp(backwardMs)}), ${CALLS} calls`,
);
