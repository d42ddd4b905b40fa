// Newton's method with tapegrad's Hessian: logistic regression on 200 points in float64.
// hessian(loss) is jacfwd(jacrev(loss)): forward mode over reverse mode. Each Newton step solves
// H·d = ∇L; the gradient norm falls quadratically (a handful of steps), where gradient descent crawls.
// Run: pnpm tsx --conditions=@tapegrad/source examples/hessian-newton.ts
import { pathToFileURL } from "node:url";
import { grad, hessian, hvp, Rng, type Tensor, tensor } from "@tapegrad/autograd";

const rng = new Rng(3);
const n = 200;
const trueW = [1.5, -2, 0.5];
const rows: number[] = [];
const labels: number[] = [];
for (let i = 0; i < n; i++) {
  const x = [rng.normal(), rng.normal(), 1]; // two features and a constant for the bias
  const p = 1 / (1 + Math.exp(-x.reduce((s, v, k) => s + v * trueW[k], 0)));
  rows.push(...x);
  labels.push(rng.uniform() < p ? 1 : 0);
}
const X = tensor(Float64Array.from(rows), { shape: [n, 3] });
const y = tensor(Float64Array.from(labels), { shape: [n, 1] });

// mean log-loss with a little L2, written from primitives: log(1 + e^z) − y·z
const loss = (w: Tensor): Tensor => {
  const z = X.matmul(w);
  return z.softplus().sub(y.mul(z)).mean().add(w.square().sum().mul(1e-3));
};

/** Solves A·d = b for a small dense A (Gaussian elimination with partial pivoting). */
function solve(A: number[][], b: number[]): number[] {
  const m = A.map((row, i) => [...row, b[i]]);
  const k = b.length;
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < k; r++) {
      const f = m[r][c] / m[c][c];
      for (let j = c; j <= k; j++) m[r][j] -= f * m[c][j];
    }
  }
  const d = new Array<number>(k).fill(0);
  for (let r = k - 1; r >= 0; r--) {
    let s = m[r][k];
    for (let j = r + 1; j < k; j++) s -= m[r][j] * d[j];
    d[r] = s / m[r][r];
  }
  return d;
}

export interface NewtonRun {
  /** ‖∇L‖ before each Newton step (the last one after convergence). */
  newtonGradNorms: number[];
  /** ‖∇L‖ after six steps of gradient descent with learning rate 1. */
  descentGradNorm: number;
  /** H·e₁ from hvp at the solution, and the first column of the Hessian there. */
  hvpColumn: number[];
  hessianColumn: number[];
}

/** Runs Newton's method and gradient descent on the logistic regression; `log` prints the progress. */
export function runNewton(log: (line: string) => void = () => {}): NewtonRun {
  const newtonGradNorms: number[] = [];
  const norm = (t: Tensor): number => Math.hypot(...t.data);
  let w = tensor(new Float64Array(3), { shape: [3, 1] });
  log("Newton's method (hessian = jacfwd(jacrev(loss))):");
  for (let step = 0; step <= 6; step++) {
    const g = grad(loss)(w)!;
    newtonGradNorms.push(norm(g));
    log(`  step ${step}: loss ${loss(w).item().toFixed(12)}  |grad| ${norm(g).toExponential(2)}`);
    if (norm(g) < 1e-13) break;
    const H = hessian(loss)(w); // [3, 1, 3, 1]
    const A = [0, 1, 2].map((i) => [0, 1, 2].map((j) => H.data[i * 3 + j]));
    const d = solve(A, Array.from(g.data));
    w = w.sub(tensor(Float64Array.from(d), { shape: [3, 1] }));
  }
  log(
    `  fitted w = [${Array.from(w.data, (v) => v.toFixed(3)).join(", ")}] (data drawn with [${trueW.join(", ")}])`,
  );

  // The same curvature without forming H: a Hessian-vector product (forward over reverse).
  const v = tensor([[1], [0], [0]], { dtype: "float64" });
  const [Hv] = hvp(loss, [w], [v]);
  log(`  H·e₁ by hvp = [${Array.from(Hv.data, (x) => x.toFixed(5)).join(", ")}]`);

  let gd = tensor(new Float64Array(3), { shape: [3, 1] });
  for (let i = 0; i < 6; i++) gd = gd.sub(grad(loss)(gd)!.mul(1));
  log(`gradient descent, 6 steps of lr 1: |grad| ${norm(grad(loss)(gd)!).toExponential(2)}`);

  const H = hessian(loss)(w);
  return {
    newtonGradNorms,
    descentGradNorm: norm(grad(loss)(gd)!),
    hvpColumn: Array.from(Hv.data),
    hessianColumn: [0, 1, 2].map((i) => H.data[i * 3]),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runNewton(console.log);
}
