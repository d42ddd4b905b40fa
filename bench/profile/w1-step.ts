/**
 * One W1 step (784-30-10 sigmoid, quadratic loss, batch 10, float32) cut into phases, in CPU time
 * (process.cpuUsage, so the other processes of a busy machine do not count), averaged over many
 * steps. Every phase runs in every step, so all of them share the machine's state (heap, JIT, load).
 * issue 12: shows where each way of getting the gradients spends its time (docs/performance.md).
 *
 *   node_modules/.bin/tsx --conditions=@tapegrad/source bench/profile/w1-step.ts [--steps N]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx --conditions=@tapegrad/source bench/profile/w1-step.ts
 */
import { grads, noGrad, type Tensor, tensor, valueAndGrads } from "@tapegrad/autograd";
import { NN, Parameter, quadratic, SGD, sigmoid } from "@tapegrad/nn";
import { SeededRandom } from "../lib/rng.js";

const i = process.argv.indexOf("--steps");
const STEPS = i >= 0 ? Number(process.argv[i + 1]) : 20000;
const WARM = 1500;

const rng = new SeededRandom(12);
const fill = (n: number, scale: number) =>
  Float32Array.from({ length: n }, () => (rng.uniform() - 0.5) * scale);
const x = tensor(fill(10 * 784, 1), { shape: [10, 784] });
const y = tensor(fill(10 * 10, 1), { shape: [10, 10] });
const net = new NN([784, 30, 10], sigmoid, quadratic, { dtype: "float32" });
net.w = [
  new Parameter(fill(784 * 30, 0.2), [784, 30], "W_1"),
  new Parameter(fill(300, 0.2), [30, 10], "W_2"),
];
net.b = [new Parameter(fill(30, 0.2), [1, 30], "b_1"), new Parameter(fill(10, 0.2), [1, 10], "b_2")];
const optimizer = new SGD([...net.w, ...net.b] as InstanceType<typeof Parameter>[], { lr: 3 });
// The functional variants' own weights: plain tensors, replaced by each update.
let plain: Tensor[] = noGrad(() => [...net.w, ...net.b].map((p) => p.detach().add(0)));
const lossOf = (ps: Tensor[]): Tensor => {
  let a = x;
  for (let l = 0; l < 2; l++) a = sigmoid.fn(a.matmul(ps[l]).add(ps[2 + l]));
  return quadratic.fn(a, y);
};

const totals = new Map<string, number>();
const cpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
function step(record: boolean): void {
  let t = cpu();
  const lap = (phase: string) => {
    const u = cpu();
    if (record) totals.set(phase, (totals.get(phase) ?? 0) + u - t);
    t = u;
  };
  optimizer.zeroGrad();
  lap("tape: zeroGrad");
  const loss = quadratic.fn(net.forwardPass(x), y);
  lap("tape: forward, recorded");
  loss.backward();
  lap("tape: loss.backward()");
  optimizer.step();
  lap("tape: SGD step (in place)");
  noGrad(() => quadratic.fn(net.forwardPass(x), y));
  lap("forward under noGrad");
  const g = grads((...ps: Tensor[]) => lossOf(ps))(...plain);
  lap("grads (forward + walk)");
  valueAndGrads((...ps: Tensor[]) => lossOf(ps))(...plain);
  lap("valueAndGrads (forward + walk)");
  plain = noGrad(() => plain.map((p, k) => p.sub(g[k]!.mul(3))));
  lap("functional update w.sub(g.mul(lr))");
  net.backpropTape(x, y);
  lap("NN.backpropTape");
  net.backprop(x, y);
  lap("NN.backprop");
}

for (let s = 0; s < WARM; s++) step(false);
// cpuUsage counts in microseconds: the phases are summed over all steps, then divided.
for (let s = 0; s < STEPS; s++) step(true);
console.log(`W1 step phases, CPU µs per step (mean of ${STEPS} steps after ${WARM} warm-up steps)`);
for (const [phase, us] of totals) console.log(`${phase.padEnd(36)} ${(us / STEPS).toFixed(1)}`);
