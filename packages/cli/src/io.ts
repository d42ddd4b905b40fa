/** Where a command writes: real stdout/stderr in the binary, buffers in tests. */
export interface Output {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export interface CliIO {
  stdout: Output;
  stderr: Output;
}

export function line(out: Output, text = ""): void {
  out.write(`${text}\n`);
}
