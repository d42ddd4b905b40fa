/// <reference lib="dom" />
/** Canvas drawing for the page: histograms and heat-maps of tensors. */
import { diverging, ink } from "./colour.js";
import { histogram } from "./stats.js";

/** Draws values as a heat-map of `rows`×`cols` cells onto a canvas of that many pixels (CSS scales it). */
export function heatmap(
  canvas: HTMLCanvasElement,
  values: ArrayLike<number>,
  rows: number,
  cols: number,
  mode: "signed" | "ink",
  scale?: number,
): void {
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const img = ctx.createImageData(cols, rows);
  let s = scale ?? 0;
  if (scale === undefined) for (let i = 0; i < rows * cols; i++) s = Math.max(s, Math.abs(values[i]));
  for (let i = 0; i < rows * cols; i++) {
    const [r, g, b] = mode === "ink" ? ink(values[i]) : diverging(values[i], s);
    img.data[4 * i] = r;
    img.data[4 * i + 1] = g;
    img.data[4 * i + 2] = b;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** W [in, out] with in = 784: one 28×28 tile per unit (column), laid out `perRow` tiles wide. */
export function weightTiles(
  canvas: HTMLCanvasElement,
  w: ArrayLike<number>,
  inputs: number,
  units: number,
): void {
  const side = 28;
  const gap = 2;
  const perRow = Math.min(units, 10);
  const tileRows = Math.ceil(units / perRow);
  const width = perRow * (side + gap) - gap;
  const height = tileRows * (side + gap) - gap;
  const values = new Float32Array(width * height).fill(Number.NaN);
  let s = 0;
  for (let i = 0; i < inputs * units; i++) s = Math.max(s, Math.abs(w[i]));
  for (let u = 0; u < units; u++) {
    const ox = (u % perRow) * (side + gap);
    const oy = Math.floor(u / perRow) * (side + gap);
    for (let p = 0; p < inputs; p++) {
      values[(oy + Math.floor(p / side)) * width + ox + (p % side)] = w[p * units + u];
    }
  }
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const img = ctx.createImageData(width, height);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const [r, g, b] = Number.isNaN(v) ? [255, 255, 255] : diverging(v, s);
    img.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

/** A small bar histogram at the canvas's CSS size (sharp on high-DPI screens). */
export function histogramChart(
  canvas: HTMLCanvasElement,
  values: ArrayLike<number>,
  colour: string,
  bins = 24,
): void {
  const dpr = globalThis.devicePixelRatio || 1;
  const w = Math.max(1, Math.round((canvas.clientWidth || 120) * dpr));
  const h = Math.max(1, Math.round((canvas.clientHeight || 22) * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = "#f1f5f9";
  ctx.fillRect(0, 0, w, h);
  if (values.length === 0) return;
  const { counts, edges } = histogram(values, bins);
  const max = Math.max(...counts);
  const bw = w / bins;
  ctx.fillStyle = colour;
  counts.forEach((c, k) => {
    if (c === 0) return;
    // sqrt keeps small bins visible next to a dominant one
    const bh = Math.max(1, Math.round((Math.sqrt(c) / Math.sqrt(max)) * (h - 1)));
    ctx.fillRect(Math.floor(k * bw) + 0.5, h - bh, Math.max(1, Math.ceil(bw) - 1), bh);
  });
  // mark zero when it is inside the range
  const lo = edges[0];
  const hi = edges[edges.length - 1];
  if (lo < 0 && hi > 0) {
    ctx.fillStyle = "#0f172a";
    ctx.fillRect(Math.round(((0 - lo) / (hi - lo)) * w), 0, Math.max(1, dpr), h);
  }
}
