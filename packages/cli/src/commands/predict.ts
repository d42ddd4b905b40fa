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

/** The softmax of a model's outputs: class probabilities of a softmaxCrossEntropy model. */
export function softmax(output: ArrayLike<number>): number[] {
  const values = Array.from(output);
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
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
  // Only a softmaxCrossEntropy model was trained to give a distribution (the softmax of its outputs); the
  // outputs of any other model are independent scores, and scaling them to sum to 1 would not make them one.
  const probs = net.loss.name === "softmaxCrossEntropy" ? softmax(output) : undefined;
  const scoresNote = `${net.outputActivation.name} outputs: independent scores, not a probability distribution`;
  let best = 0;
  for (let c = 1; c < output.length; c++) if (output[c] > output[best]) best = c;
  // Class ids are numbers; a CSV model's class names are its target's whole-number values.
  const names: number[] =
    model.data?.kind === "csv" && model.data.classNames
      ? model.data.classNames.map(Number)
      : output.map((_, c) => c);
  if (flags.json) {
    line(
      io.stdout,
      JSON.stringify({
        input: what,
        class: names[best],
        label: truth === undefined ? undefined : names[truth],
        outputs: output,
        ...(probs ? { probabilities: probs } : { scores: scoresNote }),
      }),
    );
    return;
  }
  if (flags.show && isImage && input.length === 784) line(io.stdout, asciiDigit(input));
  const confidence = probs
    ? `probability ${(100 * probs[best]).toFixed(1)}%`
    : `score ${output[best].toFixed(4)}`;
  line(
    io.stdout,
    `${what}: predicted ${names[best]} (${confidence})${truth === undefined ? "" : `, label ${names[truth]}${truth === best ? "" : " (wrong)"}`}`,
  );
  if (!probs) line(io.stdout, scoresNote);
  const header = probs ? ["class", "output", "probability (softmax)"] : ["class", "output"];
  line(
    io.stdout,
    formatTable(
      header,
      output.map((v, c) => [
        String(names[c]),
        v.toFixed(4),
        ...(probs ? [`${(100 * probs[c]).toFixed(1)}%`] : []),
      ]),
    ),
  );
}
