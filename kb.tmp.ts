import { convKernelStats, setKernelBackend } from "./packages/autograd/src/index.js";
import {
  col2im,
  gatherLast,
  im2col,
  maxPoolArgmax,
  scatterAddLast,
} from "./packages/autograd/src/kernels/conv.js";

const med = (f: () => void, n = 31) => {
  for (let i = 0; i < 5; i++) f();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = performance.now();
    f();
    t.push(performance.now() - a);
  }
  t.sort((a, b) => a - b);
  return t[n >> 1].toFixed(3);
};
for (const be of ["js", "wasm", "js", "wasm"] as const) {
  setKernelBackend(be);
  for (const [c, h, k] of [
    [1, 28, 5],
    [16, 12, 5],
  ]) {
    const n = 32,
      oh = h - k + 1;
    const g = { kh: k, kw: k, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, h, w: h, oh, ow: oh };
    const x = new Float32Array(n * c * h * h).map(() => Math.random());
    const out = new Float32Array(n * oh * oh * c * k * k);
    console.log(
      `${be} c=${c} h=${h}: im2col ${med(() => im2col(x, { n, c, groups: 1 }, g, out))} ms, col2im ${med(() => col2im(out, { n, c, groups: 1 }, g, x))} ms`,
    );
  }
  const n = 32,
    c = 16,
    h = 24;
  const x = new Float32Array(n * c * h * h).map(() => Math.random());
  const idx = new Int32Array(n * c * 144);
  const y = new Float32Array(idx.length);
  console.log(
    be,
    "argmax",
    med(() =>
      maxPoolArgmax(
        x,
        n * c,
        { kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, dh: 1, dw: 1, h, w: h, oh: 12, ow: 12 },
        idx,
      ),
    ),
    "gather",
    med(() => gatherLast(x, 576, idx, 144, n * c, y)),
    "scatter",
    med(() => scatterAddLast(y, 576, idx, 144, n * c, x)),
  );
}
console.log(convKernelStats());
