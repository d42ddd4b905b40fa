/** Plain-geometry helpers for the loss and accuracy charts (SVG path strings, axis ticks). */

export interface Point {
  x: number;
  y: number;
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Maps data points into the box (y up) and returns an SVG path "M x y L x y ...", skipping non-finite points. */
export function linePath(
  points: readonly Point[],
  x: [number, number],
  y: [number, number],
  box: Box,
): string {
  const sx = x[1] > x[0] ? box.width / (x[1] - x[0]) : 0;
  const sy = y[1] > y[0] ? box.height / (y[1] - y[0]) : 0;
  let d = "";
  let pen = false;
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      pen = false;
      continue;
    }
    const px = box.left + (p.x - x[0]) * sx;
    const py = box.top + box.height - (p.y - y[0]) * sy;
    d += `${pen ? "L" : "M"}${px.toFixed(1)} ${py.toFixed(1)} `;
    pen = true;
  }
  return d.trim();
}

/** The finite range of values, padded when flat; [0, 1] when there is none. */
export function extent(values: readonly number[]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (!(lo <= hi)) return [0, 1];
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

/** About `count` round tick values (1, 2 or 5 times a power of ten apart) covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo) || !Number.isFinite(lo) || !Number.isFinite(hi)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const pow = 10 ** Math.floor(Math.log10(raw));
  // The round step nearest to the raw one (in ratio): rounding up to the next one could leave a single tick.
  const step = [1, 2, 5, 10]
    .map((m) => m * pow)
    .reduce((best, s) => (Math.abs(Math.log(s / raw)) < Math.abs(Math.log(best / raw)) ? s : best));
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/** Keeps at most `max` points by averaging neighbours, so a long run still draws quickly. */
export function downsample(points: readonly Point[], max: number): Point[] {
  if (points.length <= max) return [...points];
  const per = Math.ceil(points.length / max);
  const out: Point[] = [];
  for (let i = 0; i < points.length; i += per) {
    const chunk = points.slice(i, i + per).filter((p) => Number.isFinite(p.y));
    if (chunk.length === 0) continue;
    out.push({
      x: chunk[chunk.length - 1].x,
      y: chunk.reduce((a, p) => a + p.y, 0) / chunk.length,
    });
  }
  return out;
}
