import { tensor } from "@tapegrad/autograd";
import { asciiDigit, readDigitPng } from "../data/digit-image.js";
import type { DataFlags } from "../data/load.js";
import { loadData } from "../data/load.js";
import { type CliIO, line } from "../io.js";
import { loadNetwork } from "../model-file.js";
import { UsageError } from "../util/errors.js";
import { formatTable } from "../util/table.js";

export interface PredictFlags extends DataFlags {
  model: string;
  image?: string;
  index?: number;
  show?: boolean;
  json?: boolean;
}

/** Class probabilities: softmax for a softmax-cross-entropy model, otherwise the outputs scaled to sum to 1. */
export function probabilities(output: ArrayLike<number>, softmax: boolean): number[] {
  const values = Array.from(output);
  if (softmax) {
    const max = Math.max(...values);
    const exps = values.map((v) => Math.exp(v - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    return exps.map((e) => e / sum);
  }
  const clipped = values.map((v) => Math.max(0, v));
  const sum = clipped.reduce((a, b) => a + b, 0);
  return sum > 0 ? clipped.map((v) => v / sum) : values.map(() => 1 / values.length);
}

export async function predictCommand(flags: PredictFlags, io: CliIO): Promise<void> {
  if ((flags.image === undefined) === (flags.index === undefined)) {
    throw new UsageError("predict: give exactly one of --image PNG or --index N");
  }
  const model = await loadNetwork(flags.model);
  const { net } = model;
  let input: Float64Array | Float32Array;
  let truth: number | undefined;
  let target: number | undefined; // regression: the table's own value, scaled as training saw it
  let what: string;
  let isImage = true;
  if (flags.image !== undefined) {
    if (model.data?.kind === "csv")
      throw new UsageError(`--image: ${flags.model} was trained on a CSV table, not images`);
    if (net.sizes[0] !== 784)
      throw new UsageError(`--image: the network takes ${net.sizes[0]} inputs, not a 28x28 image`);
    input = await readDigitPng(flags.image);
    what = flags.image;
  } else {
    const data = await loadData(flags, model.dtype, model.data);
    const index = flags.index ?? 0;
    if (index >= data.test.count)
      throw new UsageError(
        `--index ${index}: the test set has ${data.test.count} examples (0..${data.test.count - 1})`,
      );
    const width = data.inputs;
    input = (data.test.x.data as Float32Array | Float64Array).slice(index * width, (index + 1) * width);
    truth = data.test.labels?.[index];
    if (data.task === "regression") target = data.test.y.data[index];
    what = `test example ${index}`;
    isImage = data.spec.kind !== "csv";
    if (net.sizes[0] !== width)
      throw new UsageError(`${flags.model}: the network takes ${net.sizes[0]} inputs, the data has ${width}`);
  }
  const x = tensor(model.dtype === "float64" ? Float64Array.from(input) : Float32Array.from(input), {
    shape: [1, input.length],
  });
  const output = Array.from(net.forwardPass(x).data);
  if (model.data?.kind === "csv" && model.data.task === "regression") {
    const { targetMin = 0, targetMax = 1 } = model.data;
    const unscale = (v: number) => targetMin + v * (targetMax - targetMin);
    const value = unscale(output[0]);
    const actual = target === undefined ? undefined : unscale(target);
    if (flags.json) line(io.stdout, JSON.stringify({ input: what, prediction: value, actual }));
    else {
      const known = actual === undefined ? "" : ` (actual ${actual.toPrecision(6)})`;
      line(io.stdout, `${what}: predicted ${model.data.target} = ${value.toPrecision(6)}${known}`);
    }
    return;
  }
  const probs = probabilities(output, net.loss.name === "softmaxCrossEntropy");
  let best = 0;
  for (let c = 1; c < probs.length; c++) if (probs[c] > probs[best]) best = c;
  const names =
    model.data?.kind === "csv" && model.data.classNames
      ? model.data.classNames
      : probs.map((_, c) => String(c));
  if (flags.json) {
    line(
      io.stdout,
      JSON.stringify({
        input: what,
        class: names[best],
        label: truth === undefined ? undefined : names[truth],
        probabilities: probs,
        outputs: output,
      }),
    );
    return;
  }
  if (flags.show && isImage && input.length === 784) line(io.stdout, asciiDigit(input));
  line(
    io.stdout,
    `${what}: predicted ${names[best]} (probability ${(100 * probs[best]).toFixed(1)}%)${truth === undefined ? "" : `, label ${names[truth]}${truth === best ? "" : " (wrong)"}`}`,
  );
  const heading =
    net.loss.name === "softmaxCrossEntropy" ? "probability (softmax)" : "probability (outputs / sum)";
  line(
    io.stdout,
    formatTable(
      ["class", "output", heading],
      probs.map((p, c) => [names[c], output[c].toFixed(4), `${(100 * p).toFixed(1)}%`]),
    ),
  );
}
