/** Median of a non-empty sample (mean of the middle pair for even sizes). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Seconds elapsed since `start`, a performance.now() reading. */
export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
