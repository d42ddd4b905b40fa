/** Where a command writes: real stdout/stderr in the binary, buffers in tests. */
export interface Output {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export interface CliIO {
  stdout: Output;
  stderr: Output;
  /**
   * Ctrl-C for training: when element 0 becomes non-zero, train stops after the current batch and keeps the
   * finished epochs. Shared memory, because the batch loop never yields to the event loop within an epoch:
   * the binary trains in a worker thread and its main thread sets this on SIGINT.
   */
  interrupt?: Int32Array;
}

export function line(out: Output, text = ""): void {
  out.write(`${text}\n`);
}
