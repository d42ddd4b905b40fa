import { CLASSES, FEATURES } from "../lib/data.js";
import type { Impl, Item } from "../lib/harness.js";
import { numpyServer } from "../peers/numpy.js";
import { numpyImpl } from "../peers/numpy-impl.js";
import { torchMlp } from "../peers/torch-mlp.js";
import type { WorkloadContext } from "./context.js";
import { EPOCH_SAMPLES, initialWeights } from "./init.js";
import { W1_GRADIENTS, type W1Gradients, w1Tapegrad } from "./w1-tapegrad.js";
import { w1Tfjs } from "./w1-tfjs.js";

/** warmBatches: untimed batches before the first measured epoch (JIT tiers and heap sizes settle). */
export const W1 = { sizes: [784, 30, 10], lr: 3.0, batch: 10, warmBatches: 800 } as const;

/** W1: one epoch of the article's network (sigmoid, quadratic loss, SGD lr 3.0, batch 10). */
export function w1Items({ config, data, peers }: WorkloadContext): Item[] {
  const n = Math.min(config.w1Samples, data.n);
  const subset = { ...data, n };
  const init = initialWeights([...W1.sizes], "normal", 1);
  const opts = { lr: W1.lr, batch: W1.batch, scale: EPOCH_SAMPLES / n, warmBatches: W1.warmBatches };
  const impls: Impl[] = (Object.keys(W1_GRADIENTS) as W1Gradients[]).map((g) =>
    w1Tapegrad(g, subset, init, opts),
  );
  if (peers.includes("tfjs-cpu")) impls.push(w1Tfjs("cpu", subset, init, opts));
  if (peers.includes("tfjs-wasm")) impls.push(w1Tfjs("wasm", subset, init, opts));
  if (peers.includes("numpy")) {
    impls.push(
      numpyImpl(() => {
        const server = numpyServer();
        return {
          kind: "w1",
          x: server.shareArray(data.x.subarray(0, n * FEATURES), [n, FEATURES]),
          y: server.shareArray(data.y.subarray(0, n * CLASSES), [n, CLASSES]),
          weights: init.w.map((w, i) => server.shareArray(w, [init.sizes[i], init.sizes[i + 1]])),
          biases: init.b.map((b, i) => server.shareArray(b, [1, init.sizes[i + 1]])),
          batch: W1.batch,
          lr: W1.lr,
          warmBatches: W1.warmBatches,
        };
      }, opts.scale),
    );
  }
  if (peers.includes("torch"))
    impls.push(torchMlp({ kind: "w1", data: subset, init, batch: W1.batch, lr: W1.lr }, opts));
  const notes = [
    `${W1.sizes.join("-")} sigmoid, quadratic loss ½Σ‖ŷ−y‖²/n, SGD lr ${W1.lr}, batch ${W1.batch}`,
  ];
  if (n !== EPOCH_SAMPLES) notes.push(`timed over ${n} samples, scaled to ${EPOCH_SAMPLES}`);
  notes.push(
    "tapegrad rows: every way of getting the gradients (issue 12); the targets line gives each one's ratio to the fastest",
  );
  if (peers.includes("numpy"))
    notes.push("numpy: float32, batched, gradients by hand (numpy has no autograd)");
  if (peers.includes("torch"))
    notes.push(
      "PyTorch: nn.Sequential of nn.Linear + nn.Sigmoid, ½·F.mse_loss(reduction='sum')/rows, torch.optim.SGD; opt.zero_grad(), loss.backward(), opt.step()",
    );
  return [{ workload: "W1", name: "epoch", unit: "s/epoch", higherIsBetter: false, impls, notes }];
}
