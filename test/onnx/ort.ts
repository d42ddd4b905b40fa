import { Tensor } from "@tapegrad/autograd";
import * as ort from "onnxruntime-node";

/** Runs ONNX bytes in onnxruntime-node (CPU) and returns the outputs as tapegrad tensors. */
export async function runOnnx(
  bytes: Uint8Array,
  feeds: Record<string, Tensor>,
): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: "disabled" });
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.dtype, t.data, t.shape);
  const out = await session.run(ortFeeds);
  const result: Record<string, Tensor> = {};
  for (const [name, v] of Object.entries(out)) {
    result[name] = new Tensor(v.data as Float32Array | Float64Array | Int32Array, [...v.dims]);
  }
  await session.release();
  return result;
}

/** max |a − b| / max |b|: agreement relative to the output's scale. */
export function relativeError(a: Tensor, b: Tensor): number {
  if (a.size !== b.size || a.shape.some((d, k) => d !== b.shape[k]))
    throw new Error(`shapes differ: [${a.shape}] vs [${b.shape}]`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.size; i++) {
    diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
    scale = Math.max(scale, Math.abs(b.data[i]));
  }
  return diff / Math.max(scale, Number.MIN_VALUE);
}
