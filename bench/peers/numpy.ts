import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type ArrayFile, ArrayFiles } from "./array-files.js";

const SCRIPT = fileURLToPath(new URL("../numpy_bench.py", import.meta.url));

export interface NumpyInfo {
  numpy: string;
  blas: string;
  python: string;
}

type Reply = Record<string, unknown> & { error?: string };

/**
 * numpy's environment: one BLAS thread (the comparison is per core), and without the OPENBLAS_CORETYPE /
 * OPENBLAS_L2_SIZE overrides this machine sets for old OpenBLAS builds, which slow a current numpy.
 */
function numpyEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: "1",
    OMP_NUM_THREADS: "1",
    MKL_NUM_THREADS: "1",
  };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** Why numpy cannot run here, or null when `python3 -c "import numpy"` works. */
export function numpyUnavailable(): string | null {
  const probe = spawnSync("python3", ["-c", "import numpy"], { encoding: "utf8", env: numpyEnv() });
  if (probe.error !== undefined) return `python3 not runnable: ${probe.error.message}`;
  if (probe.status !== 0)
    return `python3 cannot import numpy: ${probe.stderr.trim().split("\n").pop() ?? ""}`;
  return null;
}

/** A running numpy_bench.py child; requests are answered strictly in order, one line each. */
export class NumpyServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: Array<(reply: Reply) => void> = [];
  private readonly files = new ArrayFiles();
  private exited: string | null = null;

  constructor() {
    this.child = spawn("python3", [SCRIPT], { env: numpyEnv(), stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    this.child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      this.pending.shift()?.(JSON.parse(line) as Reply);
    });
    this.child.on("exit", (code) => {
      this.exited = `numpy_bench.py exited with code ${code}: ${stderr.trim().split("\n").pop() ?? ""}`;
      for (const resolve of this.pending.splice(0)) resolve({ error: this.exited });
    });
  }

  async request(message: Record<string, unknown>): Promise<Reply> {
    if (this.exited !== null) throw new Error(this.exited);
    const reply = await new Promise<Reply>((resolve) => {
      this.pending.push(resolve);
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
    if (typeof reply.error === "string") throw new Error(`numpy: ${reply.error}`);
    return reply;
  }

  async info(): Promise<NumpyInfo> {
    return (await this.request({ op: "info" })) as unknown as NumpyInfo;
  }

  /** Hands an array to python through a raw little-endian file. */
  shareArray(data: Float32Array, shape: number[]): ArrayFile {
    return this.files.share(data, shape);
  }

  close(): void {
    this.child.stdin.end();
    this.files.remove();
  }
}

let server: NumpyServer | undefined;

export function numpyServer(): NumpyServer {
  server ??= new NumpyServer();
  return server;
}

export function closeNumpyServer(): void {
  server?.close();
  server = undefined;
}
