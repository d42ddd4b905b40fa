import { ValueError } from "@tapegrad/autograd";
import { PNG } from "pngjs";
import { readFileStart, readNamedFile } from "../util/files.js";

export const SIDE = 28;
const BOX = 20; // MNIST digits fit a 20x20 box, centred by their centre of mass in the 28x28 field

/** Grey levels 0..1 of an RGBA image, composited on white (transparent areas read as paper). */
export function toGrey(rgba: Uint8Array, width: number, height: number): Float64Array {
  const grey = new Float64Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const a = rgba[4 * i + 3] / 255;
    const lum = (0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]) / 255;
    grey[i] = lum * a + (1 - a);
  }
  return grey;
}

/** MNIST is white ink on black: a picture whose border is mostly light is dark ink on paper, so invert it. */
export function inkOnBlack(grey: Float64Array, width: number, height: number): Float64Array {
  let border = 0;
  let count = 0;
  for (let x = 0; x < width; x++) {
    border += grey[x] + grey[(height - 1) * width + x];
    count += 2;
  }
  for (let y = 0; y < height; y++) {
    border += grey[y * width] + grey[y * width + width - 1];
    count += 2;
  }
  if (border / count <= 0.5) return grey;
  return grey.map((v) => 1 - v);
}

/** Area-average resampling of a w x h region to tw x th. */
function resample(
  src: Float64Array,
  srcWidth: number,
  x0: number,
  y0: number,
  w: number,
  h: number,
  tw: number,
  th: number,
): Float64Array {
  const out = new Float64Array(tw * th);
  const sx = w / tw;
  const sy = h / th;
  for (let ty = 0; ty < th; ty++) {
    const top = ty * sy;
    const bottom = top + sy;
    for (let tx = 0; tx < tw; tx++) {
      const left = tx * sx;
      const right = left + sx;
      let sum = 0;
      let area = 0;
      for (let y = Math.floor(top); y < Math.ceil(bottom); y++) {
        const wy = Math.min(bottom, y + 1) - Math.max(top, y);
        for (let x = Math.floor(left); x < Math.ceil(right); x++) {
          const wx = Math.min(right, x + 1) - Math.max(left, x);
          sum += src[(y0 + y) * srcWidth + x0 + x] * wx * wy;
          area += wx * wy;
        }
      }
      out[ty * tw + tx] = area > 0 ? sum / area : 0;
    }
  }
  return out;
}

/**
 * Turns a grey image (ink = 1) of any size into a 28x28 MNIST-style digit: crop to the ink, scale the longer
 * side to 20 pixels, and place it so its centre of mass sits at the centre, as the MNIST authors did.
 * A 28x28 input is taken as it is.
 */
export function toMnistField(ink: Float64Array, width: number, height: number): Float64Array {
  if (width === SIDE && height === SIDE) return ink;
  let minX = width;
  let minY = height;
  let maxX = -1;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > 0.1) {
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
      }
    }
  }
  if (maxX < 0) return new Float64Array(SIDE * SIDE); // a blank picture stays blank
  const w = maxX - minX + 1;
  const h = maxY - minY + 1;
  const scale = BOX / Math.max(w, h);
  const tw = Math.max(1, Math.round(w * scale));
  const th = Math.max(1, Math.round(h * scale));
  const digit = resample(ink, width, minX, minY, w, h, tw, th);
  let mass = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = digit[y * tw + x];
      mass += v;
      cx += v * x;
      cy += v * y;
    }
  }
  const offX = Math.round(SIDE / 2 - (mass > 0 ? cx / mass : tw / 2) - 0.5);
  const offY = Math.round(SIDE / 2 - (mass > 0 ? cy / mass : th / 2) - 0.5);
  const field = new Float64Array(SIDE * SIDE);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const fx = x + Math.min(Math.max(offX, 0), SIDE - tw);
      const fy = y + Math.min(Math.max(offY, 0), SIDE - th);
      field[fy * SIDE + fx] = Math.min(1, Math.max(0, digit[y * tw + x]));
    }
  }
  return field;
}

/** The largest picture predict decodes: 4096x4096 (a decoded RGBA picture takes 4 bytes a pixel). */
export const MAX_IMAGE_PIXELS = 4096 * 4096;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk (bytes 8..32), read before anything is decoded. */
export function pngSize(start: Uint8Array, path: string): { width: number; height: number } {
  const bytes = Buffer.from(start.buffer, start.byteOffset, start.byteLength);
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE))
    throw new ValueError(`--image ${path}: not a PNG file (no PNG signature at its start)`);
  if (bytes.length < 24 || bytes.toString("latin1", 12, 16) !== "IHDR")
    throw new ValueError(`--image ${path}: not a readable PNG (no IHDR header chunk after the signature)`);
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

/**
 * Ink is what differs from the paper: a picture whose grey levels all lie within this of each other (all
 * white, all transparent, all black, a single pixel) holds no digit.
 */
const MIN_INK_CONTRAST = 0.1;

/** Reads a PNG file into a 28x28 field of ink values 0..1, ready for the network. */
export async function readDigitPng(path: string): Promise<Float64Array> {
  // The size first, from the header: a 20000x20000 picture would take gigabytes and a minute to decode.
  const { width, height } = pngSize(await readFileStart(path, 33), path);
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new ValueError(
      `--image ${path}: ${width}x${height} pixels is over the limit of ${MAX_IMAGE_PIXELS} pixels (4096x4096); scale it down`,
    );
  }
  const bytes = await readNamedFile(path);
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = PNG.sync.read(bytes);
  } catch (error) {
    throw new ValueError(`--image ${path}: not a readable PNG (${(error as Error).message})`);
  }
  const grey = toGrey(png.data, png.width, png.height);
  let lo = 1;
  let hi = 0;
  for (const v of grey) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi - lo < MIN_INK_CONTRAST) {
    throw new ValueError(
      `--image ${path}: no ink: the picture is one shade all over, so there is no digit to classify`,
    );
  }
  return toMnistField(inkOnBlack(grey, png.width, png.height), png.width, png.height);
}

/** Encodes grey levels 0..1 (row-major, width x height) as an 8-bit PNG. */
export function greyPng(values: ArrayLike<number>, width: number, height: number): Uint8Array {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, values[i])));
    png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = v;
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}

/** A 28x28 field as a PNG (white ink on black, as MNIST), each pixel drawn as a scale x scale square. */
export function digitPng(field: ArrayLike<number>, scale = 1): Uint8Array {
  const size = SIDE * scale;
  const grey = new Float64Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++)
      grey[y * size + x] = field[Math.floor(y / scale) * SIDE + Math.floor(x / scale)];
  }
  return greyPng(grey, size, size);
}

/** A small text picture of a 28x28 digit for the terminal. */
export function asciiDigit(field: ArrayLike<number>): string {
  const shades = " .:-=+*#%@";
  const lines: string[] = [];
  for (let y = 0; y < SIDE; y += 2) {
    let line = "";
    for (let x = 0; x < SIDE; x++) {
      const v = Math.max(field[y * SIDE + x], y + 1 < SIDE ? field[(y + 1) * SIDE + x] : 0);
      line += shades[Math.min(shades.length - 1, Math.floor(v * shades.length))];
    }
    lines.push(line.replace(/\s+$/, ""));
  }
  return lines.join("\n");
}
