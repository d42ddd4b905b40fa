/**
 * The digits that ship with the playground, in one compact little-endian binary file:
 *
 *   bytes 0-3   magic "TGD1"
 *   4-7  train count (uint32)   8-11 test count (uint32)   12-13 rows (uint16)   14-15 cols (uint16)
 *   16 ...      labels, one uint8 per image (train then test)
 *   then        pixels, rows·cols uint8 per image (0..255 for 0..1), train then test
 *
 * MNIST pixels are bytes to begin with, so storing them as uint8 loses nothing and is 4x smaller than float32.
 */

export const DIGITS_MAGIC = "TGD1";
const HEADER_BYTES = 16;

export interface DigitSet {
  count: number;
  /** count·rows·cols bytes, 0..255. */
  pixels: Uint8Array;
  labels: Uint8Array;
}

export interface DigitsFile {
  rows: number;
  cols: number;
  train: DigitSet;
  test: DigitSet;
}

/** Quantises a 0..1 value to a byte (the inverse of the /255 the data set was made with). */
export function toByte(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v * 255)));
}

export function encodeDigits(file: DigitsFile): Uint8Array {
  const size = file.rows * file.cols;
  for (const [what, set] of [
    ["train", file.train],
    ["test", file.test],
  ] as const) {
    if (set.labels.length !== set.count || set.pixels.length !== set.count * size) {
      throw new Error(
        `encodeDigits: ${what} holds ${set.labels.length} labels and ${set.pixels.length} pixels, expected ${set.count} and ${set.count * size}`,
      );
    }
  }
  const n = file.train.count + file.test.count;
  const out = new Uint8Array(HEADER_BYTES + n + n * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = DIGITS_MAGIC.charCodeAt(i);
  view.setUint32(4, file.train.count, true);
  view.setUint32(8, file.test.count, true);
  view.setUint16(12, file.rows, true);
  view.setUint16(14, file.cols, true);
  out.set(file.train.labels, HEADER_BYTES);
  out.set(file.test.labels, HEADER_BYTES + file.train.count);
  out.set(file.train.pixels, HEADER_BYTES + n);
  out.set(file.test.pixels, HEADER_BYTES + n + file.train.count * size);
  return out;
}

/** Reads the file; the sets are views into `bytes` (no copy). */
export function decodeDigits(bytes: Uint8Array): DigitsFile {
  if (bytes.length < HEADER_BYTES)
    throw new Error(`digits file: ${bytes.length} bytes, too short for a header`);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== DIGITS_MAGIC) throw new Error(`digits file: magic "${magic}", expected "${DIGITS_MAGIC}"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const trainCount = view.getUint32(4, true);
  const testCount = view.getUint32(8, true);
  const rows = view.getUint16(12, true);
  const cols = view.getUint16(14, true);
  const size = rows * cols;
  const n = trainCount + testCount;
  const expected = HEADER_BYTES + n + n * size;
  if (bytes.length !== expected) {
    throw new Error(
      `digits file: ${bytes.length} bytes, expected ${expected} for ${trainCount}+${testCount} images of ${rows}x${cols}`,
    );
  }
  const labels = bytes.subarray(HEADER_BYTES, HEADER_BYTES + n);
  for (let i = 0; i < n; i++) {
    if (labels[i] > 9) throw new Error(`digits file: label ${i} is ${labels[i]}, expected 0..9`);
  }
  const pixels = bytes.subarray(HEADER_BYTES + n);
  return {
    rows,
    cols,
    train: {
      count: trainCount,
      labels: labels.subarray(0, trainCount),
      pixels: pixels.subarray(0, trainCount * size),
    },
    test: {
      count: testCount,
      labels: labels.subarray(trainCount),
      pixels: pixels.subarray(trainCount * size),
    },
  };
}
