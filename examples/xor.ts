// The article's network learns XOR, trained twice: once with the hand-derived delta backprop and once
// with the tape, from the same initial weights. The two runs print the same losses.
// Run: pnpm tsx --conditions=@tapegrad/source examples/xor.ts
import { fit, NN, quadratic, SGD, sigmoid, xor } from "@tapegrad/nn";

const data = xor({ dtype: "float64" }); // x: [4, 2], y: [4, 1]

for (const gradients of ["manual", "tape"] as const) {
  const nn = new NN([2, 4, 1], sigmoid, quadratic, { seed: 4, dtype: "float64" });
  // biome-ignore lint/suspicious/noFocusedTests: fit is the training loop of @tapegrad/nn, not a focused test
  const history = await fit(nn, data, {
    epochs: 1500,
    batchSize: 4,
    optimizer: new SGD(nn.parameters(), { lr: 2, momentum: 0.9 }),
    gradients, // 'manual': NN.backprop's deltas; 'tape': autograd
  });
  const every = [1, 10, 100, 500, 1500].map((e) => `${e}: ${history.loss[e - 1].toExponential(3)}`);
  const out = nn.forwardPass(data.x).toArray() as number[][];
  console.log(`${gradients.padEnd(6)} loss by epoch  ${every.join("  ")}`);
  console.log(
    `${"".padEnd(6)} predictions    ${out.map((r) => r[0].toFixed(3)).join(" ")}  (targets 0 1 1 0)`,
  );
}
