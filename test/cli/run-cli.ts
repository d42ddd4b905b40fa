import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root, where tsx and the workspace packages resolve. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** tsx's loader by absolute URL, so the CLI also runs from a temporary working directory. */
const TSX = pathToFileURL(createRequire(`${ROOT}package.json`).resolve("tsx")).href;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the tapegrad command from source as a child process, exactly as `pnpm tapegrad ...` does
 * (node + tsx with the @tapegrad/source condition), with a pipe for stdout (so no progress bar).
 */
export function runCli(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", TSX, "--conditions=@tapegrad/source", `${ROOT}packages/cli/src/main.ts`, ...args],
      {
        cwd: opts.cwd ?? ROOT,
        env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", NODE_OPTIONS: "" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `tapegrad ${args.join(" ")} did not finish in ${opts.timeoutMs ?? 120_000} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, opts.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The same command line in this process (through the CLI's own `run`), for the many fast cases. */
export async function runInProcess(args: string[]): Promise<CliResult> {
  const { run } = await import("../../packages/cli/src/cli.js");
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    stdout: {
      write: (s: string) => {
        stdout += s;
        return true;
      },
    },
    stderr: {
      write: (s: string) => {
        stderr += s;
        return true;
      },
    },
  });
  return { code, stdout, stderr };
}
