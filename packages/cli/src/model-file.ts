import { ValueError } from "@tapegrad/autograd";
import { decodeSafetensors, NN } from "@tapegrad/nn";
import type { DataSpec } from "./data/source.js";
import { activationByName, lossByName } from "./model-spec.js";
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

/** Rebuilds the article's network from a model file's `architecture` metadata and loads its weights. */
export async function loadNetwork(path: string): Promise<LoadedModel> {
  // Read here rather than with nn's readSafetensors: a plain "no such file" line beats a wrapped system error.
  const bytes = await readNamedFile(path);
  if (!looksLikeSafetensors(bytes)) {
    throw new ValueError(
      `--model ${path}: not a safetensors file (it should start with an 8-byte header length and a JSON header)`,
    );
  }
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  const meta = (metadata ?? {}) as Record<string, string>;
  const arch = parseJson(path, "architecture", meta.architecture) as
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
  const first = Object.values(tensors)[0];
  const dtype = first?.dtype === "float64" ? "float64" : "float32";
  const activation = activationByName(arch.activation ?? "");
  const output = arch.outputActivation === undefined ? activation : activationByName(arch.outputActivation);
  const net = new NN(arch.sizes, activation, lossByName(arch.loss ?? ""), {
    dtype,
    init: arch.init,
    seed: 0,
    outputActivation: output,
  });
  try {
    net.loadStateDict(tensors); // checks every name, shape and dtype before changing anything
  } catch (error) {
    throw new ValueError(`--model ${path}: ${(error as Error).message}`);
  }
  return {
    net,
    dtype,
    data: parseJson(path, "data", meta.data) as DataSpec | undefined,
    training: (parseJson(path, "training", meta.training) as Record<string, unknown>) ?? {},
  };
}
