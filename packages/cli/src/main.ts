#!/usr/bin/env node
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { run } from "./cli.js";
import type { Output } from "./io.js";
import { EXIT_INTERRUPTED } from "./util/errors.js";

// `tapegrad train | head` closes the pipe early: stop quietly, as Unix tools do, instead of a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
}

interface TrainWorkerData {
  tapegradTrain: true;
  argv: string[];
  interrupt: SharedArrayBuffer;
  stdout: { isTTY: boolean; columns?: number };
  stderr: { isTTY: boolean; columns?: number };
}

/** The command a command line runs: its first word that is not a global flag. */
function commandOf(argv: string[]): string | undefined {
  return argv.find((a) => !a.startsWith("-"));
}

/** A worker's stream, looking like the terminal the main thread writes to (for the progress bar). */
function asTerminal(stream: NodeJS.WriteStream, like: { isTTY: boolean; columns?: number }): Output {
  return { isTTY: like.isTTY, columns: like.columns, write: (text) => stream.write(text) };
}

/**
 * Runs this file again in a worker. From the TypeScript sources (`pnpm tapegrad`, run by tsx) the worker
 * gets no loader hooks of its own, so it registers tsx's before importing this file.
 */
function startWorker(data: TrainWorkerData): Worker {
  const self = import.meta.url;
  if (!self.endsWith(".ts")) return new Worker(new URL(self), { workerData: data });
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(self)}))`;
  return new Worker(boot, { eval: true, workerData: data });
}

if (!isMainThread && (workerData as TrainWorkerData | undefined)?.tapegradTrain) {
  // The training thread: the batch loop runs here, and reads the interrupt flag the main thread sets.
  const data = workerData as TrainWorkerData;
  const code = await run(data.argv, {
    stdout: asTerminal(process.stdout, data.stdout),
    stderr: asTerminal(process.stderr, data.stderr),
    interrupt: new Int32Array(data.interrupt),
  });
  parentPort?.postMessage({ code });
} else if (commandOf(process.argv.slice(2)) === "train") {
  // fit's batch loop keeps its thread busy for a whole epoch, so a SIGINT handler on that thread would run
  // only between epochs. Training runs in a worker instead; this thread stays free to hear Ctrl-C at once.
  // First Ctrl-C: ask the worker to stop after its batch and save the finished epochs. Second: quit now.
  const interrupt = new SharedArrayBuffer(4);
  const flag = new Int32Array(interrupt);
  const data: TrainWorkerData = {
    tapegradTrain: true,
    argv: process.argv.slice(2),
    interrupt,
    stdout: { isTTY: Boolean(process.stdout.isTTY), columns: process.stdout.columns },
    stderr: { isTTY: Boolean(process.stderr.isTTY), columns: process.stderr.columns },
  };
  const worker = startWorker(data);
  const onSigint = () => {
    if (Atomics.load(flag, 0) !== 0) process.exit(EXIT_INTERRUPTED);
    Atomics.store(flag, 0, 1);
  };
  process.on("SIGINT", onSigint);
  let code = 1;
  worker.on("message", (message: { code: number }) => {
    code = message.code;
  });
  worker.on("error", (error) => {
    process.stderr.write(`tapegrad: ${error.message}\n`);
    code = 1;
  });
  worker.on("exit", () => {
    process.off("SIGINT", onSigint);
    process.exitCode = code;
  });
} else {
  process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
