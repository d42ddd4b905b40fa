import { setKernelThreads } from "./packages/autograd/src/index.js";
import { gemm } from "./packages/autograd/src/kernels/gemm.js";

setKernelThreads(1);
const med = (f: () => void, n = 21) => {
  for (let i = 0; i < 3; i++) f();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    f();
    const c = process.cpuUsage(c0);
    t.push((c.user + c.system) / 1000);
  }
  t.sort((a, b) => a - b);
  return t[n >> 1];
};
const shapes: [string, number, number, number, boolean, boolean][] = [
  ["conv1 fwd cols·Wt", 18432, 16, 25, false, true],
  ["conv1 dW gT·cols", 16, 25, 18432, true, false],
  ["conv2 fwd", 2048, 32, 400, false, true],
  ["conv2 dW", 32, 400, 2048, true, false],
  ["conv2 dcols g·W", 2048, 400, 32, false, false],
];
let total = 0;
for (const [name, m, n, k, ta, tb] of shapes) {
  const a = new Float32Array(m * k).map(() => Math.random()),
    b = new Float32Array(k * n).map(() => Math.random()),
    c = new Float32Array(m * n);
  const ms = med(() => gemm(a, 0, b, 0, c, 0, m, n, k, ta, tb));
  total += ms;
  console.log(
    name,
    `${m}x${n}x${k}`,
    ms.toFixed(3),
    "ms CPU",
    ((2 * m * n * k) / ms / 1e6).toFixed(1),
    "GFLOP/s",
  );
}
console.log("total", total.toFixed(2));
