/**
 * Convolution benchmark: forward + backward of the researcher's CNN trunk, [32, 1, 28, 28] →
 * conv5×5×16 → relu → maxpool2 → conv5×5×32 → relu → maxpool2 (float32), in ms per batch through
 * the public ops, median of several runs; and, where `/usr/bin/python3 -c "import torch"` works, the
 * same in PyTorch on one thread, with the ratio (the target: ≤ 2×).
 *
 *   node_modules/.bin/tsx --conditions=@tapegrad/source bench/kernels/conv.ts
 *     [--backend auto|js|wasm] [--threads N] [--runs N] [--batch N] [--no-torch] [--json]
 */
import { spawnSync } from "node:child_process";
import {
  conv2d,
  convKernelStats,
  grads,
  type KernelBackend,
  kernelStats,
  maxPool2d,
  randn,
  resetKernelStats,
  setKernelBackend,
  setKernelThreads,
  startKernelThreads,
  type Tensor,
} from "../../packages/autograd/src/index.js";

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const backend = (opt("--backend") ?? "auto") as KernelBackend;
const runs = Number(opt("--runs") ?? 21);
const batch = Number(opt("--batch") ?? 32);
const threads = opt("--threads");
setKernelBackend(backend);
if (threads !== undefined) setKernelThreads(Number(threads));
startKernelThreads(2000);

const f32 = { dtype: "float32" as const };
const x = randn([batch, 1, 28, 28], f32);
const w1 = randn([16, 1, 5, 5], f32).mul(0.2);
const b1 = randn([16], f32).mul(0.1);
const w2 = randn([32, 16, 5, 5], f32).mul(0.05);
const b2 = randn([32], f32).mul(0.1);

const trunk = (w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor): Tensor => {
  const h = maxPool2d(conv2d(x, w1, b1).relu(), 2);
  return maxPool2d(conv2d(h, w2, b2).relu(), 2).sum();
};
const step = grads(trunk);

const median = (v: number[]) => v.slice().sort((a, b) => a - b)[Math.floor(v.length / 2)];

/**
 * Wall-clock and CPU ms per step (medians). On a shared, oversubscribed machine the wall time swings
 * with the other processes; the CPU time of a single-threaded run (--threads 1) much less, so both are
 * reported, for us and for PyTorch.
 */
function timeOurs(): { wall: number; cpu: number } {
  for (let i = 0; i < 5; i++) step(w1, b1, w2, b2);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    step(w1, b1, w2, b2);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

const TORCH = `
import time, torch, torch.nn.functional as F, json, sys
torch.set_num_threads(1)
torch.manual_seed(0)
b, runs = int(sys.argv[1]), int(sys.argv[2])
x = torch.randn(b, 1, 28, 28)
w1 = (torch.randn(16, 1, 5, 5) * 0.2).requires_grad_()
b1 = (torch.randn(16) * 0.1).requires_grad_()
w2 = (torch.randn(32, 16, 5, 5) * 0.05).requires_grad_()
b2 = (torch.randn(32) * 0.1).requires_grad_()
def step():
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
    y = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2).sum()
    torch.autograd.grad(y, [w1, b1, w2, b2])
for _ in range(5): step()
ts, cs = [], []
for _ in range(runs):
    c0 = time.process_time(); t0 = time.perf_counter(); step()
    ts.append((time.perf_counter() - t0) * 1e3); cs.append((time.process_time() - c0) * 1e3)
ts.sort(); cs.sort()
print(json.dumps({"ms": ts[len(ts) // 2], "cpuMs": cs[len(cs) // 2], "torch": torch.__version__}))
`;

function timeTorch(): { ms: number; cpuMs: number; torch: string } | string {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const probe = spawnSync("/usr/bin/python3", ["-c", "import torch"], { env, encoding: "utf8" });
  if (probe.status !== 0)
    return "PyTorch not available (/usr/bin/python3 -c 'import torch' failed): peer skipped";
  const r = spawnSync("/usr/bin/python3", ["-c", TORCH, String(batch), String(runs)], {
    env,
    encoding: "utf8",
  });
  if (r.status !== 0) return `PyTorch run failed: ${r.stderr.trim().split("\n").pop()}`;
  return JSON.parse(r.stdout.trim().split("\n").pop() as string);
}

resetKernelStats();
const ours = timeOurs();
const stats = { gemm: kernelStats(), conv: convKernelStats() };
const torch = args.includes("--no-torch") ? "skipped (--no-torch)" : timeTorch();
const peer = typeof torch === "string" ? null : torch;
const result = {
  case: `[${batch},1,28,28] conv5x5x16 relu maxpool2 conv5x5x32 relu maxpool2, forward+backward, float32`,
  backend,
  tapegradMs: ours.wall,
  tapegradCpuMs: ours.cpu,
  torch1ThreadMs: peer === null ? null : peer.ms,
  torch1ThreadCpuMs: peer === null ? null : peer.cpuMs,
  ratio: peer === null ? null : ours.wall / peer.ms,
  cpuRatio: peer === null ? null : ours.cpu / peer.cpuMs,
  note: typeof torch === "string" ? torch : `torch ${torch.torch}, 1 thread`,
  kernels: stats,
};
if (args.includes("--json")) console.log(JSON.stringify(result));
else {
  console.log(result.case);
  console.log(
    `tapegrad (${backend}): ${ours.wall.toFixed(2)} ms per batch, CPU ${ours.cpu.toFixed(2)} ms (medians of ${runs})`,
  );
  if (peer === null) console.log(result.note);
  else {
    console.log(
      `PyTorch 1 thread: ${peer.ms.toFixed(2)} ms per batch, CPU ${peer.cpuMs.toFixed(2)} ms (${result.note})`,
    );
    console.log(
      `ratio: ${(result.ratio as number).toFixed(2)}x wall, ${(result.cpuRatio as number).toFixed(2)}x CPU (target <= 2x)`,
    );
  }
  console.log(
    `kernel calls: gemm js ${stats.gemm.js} wasm ${stats.gemm.wasm}; conv js ${stats.conv.js} wasm ${stats.conv.wasm}`,
  );
}
