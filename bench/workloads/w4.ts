import type { Impl, Item } from "../lib/harness.js";
import { calibratedRunner } from "../lib/micro.js";
import { loadAutograd } from "../lib/tapegrad.js";
import { type TfBackend, useBackend } from "../peers/tfjs.js";
import type { WorkloadContext } from "./context.js";

/** Primitive ops per link of the chain h ← tanh(h·w + b): mul, add, tanh. */
const OPS_PER_LINK = 3;
const X0 = 0.5;
const W = 0.9;
const B = 0.1;

function perOp(chainLength: number) {
  return (iterations: number, seconds: number) => (seconds * 1e6) / (iterations * chainLength * OPS_PER_LINK);
}

/** tapegrad: record the chain on 1-element tensors, then backward() into x, w and b. */
function tapegradChain(chainLength: number, minSeconds: number): Impl {
  return {
    id: "tapegrad",
    label: "record + backward()",
    tapegrad: true,
    async setup() {
      const { tensor } = await loadAutograd();
      const x = tensor([X0], { requiresGrad: true });
      const w = tensor([W], { requiresGrad: true });
      const b = tensor([B], { requiresGrad: true });
      const call = () => {
        let h = x;
        for (let i = 0; i < chainLength; i++) h = h.mul(w).add(b).tanh();
        h.backward();
        if (!Number.isFinite(w.grad?.data[0] ?? Number.NaN))
          throw new Error("W4: tapegrad gave no gradient for w");
        x.grad = null;
        w.grad = null;
        b.grad = null;
      };
      return calibratedRunner(call, { minSeconds, metric: perOp(chainLength) });
    },
  };
}

/** TF.js: tf.grads of the same chain, inside tf.tidy so every intermediate is freed. */
function tfjsChain(backend: TfBackend, chainLength: number, minSeconds: number): Impl {
  return {
    id: `tfjs-${backend}`,
    label: `TF.js ${backend} (tf.grads)`,
    tapegrad: false,
    async setup() {
      const tf = await useBackend(backend);
      const x = tf.tensor1d([X0]);
      const w = tf.tensor1d([W]);
      const b = tf.tensor1d([B]);
      const chain = tf.grads((x0, w0, b0) => {
        let h = x0;
        for (let i = 0; i < chainLength; i++) h = tf.tanh(tf.add(tf.mul(h, w0), b0));
        return h;
      });
      const call = () => {
        tf.tidy(() => {
          const [, dw] = chain([x, w, b]);
          if (!Number.isFinite(dw.dataSync()[0])) throw new Error("W4: TF.js gave no gradient for w");
        });
      };
      return calibratedRunner(call, {
        minSeconds,
        metric: perOp(chainLength),
        before: () => useBackend(backend),
        dispose: () => {
          x.dispose();
          w.dispose();
          b.dispose();
        },
      });
    },
  };
}

/** W4: tape overhead per primitive op, forward + backward, on 1-element tensors. */
export function w4Items({ config, peers }: WorkloadContext): Item[] {
  const L = config.w4ChainLength;
  const impls: Impl[] = [tapegradChain(L, config.microSeconds)];
  if (peers.includes("tfjs-cpu")) impls.push(tfjsChain("cpu", L, config.microSeconds));
  if (peers.includes("tfjs-wasm")) impls.push(tfjsChain("wasm", L, config.microSeconds));
  return [
    {
      workload: "W4",
      name: `tanh(x*w + b) chain of ${L}`,
      unit: "µs/op",
      higherIsBetter: false,
      impls,
      notes: [
        `h ← tanh(h·w + b) repeated ${L} times on 1-element float32 tensors, then gradients of x, w, b; ${OPS_PER_LINK * L} primitive ops counted`,
        "numpy has no autograd (no entry); reference from issue 5: PyTorch 1.13 eager, 1 thread, 7.0 µs/op",
      ],
    },
  ];
}
