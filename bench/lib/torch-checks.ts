import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startTorchMlp } from "../peers/torch-mlp.js";
import { initialWeights } from "../workloads/init.js";
import { W1 } from "../workloads/w1.js";
import { W2, w2InitialWeights } from "../workloads/w2.js";
import { w2Model } from "../workloads/w2-tapegrad.js";
import { maxRel } from "./checks.js";
import { CLASSES, type Dataset, FEATURES } from "./data.js";
import { loadAutograd, loadNn } from "./tapegrad.js";

export interface TorchAgreement {
  workload: "W1" | "W2";
  rows: number;
  tapegradLoss: number;
  torchLoss: number;
  /** |loss difference| / |torch loss|. */
  lossRelError: number;
  /** Largest |gradient difference| of any W or b, relative to the largest |torch gradient| of that tensor. */
  gradRelError: number;
}

interface LossAndGrads {
  loss: number;
  /** W₁…W_L ([in, out]), then b₁…b_L. */
  grads: Float32Array[];
}

/** tapegrad's loss and gradients on the first batch, written as the W1 / W2 rows write the network. */
async function tapegradSide(workload: "W1" | "W2", data: Dataset, rows: number): Promise<LossAndGrads> {
  const { tensor } = await loadAutograd();
  const nn = await loadNn();
  const x = tensor(data.x.subarray(0, rows * FEATURES), { shape: [rows, FEATURES] });
  const y = tensor(data.y.subarray(0, rows * CLASSES), { shape: [rows, CLASSES] });
  const copy = (g: { data: ArrayLike<number> } | null) => Float32Array.from(g?.data ?? []);
  if (workload === "W1") {
    const init = initialWeights([...W1.sizes], "normal", 1);
    const { sizes } = init;
    const net = new nn.NN(sizes, nn.sigmoid, nn.quadratic, { dtype: "float32" });
    net.w = init.w.map((v, i) => tensor(v.slice(), { shape: [sizes[i], sizes[i + 1]] }));
    net.b = init.b.map((v, i) => tensor(v.slice(), { shape: [1, sizes[i + 1]] }));
    const { wGrad, bGrad } = net.backpropTape(x, y);
    return { loss: net.evalLoss(x, y), grads: [...wGrad, ...bGrad].map(copy) };
  }
  const { model, linears } = w2Model(nn, w2InitialWeights());
  const loss = nn.softmaxCrossEntropy.fn(model.forward(x), y);
  loss.backward();
  return {
    loss: loss.item(),
    grads: [...linears.map((l) => copy(l.weight.grad)), ...linears.map((l) => copy(l.bias?.grad ?? null))],
  };
}

async function torchSide(workload: "W1" | "W2", data: Dataset, rows: number): Promise<LossAndGrads> {
  const w1 = workload === "W1";
  const init = w1 ? initialWeights([...W1.sizes], "normal", 1) : w2InitialWeights();
  const { child } = await startTorchMlp({
    kind: w1 ? "w1" : "w2",
    data: { ...data, n: rows },
    init,
    batch: rows,
    lr: w1 ? W1.lr : W2.lr,
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), "tapegrad-torch-grads-"));
  try {
    const { loss } = await child.request<{ loss: number }>({ cmd: "mlp_grads", dir });
    const read = (name: string) => {
      const bytes = readFileSync(path.join(dir, name));
      return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
    };
    const layers = init.w.map((_, i) => i);
    return {
      loss,
      grads: [...layers.map((i) => read(`w${i}.f32`)), ...layers.map((i) => read(`b${i}.f32`))],
    };
  } finally {
    child.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Do tapegrad and PyTorch compute the same W1 / W2 loss and gradients from the same weights on one batch
 * (the benchmark's batch size)? If not, the W1 / W2 rows would time two different computations.
 */
export async function torchAgreement(workload: "W1" | "W2", data: Dataset): Promise<TorchAgreement> {
  const rows = Math.min(workload === "W1" ? W1.batch : W2.batch, data.n);
  const ours = await tapegradSide(workload, data, rows);
  const theirs = await torchSide(workload, data, rows);
  if (
    ours.grads.length !== theirs.grads.length ||
    ours.grads.some((g, i) => g.length !== theirs.grads[i].length)
  )
    throw new Error("tapegrad and PyTorch gave gradients of different shapes");
  return {
    workload,
    rows,
    tapegradLoss: ours.loss,
    torchLoss: theirs.loss,
    lossRelError: Math.abs(ours.loss - theirs.loss) / Math.abs(theirs.loss),
    gradRelError: Math.max(...ours.grads.map((g, i) => maxRel(g, theirs.grads[i]))),
  };
}
