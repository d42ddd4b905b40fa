/**
 * Child process of the MEM workload (run with --expose-gc): trains W2 with tapegrad for N epochs and
 * prints one JSON line with the heap after a full collection at the end of every epoch and the peak RSS.
 * Usage: memory-child.ts <samples> <epochs>
 */
import { loadDataset } from "../lib/data.js";
import { loadAutograd, loadNn } from "../lib/tapegrad.js";
import { W2, w2InitialWeights } from "./w2.js";
import { buildW2 } from "./w2-tapegrad.js";

const MiB = 2 ** 20;
const samples = Number(process.argv[2] ?? 8000);
const epochs = Number(process.argv[3] ?? 5);
const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) throw new Error("memory-child: run with --expose-gc");

const data = await loadDataset(samples);
const train = buildW2(await loadAutograd(), await loadNn(), data, w2InitialWeights(), {
  lr: W2.lr,
  batch: W2.batch,
});
const perEpoch = [];
for (let epoch = 1; epoch <= epochs; epoch++) {
  const start = performance.now();
  train();
  const seconds = (performance.now() - start) / 1000;
  collect();
  collect();
  const usage = process.memoryUsage();
  perEpoch.push({
    epoch,
    seconds,
    heapUsedMiB: usage.heapUsed / MiB,
    arrayBuffersMiB: usage.arrayBuffers / MiB,
    externalMiB: usage.external / MiB,
    rssMiB: usage.rss / MiB,
  });
}
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  `MEMORY_RESULT ${JSON.stringify({ samples, dataSource: data.source, perEpoch, peakRssMiB })}\n`,
);
