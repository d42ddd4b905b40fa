import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * PyTorch on one thread as a peer (W1, W2, W5): a child `/usr/bin/python3 bench/peers/torch_peer.py` answering
 * one JSON line per request. The system python is the one with torch (the default python3 on PATH
 * may be another). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from that child's environment
 * only: set for this machine's numpy peer, they are not what a PyTorch user runs with.
 * OPENBLAS_NUM_THREADS=1: Debian's torch calls the system OpenBLAS (pthreads) for nn.Linear's
 * products, which torch.set_num_threads(1) does not reach; without it W2's products ran on both cores.
 */
const PYTHON = "/usr/bin/python3";
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "torch_peer.py");

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: "1" };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** null when torch imports; otherwise why the peer is skipped. */
export function torchUnavailable(): string | null {
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { env: childEnv(), encoding: "utf8" });
  if (probe.error !== undefined) return `${PYTHON} did not run (${probe.error.message})`;
  if (probe.status !== 0) return `${PYTHON} -c "import torch" failed (install python3-torch to measure)`;
  return null;
}

export interface TorchChild {
  request<T>(req: Record<string, unknown>): Promise<T>;
  close(): void;
}

/** Starts one peer process; requests are answered in order. */
export function startTorch(): TorchChild {
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, [SCRIPT], { env: childEnv() });
  let buffer = "";
  let stderr = "";
  const waiting: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      const next = waiting.shift();
      if (next === undefined) continue;
      const answer = JSON.parse(line) as { error?: string };
      if (answer.error !== undefined) next.reject(new Error(`PyTorch peer: ${answer.error}`));
      else next.resolve(answer);
    }
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  child.on("exit", (code) => {
    const why = new Error(`PyTorch peer exited (${code}): ${stderr.trim().split("\n").pop() ?? ""}`);
    for (const w of waiting.splice(0)) w.reject(why);
  });
  return {
    request<T>(req: Record<string, unknown>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        waiting.push({ resolve: resolve as (v: unknown) => void, reject });
        child.stdin.write(`${JSON.stringify(req)}\n`);
      });
    },
    close() {
      child.stdin.end();
      child.kill();
    },
  };
}
