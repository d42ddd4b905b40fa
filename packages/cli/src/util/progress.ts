/**
 * A one-line progress bar for a terminal. It redraws at most every 100 ms and only when the stream is a TTY;
 * on a pipe or in CI it stays silent so logs hold the plain per-epoch lines only.
 */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

export class ProgressBar {
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
  ) {
    this.enabled = Boolean(stream.isTTY) && total > 0;
  }

  /** Draws `label ████░░░░ done/total  suffix`. */
  update(done: number, label: string, suffix = ""): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (done < this.total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const fraction = Math.min(1, Math.max(0, done / this.total));
    const columns = this.stream.columns || 80;
    const counter = `${done}/${this.total}`;
    const fixed = label.length + counter.length + suffix.length + 6;
    const width = Math.max(10, Math.min(40, columns - fixed - 1));
    const filled = Math.round(fraction * width);
    const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
    const line = `${label} ${bar} ${counter}${suffix ? `  ${suffix}` : ""}`;
    this.stream.write(`\r${line.slice(0, columns - 1)}\x1b[K`);
  }

  /** Clears the bar so the next line starts clean. */
  clear(): void {
    if (this.enabled) this.stream.write("\r\x1b[K");
  }
}
