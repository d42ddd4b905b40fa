import { noGrad, type Tensor, ValueError } from "@tapegrad/autograd";
import { decodeSafetensors, type Loss, type Module, NN } from "@tapegrad/nn";
import { buildFromArchitecture, describeLayers } from "./cnn.js";
import type { DataSpec } from "./data/source.js";
import { activationByName, describeActivations, lossByName } from "./model-spec.js";
import { readNamedFile } from "./util/files.js";

export interface LoadedModel {
  net: NN;
  dtype: "float32" | "float64";
  data: DataSpec | undefined;
  training: Record<string, unknown>;
}

function parseJson(path: string, key: string, text: string | undefined): unknown {
  if (text === undefined || text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new ValueError(`--model ${path}: metadata '${key}' is not valid JSON`);
  }
}

/**
 * The shape of a safetensors file at a glance: an 8-byte little-endian header length that fits the file,
 * then a JSON object. Anything else (a JSON file, a picture, text) is told as "not a safetensors file" rather
 * than by the first field that fails to parse.
 */
function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return length >= 2n && length <= BigInt(bytes.length - 8) && bytes[8] === 0x7b; // "{"
}

interface ModelFile {
  tensors: Record<string, Tensor>;
  meta: Record<string, string>;
  arch: Record<string, unknown> | undefined;
  dtype: "float32" | "float64";
}

async function readModelFile(path: string): Promise<ModelFile> {
  // Read here rather than with nn's readSafetensors: a plain "no such file" line beats a wrapped system error.
  const bytes = await readNamedFile(path);
  if (!looksLikeSafetensors(bytes)) {
    throw new ValueError(
      `--model ${path}: not a safetensors file (it should start with an 8-byte header length and a JSON header)`,
    );
  }
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  const meta = (metadata ?? {}) as Record<string, string>;
  const arch = parseJson(path, "architecture", meta.architecture) as Record<string, unknown> | undefined;
  const first = Object.values(tensors)[0];
  const dtype = first?.dtype === "float64" ? "float64" : "float32";
  return { tensors, meta, arch, dtype };
}

function loadWeights(path: string, module: Module, tensors: Record<string, Tensor>): void {
  try {
    module.loadStateDict(tensors); // checks every name, shape and dtype before changing anything
  } catch (error) {
    throw new ValueError(`--model ${path}: ${(error as Error).message}`);
  }
}

function rebuildNN(path: string, file: ModelFile): LoadedModel {
  const arch = file.arch as
    | {
        type?: string;
        sizes?: number[];
        activation?: string;
        /** Since issue 9: older files apply the activation on every layer, the output too. */
        outputActivation?: string;
        loss?: string;
        init?: "normal" | "nielsen" | "xavier" | "he";
      }
    | undefined;
  if (arch?.type !== "NN" || !Array.isArray(arch.sizes)) {
    throw new ValueError(
      `--model ${path}: no tapegrad NN architecture in the metadata (was it written by tapegrad train?)`,
    );
  }
  const { dtype, meta } = file;
  const activation = activationByName(arch.activation ?? "");
  const output = arch.outputActivation === undefined ? activation : activationByName(arch.outputActivation);
  const net = new NN(arch.sizes, activation, lossByName(arch.loss ?? ""), {
    dtype,
    init: arch.init,
    seed: 0,
    outputActivation: output,
  });
  loadWeights(path, net, file.tensors);
  return {
    net,
    dtype,
    data: parseJson(path, "data", meta.data) as DataSpec | undefined,
    training: (parseJson(path, "training", meta.training) as Record<string, unknown>) ?? {},
  };
}

/** Rebuilds the article's network from a model file's `architecture` metadata and loads its weights. */
export async function loadNetwork(path: string): Promise<LoadedModel> {
  return rebuildNN(path, await readModelFile(path));
}

/** What eval and predict need of any trained model: the article's NN or a layer list such as the CNN. */
export interface LoadedClassifier {
  module: Module;
  /** Features per example (the flat input width) and outputs per example. */
  inputs: number;
  outputs: number;
  loss: Loss;
  /** One line naming the architecture, for eval's header. */
  summary: string;
  /** The output layer's activation ("identity" for logits). */
  outputActivation: string;
  dtype: "float32" | "float64";
  data: DataSpec | undefined;
  training: Record<string, unknown>;
  /** [n, inputs] → [n, outputs] in eval mode (BatchNorm's running statistics, no dropout), off the tape. */
  forward(x: Tensor): Tensor;
}

/** Flat input width of a Sequential: its leading Unflatten's sizes, or its first Linear's inputs. */
function sequentialWidths(arch: Record<string, unknown>): [number, number] {
  const layers = arch.layers as Array<Record<string, unknown>>;
  const first = layers[0];
  const inputs =
    first?.type === "Unflatten"
      ? (first.sizes as number[]).reduce((a, b) => a * b, 1)
      : Number(layers.find((l) => l.type === "Linear")?.inFeatures ?? Number.NaN);
  const last = [...layers].reverse().find((l) => l.type === "Linear");
  return [inputs, Number(last?.outFeatures ?? Number.NaN)];
}

/** Loads a model file written by `tapegrad train`, whatever its --model. */
export async function loadClassifier(path: string): Promise<LoadedClassifier> {
  const file = await readModelFile(path);
  if (file.arch?.type === "Sequential") {
    const module = buildFromArchitecture(file.arch, file.dtype, `--model ${path}`);
    loadWeights(path, module, file.tensors);
    const training = (parseJson(path, "training", file.meta.training) as Record<string, unknown>) ?? {};
    const [inputs, outputs] = sequentialWidths(file.arch);
    const loss = lossByName(String(training.loss ?? "softmaxCrossEntropy"));
    return {
      module,
      inputs,
      outputs,
      loss,
      summary: `${String(training.model ?? "Sequential")} (${describeLayers(file.arch)})`,
      outputActivation: "identity",
      dtype: file.dtype,
      data: parseJson(path, "data", file.meta.data) as DataSpec | undefined,
      training,
      forward: (x) => {
        module.eval();
        return noGrad(() => module.forward(x));
      },
    };
  }
  const { net, dtype, data, training } = rebuildNN(path, file);
  return {
    module: net,
    inputs: net.sizes[0],
    outputs: net.sizes[net.sizes.length - 1],
    loss: net.loss,
    summary: `[${net.sizes.join(", ")}] ${describeActivations({ activation: net.activation.name, outputActivation: net.outputActivation.name, loss: net.loss.name })}, ${net.loss.name} loss`,
    outputActivation: net.outputActivation.name,
    dtype,
    data,
    training,
    forward: (x) => net.forwardPass(x),
  };
}
