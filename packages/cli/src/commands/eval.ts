import { evaluate } from "@tapegrad/nn";
import { type DataFlags, loadData } from "../data/load.js";
import { type CliIO, line } from "../io.js";
import { loadNetwork } from "../model-file.js";
import { describeActivations } from "../model-spec.js";
import { UsageError } from "../util/errors.js";
import { formatTable } from "../util/table.js";

export interface EvalFlags extends DataFlags {
  model: string;
  json?: boolean;
  confusion?: boolean;
}

/** Rows: true class, columns: predicted class. */
export function confusionMatrix(output: ArrayLike<number>, labels: Int32Array, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (output[r * classes + c] > output[r * classes + best]) best = c;
    m[labels[r]][best]++;
  }
  return m;
}

export async function evalCommand(flags: EvalFlags, io: CliIO): Promise<void> {
  const model = await loadNetwork(flags.model);
  const data = await loadData(flags, model.dtype, model.data);
  const { net } = model;
  if (net.sizes[0] !== data.inputs || net.sizes[net.sizes.length - 1] !== data.outputs) {
    throw new UsageError(
      `${flags.model}: the network [${net.sizes.join(", ")}] does not fit the data (${data.inputs} inputs, ${data.outputs} outputs)`,
    );
  }
  const classification = data.task === "classification";
  const result = evaluate(net, data.test, { loss: net.loss, metrics: classification ? ["accuracy"] : [] });
  const confusion =
    flags.confusion && classification && data.test.labels
      ? confusionMatrix(net.forwardPass(data.test.x).data, data.test.labels, data.outputs)
      : undefined;
  if (flags.json) {
    line(
      io.stdout,
      JSON.stringify({
        model: flags.model,
        examples: data.test.count,
        loss: result.loss,
        accuracy: result.accuracy,
        confusion,
      }),
    );
    return;
  }
  line(
    io.stdout,
    `model ${flags.model}: [${net.sizes.join(", ")}] ${describeActivations({ activation: net.activation.name, outputActivation: net.outputActivation.name, loss: net.loss.name })}, ${net.loss.name} loss, ${model.dtype}`,
  );
  line(io.stdout, `data: ${data.description}: ${data.test.count} test examples`);
  line(
    io.stdout,
    `test loss ${result.loss.toFixed(4)}${classification ? `  test accuracy ${(100 * (result.accuracy ?? Number.NaN)).toFixed(2)}%` : ""}`,
  );
  if (confusion) {
    const m = confusion;
    line(io.stdout);
    line(io.stdout, "confusion matrix (rows: true class, columns: predicted class)");
    line(
      io.stdout,
      formatTable(
        ["", ...m.map((_, c) => String(c))],
        m.map((row, r) => [String(r), ...row.map(String)]),
      ),
    );
  }
}
