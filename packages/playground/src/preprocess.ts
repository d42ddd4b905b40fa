/**
 * Turns a drawing into a 28×28 digit the way MNIST's digits were made: the ink's bounding box is scaled
 * (keeping its aspect ratio, with area averaging so thin strokes stay grey rather than vanish) to fit a
 * 20×20 box, then placed on the 28×28 field so its centre of mass sits at the centre.
 */

export const SIDE = 28;
export const BOX = 20;

export interface Gray {
  width: number;
  height: number;
  /** width·height values in 0..1, row-major; 1 = ink. */
  data: Float32Array;
}

/** Ink from RGBA pixels drawn light-on-dark: the mean of R, G, B scaled to 0..1, times alpha. */
export function grayFromRgba(rgba: ArrayLike<number>, width: number, height: number): Gray {
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) {
    const r = rgba[4 * i];
    const g = rgba[4 * i + 1];
    const b = rgba[4 * i + 2];
    const a = rgba[4 * i + 3];
    data[i] = ((r + g + b) / (3 * 255)) * (a / 255);
  }
  return { width, height, data };
}

/** The smallest rectangle holding every value above `threshold`, or null when there is none. */
export function inkBounds(
  img: Gray,
  threshold = 0.05,
): { x0: number; y0: number; x1: number; y1: number } | null {
  let x0 = img.width;
  let y0 = img.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      if (img.data[y * img.width + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/**
 * Resamples a line of `n` cells onto `m` cells covering the same extent: each output cell is the
 * average of the input over its span (exact fractional overlaps), so the mean value is preserved.
 */
export function resampleLine(src: ArrayLike<number>, m: number): Float32Array {
  const n = src.length;
  const out = new Float32Array(m);
  const span = n / m; // input cells per output cell
  for (let k = 0; k < m; k++) {
    const a = k * span;
    const b = a + span;
    let acc = 0;
    for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
      const overlap = Math.min(b, i + 1) - Math.max(a, i);
      if (overlap > 0) acc += src[i] * overlap;
    }
    out[k] = acc / span;
  }
  return out;
}

/** Resamples a whole image, rows then columns. */
export function resample(img: Gray, width: number, height: number): Gray {
  const rows = new Float32Array(img.height * width);
  for (let y = 0; y < img.height; y++) {
    rows.set(resampleLine(img.data.subarray(y * img.width, (y + 1) * img.width), width), y * width);
  }
  const data = new Float32Array(width * height);
  const column = new Float32Array(img.height);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < img.height; y++) column[y] = rows[y * width + x];
    const out = resampleLine(column, height);
    for (let y = 0; y < height; y++) data[y * width + x] = out[y];
  }
  return { width, height, data };
}

/** Centre of mass (x, y) in pixel-centre coordinates, or null for an empty image. */
export function centreOfMass(img: Gray): { x: number; y: number } | null {
  let m = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const v = img.data[y * img.width + x];
      m += v;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
    }
  }
  return m > 0 ? { x: sx / m, y: sy / m } : null;
}

/** The MNIST-style 28×28 input (784 values in 0..1), or null when nothing is drawn. */
export function toMnist(img: Gray): Float32Array | null {
  const box = inkBounds(img);
  if (!box) return null;
  const w = box.x1 - box.x0;
  const h = box.y1 - box.y0;
  const crop = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    crop.set(img.data.subarray((box.y0 + y) * img.width + box.x0, (box.y0 + y) * img.width + box.x1), y * w);
  }
  const scale = BOX / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * scale));
  const th = Math.max(1, Math.round(h * scale));
  const small = resample({ width: w, height: h, data: crop }, tw, th);
  // Stroke values from averaging can sit well below 1; stretch so the darkest ink is 1, as in MNIST.
  let peak = 0;
  for (const v of small.data) peak = Math.max(peak, v);
  if (peak > 0) for (let i = 0; i < small.data.length; i++) small.data[i] = Math.min(1, small.data[i] / peak);
  const com = centreOfMass(small);
  if (!com) return null;
  const dx = Math.round(SIDE / 2 - com.x);
  const dy = Math.round(SIDE / 2 - com.y);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < th; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= SIDE) continue;
    for (let x = 0; x < tw; x++) {
      const tx = x + dx;
      if (tx >= 0 && tx < SIDE) out[ty * SIDE + tx] = small.data[y * tw + x];
    }
  }
  return out;
}
