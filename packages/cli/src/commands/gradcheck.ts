import { randn, type Tensor, tensor } from "@tapegrad/autograd";
import type { NN } from "@tapegrad/nn";
import { loadMnistPackage } from "../data/mnist-package.js";
import { seededPermutation } from "../data/split-rng.js";
import { imagesToTensors, oneHot } from "../data/tensors.js";
import { type CliIO, line } from "../io.js";
import { buildNetwork, describeActivations } from "../model-spec.js";
import type { ActivationName, InitName, LossName } from "../options.js";
import { CheckFailed } from "../util/errors.js";
import { formatTable } from "../util/table.js";

export interface GradcheckFlags {
  sizes: number[];
  activation: ActivationName;
  outputActivation?: ActivationName;
  loss: LossName;
  init: InitName;
  batchSize: number;
  seed: number;
  samples: number;
  eps: number;
  tolerance: number;
}

/** Largest |a − b| and that difference relative to the largest entry of either (a norm-wise relative error). */
export function compare(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  at?: ArrayLike<number>,
): { abs: number; rel: number } {
  let abs = 0;
  let scale = 0;
  const n = at ? at.length : a.length;
  for (let k = 0; k < n; k++) {
    const i = at ? at[k] : k;
    abs = Math.max(abs, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]), Math.abs(b[i]));
  }
  return { abs, rel: scale > 0 ? abs / scale : 0 };
}

/** Central differences of the loss with respect to chosen elements of one parameter (changed in place, restored). */
function finiteDifferences(
  net: NN,
  p: Tensor,
  at: Int32Array,
  x: Tensor,
  y: Tensor,
  eps: number,
): Float64Array {
  const data = p.data as Float64Array;
  const fd = new Float64Array(p.size);
  for (const i of at) {
    const keep = data[i];
    data[i] = keep + eps;
    const up = net.evalLoss(x, y);
    data[i] = keep - eps;
    const down = net.evalLoss(x, y);
    data[i] = keep;
    fd[i] = (up - down) / (2 * eps);
  }
  return fd;
}

/** A batch: real digits when the network is MNIST-shaped, otherwise seeded normal inputs and one-hot targets. */
async function batchFor(flags: GradcheckFlags): Promise<{ x: Tensor; y: Tensor; source: string }> {
  const inputs = flags.sizes[0];
  const outputs = flags.sizes[flags.sizes.length - 1];
  if (inputs === 784 && outputs === 10) {
    const { train } = await loadMnistPackage("float64");
    const order = seededPermutation(train.count, flags.seed).subarray(0, flags.batchSize);
    const size = 784;
    const pixels = new Float64Array(flags.batchSize * size);
    const labels = new Int32Array(flags.batchSize);
    order.forEach((row, r) => {
      pixels.set(train.pixels.subarray(row * size, (row + 1) * size), r * size);
      labels[r] = train.labels[row];
    });
    const set = imagesToTensors({ ...train, count: flags.batchSize, pixels, labels }, "float64");
    return { x: set.x, y: set.y, source: `${flags.batchSize} MNIST digits` };
  }
  const x = randn([flags.batchSize, inputs], { dtype: "float64", seed: flags.seed + 1 });
  const labels = Int32Array.from({ length: flags.batchSize }, (_, r) => r % outputs);
  const y =
    flags.loss === "crossEntropy" || flags.loss === "softmaxCrossEntropy" || outputs > 1
      ? oneHot(labels, outputs, "float64")
      : tensor(new Float64Array(flags.batchSize).fill(0.5), { shape: [flags.batchSize, 1] });
  return { x, y, source: `${flags.batchSize} random N(0,1) inputs` };
}

export async function gradcheckCommand(flags: GradcheckFlags, io: CliIO): Promise<void> {
  const net = buildNetwork({ ...flags, dtype: "float64" });
  const { x, y, source } = await batchFor(flags);
  const delta = net.backprop(x, y);
  const tape = net.backpropTape(x, y);
  const rows: string[][] = [];
  let worstDelta = 0;
  let worstFd = 0;
  const L = net.w.length;
  for (let l = 0; l < L; l++) {
    for (const [kind, params, tapeGrads, deltaGrads] of [
      ["W", net.w, tape.wGrad, delta.wGrad],
      ["b", net.b, tape.bGrad, delta.bGrad],
    ] as const) {
      const p = params[l];
      const count = flags.samples === 0 || flags.samples >= p.size ? p.size : flags.samples;
      const at =
        count === p.size
          ? Int32Array.from({ length: p.size }, (_, i) => i)
          : seededPermutation(p.size, flags.seed + 31 * l + (kind === "b" ? 7 : 0)).slice(0, count);
      const fd = finiteDifferences(net, p, at, x, y, flags.eps);
      const td = compare(tapeGrads[l].data, deltaGrads[l].data);
      const tf = compare(tapeGrads[l].data, fd, at);
      worstDelta = Math.max(worstDelta, td.rel);
      worstFd = Math.max(worstFd, tf.rel);
      rows.push([
        `${kind}_${l + 1}`,
        `[${p.shape.join(", ")}]`,
        td.abs.toExponential(2),
        td.rel.toExponential(2),
        tf.abs.toExponential(2),
        tf.rel.toExponential(2),
        count === p.size ? "all" : String(count),
        td.rel <= flags.tolerance && tf.rel <= flags.tolerance ? "ok" : "FAIL",
      ]);
    }
  }
  line(
    io.stdout,
    `gradcheck: [${flags.sizes.join(", ")}] ${describeActivations(flags)}, ${flags.loss} loss, init ${flags.init}, float64, one batch of ${source}`,
  );
  line(io.stdout, `loss ${net.evalLoss(x, y).toPrecision(6)}; finite differences: central, h = ${flags.eps}`);
  line(io.stdout);
  line(
    io.stdout,
    formatTable(
      ["param", "shape", "max|tape-delta|", "rel", "max|tape-fd|", "rel", "fd probes", "check"],
      rows,
    ),
  );
  line(io.stdout);
  const ok = worstDelta <= flags.tolerance && worstFd <= flags.tolerance;
  line(
    io.stdout,
    `${ok ? "agree" : "DISAGREE"}: tape vs delta worst relative error ${worstDelta.toExponential(2)}, tape vs finite differences ${worstFd.toExponential(2)} (tolerance ${flags.tolerance})`,
  );
  if (!ok) throw new CheckFailed("gradcheck: gradients disagree beyond the tolerance");
}
