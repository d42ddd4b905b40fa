// A model trained by `tapegrad train`, exported by `tapegrad export`, run by onnxruntime-node on the
// same 2,000 test digits as `tapegrad eval`: accuracy from both engines, how many predictions differ,
// and the largest output difference.
// Run: pnpm tapegrad train && pnpm tapegrad export --model runs/<stamp>/model.safetensors
//      pnpm tsx --conditions=@tapegrad/source examples/onnx-mnist.ts runs/<stamp>/model.safetensors runs/<stamp>/model.onnx
import { readFile } from "node:fs/promises";
import * as ort from "onnxruntime-node";
// The CLI's own loaders (not a public API): the model file's network and the fixed test split.
import { loadData } from "../packages/cli/src/data/load.js";
import { loadNetwork } from "../packages/cli/src/model-file.js";

const [modelFile, onnxFile] = process.argv.slice(2);
if (!modelFile || !onnxFile) throw new Error("usage: onnx-mnist.ts <model.safetensors> <model.onnx>");

const { net, dtype, data: spec } = await loadNetwork(modelFile);
const { test } = await loadData({}, dtype, spec);
const n = test.x.shape[0];
const classes = net.sizes[net.sizes.length - 1];

const session = await ort.InferenceSession.create(await readFile(onnxFile));
const t0 = performance.now();
const { output } = await session.run({ input: new ort.Tensor(dtype, test.x.data, test.x.shape) });
const ms = performance.now() - t0;
const fromOnnx = output.data as Float32Array;
const fromTapegrad = net.forward(test.x).data;

const argmax = (a: ArrayLike<number>, r: number): number => {
  let best = 0;
  for (let c = 1; c < classes; c++) if (a[r * classes + c] > a[r * classes + best]) best = c;
  return best;
};
let right = [0, 0];
let differ = 0;
let maxDiff = 0;
for (let r = 0; r < n; r++) {
  const [p, q] = [argmax(fromTapegrad, r), argmax(fromOnnx, r)];
  right = [right[0] + (p === test.labels![r] ? 1 : 0), right[1] + (q === test.labels![r] ? 1 : 0)];
  if (p !== q) differ++;
  for (let c = 0; c < classes; c++)
    maxDiff = Math.max(maxDiff, Math.abs(fromTapegrad[r * classes + c] - fromOnnx[r * classes + c]));
}
const pct = (k: number): string => `${((100 * k) / n).toFixed(2)}%`;
console.log(`${n} test digits, [${net.sizes.join(", ")}] ${net.activation.name}, ${dtype}`);
console.log(`tapegrad     accuracy ${pct(right[0])}`);
console.log(`onnxruntime  accuracy ${pct(right[1])}  (${ms.toFixed(1)} ms for the batch)`);
console.log(`predictions that differ: ${differ}; largest |output difference|: ${maxDiff.toExponential(2)}`);
