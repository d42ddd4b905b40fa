import { readFile } from "node:fs/promises";
import { decodeSafetensors } from "@tapegrad/nn";
import type { DataSpec } from "./data/source.js";
import { activationByName, lossByName } from "./model-spec.js";
import { LayeredNN } from "./network.js";
import { UsageError } from "./util/errors.js";

export interface LoadedModel {
  net: LayeredNN;
  dtype: "float32" | "float64";
  data: DataSpec | undefined;
  training: Record<string, unknown>;
}

function parseJson(path: string, key: string, text: string | undefined): unknown {
  if (text === undefined || text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${path}: metadata '${key}' is not valid JSON`);
  }
}

/** Rebuilds the article's network from a model file's `architecture` metadata and loads its weights. */
export async function loadNetwork(path: string): Promise<LoadedModel> {
  // Read here rather than with nn's readSafetensors: a plain "no such file" line beats a wrapped system error.
  const bytes = await readFile(path);
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
    throw new UsageError(
      `${path}: no tapegrad NN architecture in the metadata (was it written by tapegrad train?)`,
    );
  }
  const first = Object.values(tensors)[0];
  const dtype = first?.dtype === "float64" ? "float64" : "float32";
  const activation = activationByName(arch.activation ?? "");
  const output = arch.outputActivation === undefined ? activation : activationByName(arch.outputActivation);
  const net = new LayeredNN(arch.sizes, activation, output, lossByName(arch.loss ?? ""), {
    dtype,
    init: arch.init,
    seed: 0,
  });
  try {
    net.loadStateDict(tensors); // checks every name, shape and dtype before changing anything
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
  return {
    net,
    dtype,
    data: parseJson(path, "data", meta.data) as DataSpec | undefined,
    training: (parseJson(path, "training", meta.training) as Record<string, unknown>) ?? {},
  };
}
