import { basename, dirname, join } from "node:path";
import { zeros } from "@tapegrad/autograd";
import { type Module, NN, saveModel } from "@tapegrad/nn";
import { buildOnnxModel, checkModel, onnx } from "@tapegrad/onnx";
import { type CliIO, line } from "../io.js";
import { loadClassifier } from "../model-file.js";
import { writeFileAtomic } from "../util/atomic.js";
import { UsageError } from "../util/errors.js";

export const EXPORT_FORMATS = ["onnx", "torch"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportFlags {
  model: string;
  format: ExportFormat;
  out?: string;
  opset: number;
}

/** model.safetensors -> model.onnx (or model.torch.safetensors) beside it. */
function defaultOut(model: string, format: ExportFormat): string {
  const stem = basename(model).replace(/\.safetensors$/, "");
  return join(dirname(model), format === "onnx" ? `${stem}.onnx` : `${stem}.torch.safetensors`);
}

/**
 * Writes a trained model for other engines: ONNX (any batch size; input "input" [batch, n_in], output
 * "output" [batch, n_out], the network's forward including its last activation, in eval mode) or a
 * safetensors file in PyTorch's state_dict layout (the article's network as
 * nn.Sequential(nn.Linear, act, nn.Linear, act, ...); a Sequential such as `--model cnn` by its own names).
 */
export async function exportCommand(flags: ExportFlags, io: CliIO): Promise<void> {
  const model = await loadClassifier(flags.model);
  const out = flags.out ?? defaultOut(flags.model, flags.format);
  const net = model.module;
  if (!(net instanceof NN)) {
    if (flags.format === "torch") {
      await saveModel(out, net, { layout: "torch" });
      line(io.stdout, `wrote ${out}: PyTorch state_dict layout for ${model.summary}, ${model.dtype}`);
      return;
    }
    await writeOnnx(
      net,
      model.inputs,
      model.outputs,
      model.dtype,
      `${model.summary}, ${model.dtype}`,
      flags,
      out,
      io,
    );
    return;
  }
  const { dtype } = model;
  const output = net.outputActivation === net.activation ? "" : ` (output ${net.outputActivation.name})`;
  const arch = `[${net.sizes.join(", ")}] ${net.activation.name}${output}, ${dtype}`;
  if (flags.format === "torch") {
    await saveModel(out, net, { layout: "torch" });
    line(io.stdout, `wrote ${out}: PyTorch state_dict layout for ${arch}`);
    const layers = net.sizes.slice(1).map((n, l) => {
      const act = l === net.sizes.length - 2 ? net.outputActivation : net.activation;
      return `nn.Linear(${net.sizes[l]}, ${n}), <${act.name}>`;
    });
    line(io.stdout, `torch: nn.Sequential(${layers.join(", ")}).load_state_dict(tensors)`);
    return;
  }
  await writeOnnx(net, net.sizes[0], net.sizes[net.sizes.length - 1], dtype, arch, flags, out, io);
}

/** Records `net` on a [1, inputs] example, checks the model and writes it, with a three-line summary. */
async function writeOnnx(
  net: Module,
  inputs: number,
  outputs: number,
  dtype: "float32" | "float64",
  arch: string,
  flags: ExportFlags,
  out: string,
  io: CliIO,
): Promise<void> {
  net.eval();
  const example = zeros([1, inputs], { dtype });
  const model = buildOnnxModel(net, [example], {
    opset: flags.opset,
    inputNames: ["input"],
    outputNames: ["output"],
    graphName: basename(flags.model),
  });
  const problems = checkModel(model);
  if (problems.length > 0)
    throw new UsageError(`the exported model fails the checker: ${problems.join("; ")}`);
  const bytes = onnx.ModelProto.encode(model).finish();
  await writeFileAtomic(out, bytes);
  const g = model.graph!;
  const params = net.parameterCount();
  line(io.stdout, `wrote ${out}: ONNX opset ${flags.opset}, ${bytes.length.toLocaleString("en-US")} bytes`);
  line(
    io.stdout,
    `model: ${arch}, ${params.toLocaleString("en-US")} parameters in ${g.initializer!.length} initializers`,
  );
  line(
    io.stdout,
    `graph: input "input" [batch, ${inputs}] -> output "output" [batch, ${outputs}], ${g.node!.length} nodes: ${g.node!.map((n) => n.opType).join(", ")}`,
  );
}
