import type { Dataset } from "../lib/data.js";
import { CLASSES, FEATURES } from "../lib/data.js";
import type { Impl } from "../lib/harness.js";
import { median } from "../lib/stats.js";
import { loadAutograd, loadNn } from "../lib/tapegrad.js";
import { epochRunner } from "./epoch-runner.js";
import { batchStarts, type InitialWeights } from "./init.js";

/**
 * The ways a user gets W1's gradients (issue 12): each one is a bench row, so the README's number is
 * the one whichever way is written gets. "tape" and "manual" keep their ids (older results compare).
 */
export const W1_GRADIENTS = {
  tape: { id: "tapegrad", label: "tape: loss.backward() + SGD" },
  manual: { id: "tapegrad-manual", label: "manual deltas: NN.backprop + SGD" },
  backpropTape: { id: "tapegrad-backpropTape", label: "NN.backpropTape (grads) + SGD" },
  functional: { id: "tapegrad-functional", label: "loss.backward() + w.sub(g.mul(lr)) under noGrad" },
  grads: { id: "tapegrad-grads", label: "grads(loss)(...ws, ...bs) + functional update" },
  valueAndGrads: { id: "tapegrad-valueAndGrads", label: "valueAndGrads(loss)(...) + functional update" },
} as const;

export type W1Gradients = keyof typeof W1_GRADIENTS;

/**
 * The article's network, float32. With nn's NN class and SGD: "tape" (loss.backward() fills .grad),
 * "manual" (NN.backprop's hand-derived deltas handed to SGD as .grad), "backpropTape" (NN's grads-based
 * gradients, likewise). With plain tensors and a functional update w ← w − lr·g under noGrad:
 * "functional" (leaves that require grad, loss.backward()), "grads" and "valueAndGrads".
 */
export function w1Tapegrad(
  gradients: W1Gradients,
  data: Dataset,
  init: InitialWeights,
  opts: { lr: number; batch: number; scale: number; warmBatches: number },
): Impl {
  const { id, label } = W1_GRADIENTS[gradients];
  return {
    id,
    label,
    tapegrad: true,
    async setup() {
      const autograd = await loadAutograd();
      const { tensor } = autograd;
      const nn = await loadNn();
      const batchOf = (s: number) => {
        const rows = Math.min(opts.batch, data.n - s);
        const x = tensor(data.x.subarray(s * FEATURES, (s + rows) * FEATURES), { shape: [rows, FEATURES] });
        const y = tensor(data.y.subarray(s * CLASSES, (s + rows) * CLASSES), { shape: [rows, CLASSES] });
        return { x, y };
      };
      const { step } = w1Steps(gradients, autograd, nn, init, opts.lr);
      const train = (s: number) => {
        const { x, y } = batchOf(s);
        step(x, y);
      };
      // CPU seconds of each measured epoch too: on a loaded machine wall time also counts waiting for a core.
      const cpuSeconds: number[] = [];
      return epochRunner(
        (batches?: number) => {
          const c0 = process.cpuUsage();
          for (const s of batchStarts(data.n, opts.batch, batches)) train(s);
          // A full epoch (no batch count) is a measured repetition; the warm-up trains a few batches.
          if (batches === undefined) {
            const c = process.cpuUsage(c0);
            cpuSeconds.push(((c.user + c.system) / 1e6) * opts.scale);
          }
        },
        {
          warmBatches: opts.warmBatches,
          scale: opts.scale,
          detail: () =>
            cpuSeconds.length === 0 ? "CPU not measured" : `CPU ${median(cpuSeconds).toFixed(3)} s/epoch`,
        },
      );
    },
  };
}

type Autograd = Awaited<ReturnType<typeof loadAutograd>>;
type Nn = Awaited<ReturnType<typeof loadNn>>;
type Tensor = InstanceType<Autograd["Tensor"]>;

