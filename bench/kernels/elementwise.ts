/**
 * Kernel-level elementwise benchmark: median µs per call of the plain JS loops against the WASM SIMD
 * kernels (copies in and out included), through the same entry points the ops call (unary, binary,
 * activationGrad, permute) with the backend forced to 'js' or 'wasm'. JS and WASM alternate within
 * each round so they share the machine's load.
 *
 *   node_modules/.bin/tsx --conditions=@tapegrad/source bench/kernels/elementwise.ts
 *     [--dtype float32|float64] [--samples N] [--sweep]
 *
 * --sweep prints, per op, the JS/WASM times over sizes 8 … 65536: the crossovers behind the 'auto'
 * thresholds in packages/autograd/src/kernels/wasm/elementwise.ts.
 */
import { getKernelBackend, setKernelBackend } from "../../packages/autograd/src/kernels/backend.js";
import { activationGrad, binary } from "../../packages/autograd/src/kernels/binary.js";
import { permute } from "../../packages/autograd/src/kernels/layout.js";
import { unary } from "../../packages/autograd/src/kernels/unary.js";

type Arr = Float32Array | Float64Array;

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dtype = opt("--dtype") ?? "float32";
const samples = Number(opt("--samples") ?? 31);
const sweep = args.includes("--sweep");
const make = (n: number): Arr => {
  const a = dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.37) * 3;
  return a;
};

interface Case {
  name: string;
  n: number;
  run: () => void;
}

function cases(n: number, cols: number): Case[] {
  const rows = n / cols;
  const x = make(n);
  const g = make(n);
  const bias = make(cols);
  const out = make(n);
  const shape = [rows, cols];
  return [
    { name: "sigmoid", n, run: () => unary("sigmoid", x, out) },
    { name: "exp", n, run: () => unary("exp", x, out) },
    { name: "relu", n, run: () => unary("relu", x, out) },
    { name: "add (same shape)", n, run: () => binary("add", x, shape, g, shape, out, shape) },
    { name: "add (bias row)", n, run: () => binary("add", x, shape, bias, [cols], out, shape) },
    { name: "mul (same shape)", n, run: () => binary("mul", x, shape, g, shape, out, shape) },
    { name: "reluGrad", n, run: () => activationGrad("reluGrad", x, g, out) },
    { name: "sigmoidGrad", n, run: () => activationGrad("sigmoidGrad", x, g, out) },
  ];
}

/** Median µs per call: each sample times enough calls to last about 0.3 ms. */
function measure(run: () => void, reps: number): number {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) run();
  return ((performance.now() - t0) * 1000) / reps;
}

function repsFor(run: () => void): number {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    if (performance.now() - t0 > 0.3 || reps >= 1 << 16) return reps;
    reps *= 2;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

/** [js µs, wasm µs], alternating backends within each sample. */
function compare(run: () => void): [number, number] {
  const saved = getKernelBackend();
  const times: [number[], number[]] = [[], []];
  const backends = ["js", "wasm"] as const;
  const reps = backends.map((b) => {
    setKernelBackend(b);
    for (let i = 0; i < 20; i++) run(); // warm up (JIT, wasm compile, memory growth)
    return repsFor(run);
  });
  for (let s = 0; s < samples; s++) {
    backends.forEach((b, i) => {
      setKernelBackend(b);
      times[i]!.push(measure(run, reps[i]!));
    });
  }
  setKernelBackend(saved);
  return [median(times[0]), median(times[1])];
}

const fmt = (us: number): string => (us < 10 ? us.toFixed(2) : us.toFixed(1)).padStart(9);

if (sweep) {
  console.log(`JS vs WASM µs per call by size (${dtype}); ratio = JS/WASM`);
  const sizes = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536];
  const names = cases(64, 8).map((c) => c.name);
  for (const name of [...names, "transpose"]) {
    const line: string[] = [];
    for (const n of sizes) {
      let run: () => void;
      if (name === "transpose") {
        const cols = n >= 64 ? 32 : 4;
        const x = make(n);
        const out = make(n);
        run = () => permute(x, [n / cols, cols], [1, 0], out);
      } else run = cases(n, n >= 64 ? 32 : 4).find((c) => c.name === name)!.run;
      const [js, wasm] = compare(run);
      line.push(`${n}:${(js / wasm).toFixed(2)}`);
    }
    console.log(`${name.padEnd(18)} ${line.join(" ")}`);
  }
} else {
  console.log(`elementwise kernels, ${dtype}, median µs per call (${samples} samples)`);
  console.log(
    `${"op".padEnd(18)} ${"elements".padStart(9)} ${"JS".padStart(9)} ${"WASM".padStart(9)}  JS/WASM`,
  );
  for (const [n, cols] of [
    [300, 30],
    [32768, 256],
  ] as const) {
    for (const c of cases(n, cols)) {
      const [js, wasm] = compare(c.run);
      console.log(
        `${c.name.padEnd(18)} ${String(c.n).padStart(9)} ${fmt(js)} ${fmt(wasm)}  ${(js / wasm).toFixed(2)}x`,
      );
    }
  }
  const x = make(784 * 256);
  const out = make(784 * 256);
  const [js, wasm] = compare(() => permute(x, [784, 256], [1, 0], out));
  console.log(
    `${"transpose 784x256".padEnd(18)} ${String(x.length).padStart(9)} ${fmt(js)} ${fmt(wasm)}  ${(js / wasm).toFixed(2)}x`,
  );
}
