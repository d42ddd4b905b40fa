import type { Dataset } from "../lib/data.js";
import { CLASSES, FEATURES } from "../lib/data.js";
import type { Impl, Runner } from "../lib/harness.js";
import { median } from "../lib/stats.js";
import type { InitialWeights } from "../workloads/init.js";
import { ArrayFiles } from "./array-files.js";
import { startTorch, type TorchChild } from "./torch.js";

/** W1 or W2 in PyTorch (bench/peers/torch_peer.py's Mlp): the same weights, batches and order as tapegrad. */
export interface TorchMlpSpec {
  kind: "w1" | "w2";
  data: Dataset;
  init: InitialWeights;
  batch: number;
  lr: number;
}

/** Starts a child holding the network of `spec` at its initial weights; closes it if setup fails. */
export async function startTorchMlp(spec: TorchMlpSpec): Promise<{ child: TorchChild; version: string }> {
  const child = startTorch();
  const files = new ArrayFiles();
  try {
    const { data, init } = spec;
    const { torch } = await child.request<{ torch: string }>({ cmd: "info" });
    await child.request({
      cmd: "mlp",
      kind: spec.kind,
      x: files.share(data.x.subarray(0, data.n * FEATURES), [data.n, FEATURES]),
      y: files.share(data.y.subarray(0, data.n * CLASSES), [data.n, CLASSES]),
      weights: init.w.map((w, i) => files.share(w, [init.sizes[i], init.sizes[i + 1]])),
      biases: init.b.map((b, i) => files.share(b, [1, init.sizes[i + 1]])),
      batch: spec.batch,
      lr: spec.lr,
    });
    return { child, version: torch };
  } catch (error) {
    child.close();
    throw error;
  } finally {
    files.remove();
  }
}

/** The `torch` column of W1 / W2: seconds per epoch timed inside python, scaled like tapegrad's rows. */
export function torchMlp(spec: TorchMlpSpec, opts: { scale: number; warmBatches: number }): Impl {
  const optimizer = spec.kind === "w1" ? "SGD" : "Adam";
  return {
    id: "torch",
    label: "PyTorch 1 thread",
    tapegrad: false,
    async setup(): Promise<Runner> {
      const { child, version } = await startTorchMlp(spec);
      const train = (batches: number | null) =>
        child.request<{ seconds: number; cpuSeconds: number }>({ cmd: "mlp_train", batches });
      const cpuSeconds: number[] = [];
      return {
        warmUp: async () => {
          await train(opts.warmBatches);
        },
        measure: async () => {
          const r = await train(null);
          cpuSeconds.push(r.cpuSeconds * opts.scale);
          return r.seconds * opts.scale;
        },
        detail: () =>
          `torch ${version}, nn.Linear + torch.optim.${optimizer}, torch.set_num_threads(1)${cpuSeconds.length === 0 ? "" : `; CPU ${median(cpuSeconds).toFixed(3)} s/epoch`}`,
        dispose: () => child.close(),
      };
    },
  };
}
