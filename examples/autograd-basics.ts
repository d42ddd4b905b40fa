// The autograd engine in 20 lines: record a computation on the tape, replay it backwards,
// take functional and second-order gradients, and check them against finite differences.
// Run: pnpm tsx --conditions=@tapegrad/source examples/autograd-basics.ts
import { grad, gradcheck, randn, record, tensor } from "@tapegrad/autograd";

const x = tensor([[0.5, -1.0, 2.0]], { requiresGrad: true, name: "x" });
const W = randn([3, 2], { seed: 1, requiresGrad: true, name: "W" });
const loss = x.matmul(W).tanh().square().sum(); // every op is a node f_i on the tape
loss.backward(); // replay the tape backwards
console.log("loss", loss.item().toFixed(4), "dL/dW", W.grad?.toArray());

const d2tanh = grad((t) => grad((u) => u.tanh().sum())(t)!.sum()); // tanh'' by nesting grad
console.log("tanh''(0.5) =", d2tanh(tensor([0.5], { dtype: "float64" }))?.item());

const check = gradcheck((a, b) => a.matmul(b).sigmoid().sum(), [x.detach(), W.detach()]);
console.log("gradcheck ok:", check.ok, "max abs error", check.maxAbsError.toExponential(2));

const { tape } = record(() => x.matmul(W).tanh().sum());
console.log(tape.toMermaid());