/** One training step of the chosen way, and the weights it has reached (W₁, W₂, b₁, b₂ as float32 copies). */
export interface W1Steps {
  step(x: Tensor, y: Tensor): void;
  weights(): Float32Array[];
}

export function w1Steps(
  gradients: W1Gradients,
  autograd: Autograd,
  nn: Nn,
  init: InitialWeights,
  lr: number,
): W1Steps {
  return gradients === "tape" || gradients === "manual" || gradients === "backpropTape"
    ? nnLoop(gradients, nn, init, lr)
    : functionalLoop(gradients, autograd, nn, init, lr);
}

/** One SGD step of NN with nn's optimiser; the gradients come from the tape, NN.backprop or NN.backpropTape. */
function nnLoop(
  gradients: "tape" | "manual" | "backpropTape",
  { NN, Parameter, SGD, quadratic, sigmoid }: Nn,
  init: InitialWeights,
  lr: number,
): W1Steps {
  const sizes = init.sizes;
  const net = new NN(sizes, sigmoid, quadratic, { dtype: "float32" });
  net.w = init.w.map((v, i) => new Parameter(v.slice(), [sizes[i], sizes[i + 1]], `W_${i + 1}`));
  net.b = init.b.map((v, i) => new Parameter(v.slice(), [1, sizes[i + 1]], `b_${i + 1}`));
  const params = [...net.w, ...net.b];
  const optimizer = new SGD(params as InstanceType<typeof Parameter>[], { lr });
  const step = (x: Tensor, y: Tensor) => {
    optimizer.zeroGrad();
    if (gradients === "tape") {
      quadratic.fn(net.forwardPass(x), y).backward();
    } else {
      const { wGrad, bGrad } = gradients === "manual" ? net.backprop(x, y) : net.backpropTape(x, y);
      net.w.forEach((w, i) => {
        w.grad = wGrad[i];
      });
      net.b.forEach((b, i) => {
        b.grad = bGrad[i];
      });
    }
    optimizer.step();
  };
  return { step, weights: () => params.map((p) => Float32Array.from(p.data)) };
}

/** The same network as plain tensors, updated functionally (new tensors each step) under noGrad. */
function functionalLoop(
  gradients: "functional" | "grads" | "valueAndGrads",
  { tensor, noGrad, grads, valueAndGrads }: Autograd,
  { quadratic, sigmoid }: Nn,
  init: InitialWeights,
  lr: number,
): W1Steps {
  const sizes = init.sizes;
  const L = init.w.length;
  const leaf = gradients === "functional";
  let params: Tensor[] = [
    ...init.w.map((v, i) => tensor(v.slice(), { shape: [sizes[i], sizes[i + 1]], requiresGrad: leaf })),
    ...init.b.map((v, i) => tensor(v.slice(), { shape: [1, sizes[i + 1]], requiresGrad: leaf })),
  ];
  const lossOf = (x: Tensor, y: Tensor, ps: Tensor[]): Tensor => {
    let a = x;
    for (let l = 0; l < L; l++) a = sigmoid.fn(a.matmul(ps[l]).add(ps[L + l]));
    return quadratic.fn(a, y);
  };
  const update = (gs: (Tensor | null)[]) => {
    params = noGrad(() =>
      params.map((p, i) => {
        const next = p.sub(gs[i]!.mul(lr));
        if (leaf) next.requiresGrad = true;
        return next;
      }),
    );
  };
  const step = (x: Tensor, y: Tensor) => {
    if (gradients === "functional") {
      lossOf(x, y, params).backward();
      update(params.map((p) => p.grad));
    } else if (gradients === "grads") {
      update(grads((...ps: Tensor[]) => lossOf(x, y, ps))(...params));
    } else {
      update(valueAndGrads((...ps: Tensor[]) => lossOf(x, y, ps))(...params).grads);
    }
  };
  return { step, weights: () => params.map((p) => Float32Array.from(p.data)) };
}
