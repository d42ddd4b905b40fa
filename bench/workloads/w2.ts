import { CLASSES, FEATURES } from "../lib/data.js";
import type { Impl, Item } from "../lib/harness.js";
import { numpyServer } from "../peers/numpy.js";
import { numpyImpl } from "../peers/numpy-impl.js";
import { torchMlp } from "../peers/torch-mlp.js";
import type { WorkloadContext } from "./context.js";
import { EPOCH_SAMPLES, initialWeights } from "./init.js";
import { w2Tapegrad } from "./w2-tapegrad.js";
import { w2Tfjs } from "./w2-tfjs.js";

export const W2 = { sizes: [784, 256, 256, 10], lr: 1e-3, batch: 128, warmBatches: 63 } as const;

export function w2InitialWeights() {
  return initialWeights([...W2.sizes], "he", 2);
}

/** W2: one epoch of [784,256,256,10] relu, softmax cross-entropy, Adam (lr 1e-3), batch 128. */
export function w2Items({ config, data, peers }: WorkloadContext): Item[] {
  const n = Math.min(config.w2Samples, data.n);
  const subset = { ...data, n };
  const init = w2InitialWeights();
  const opts = { lr: W2.lr, batch: W2.batch, scale: EPOCH_SAMPLES / n, warmBatches: W2.warmBatches };
  const impls: Impl[] = [w2Tapegrad(subset, init, opts)];
  if (peers.includes("tfjs-cpu")) impls.push(w2Tfjs("cpu", subset, init, opts));
  if (peers.includes("tfjs-wasm")) impls.push(w2Tfjs("wasm", subset, init, opts));
  if (peers.includes("numpy")) {
    impls.push(
      numpyImpl(() => {
        const server = numpyServer();
        return {
          kind: "w2",
          x: server.shareArray(data.x.subarray(0, n * FEATURES), [n, FEATURES]),
          y: server.shareArray(data.y.subarray(0, n * CLASSES), [n, CLASSES]),
          weights: init.w.map((w, i) => server.shareArray(w, [init.sizes[i], init.sizes[i + 1]])),
          biases: init.b.map((b, i) => server.shareArray(b, [1, init.sizes[i + 1]])),
          batch: W2.batch,
          lr: W2.lr,
          warmBatches: W2.warmBatches,
        };
      }, opts.scale),
    );
  }
  if (peers.includes("torch"))
    impls.push(torchMlp({ kind: "w2", data: subset, init, batch: W2.batch, lr: W2.lr }, opts));
  const notes = [
    `${W2.sizes.join("-")} relu, softmax cross-entropy (mean over rows), Adam lr ${W2.lr} ε 1e-8, batch ${W2.batch} (last batch short), He-normal initial weights shared by all`,
  ];
  if (n !== EPOCH_SAMPLES) notes.push(`timed over ${n} samples, scaled to ${EPOCH_SAMPLES}`);
  if (peers.includes("numpy")) notes.push("numpy: float32, gradients and Adam by hand");
  if (peers.includes("torch"))
    notes.push(
      "PyTorch: nn.Sequential of nn.Linear + nn.ReLU, nn.CrossEntropyLoss on class indices, torch.optim.Adam(eps=1e-8); opt.zero_grad(), loss.backward(), opt.step()",
    );
  return [{ workload: "W2", name: "epoch", unit: "s/epoch", higherIsBetter: false, impls, notes }];
}
