import { convForward, convInputGrad, convWeightGrad, maxPoolArgmax } from "./packages/autograd/src/kernels/conv.js";
const med = (f: () => void, n = 21) => { for (let i = 0; i < 3; i++) f(); const t: number[] = []; for (let i = 0; i < n; i++) { const c0 = process.cpuUsage(); f(); const c = process.cpuUsage(c0); t.push((c.user + c.system) / 1000); } t.sort((a, b) => a - b); return t[n >> 1].toFixed(3); };
for (const [c, h, o] of [[1, 28, 16], [16, 12, 32]]) {
  const n = 32, k = 5, oh = h - k + 1;
  const d = { kh: k, kw: k, sh: 1, sw: 1, ph: 0, pw: 0, dh: 1, dw: 1, h, w: h, oh, ow: oh, n, c, o, groups: 1 };
  const x = new Float32Array(n * c * h * h).map(() => Math.random());
  const w = new Float32Array(o * c * k * k).map(() => Math.random());
  const y = new Float32Array(n * o * oh * oh).map(() => Math.random());
  const dw = new Float32Array(w.length), dx = new Float32Array(x.length);
  console.log(`c=${c} o=${o}: fwd ${med(() => convForward(x, w, y, d))} inputGrad ${med(() => convInputGrad(y, w, dx, d))} weightGrad ${med(() => convWeightGrad(x, y, dw, d))} ms CPU`);
}
