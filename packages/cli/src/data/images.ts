/** A set of labelled images held as flat typed arrays: row r is pixels[r*width*height ...]. */
export interface ImageSet {
  count: number;
  rows: number;
  cols: number;
  pixels: Float32Array | Float64Array; // values in 0..1, row-major, one image after another
  labels: Int32Array; // class ids 0..classes-1
  classes: number;
}

export interface ImageSplit {
  train: ImageSet;
  test: ImageSet;
  source: string; // a short description for logs and model metadata
}

export type FloatDType = "float32" | "float64";

export function allocFloats(dtype: FloatDType, n: number): Float32Array | Float64Array {
  return dtype === "float64" ? new Float64Array(n) : new Float32Array(n);
}

/** Copies the images at `indices` (in that order) into a new set. */
export function selectImages(set: ImageSet, indices: ArrayLike<number>, dtype: FloatDType): ImageSet {
  const size = set.rows * set.cols;
  const pixels = allocFloats(dtype, indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let r = 0; r < indices.length; r++) {
    const from = indices[r];
    pixels.set(set.pixels.subarray(from * size, (from + 1) * size), r * size);
    labels[r] = set.labels[from];
  }
  return { count: indices.length, rows: set.rows, cols: set.cols, pixels, labels, classes: set.classes };
}

/** The first `limit` images of a set (a view when nothing needs copying). */
export function limitImages(set: ImageSet, limit: number): ImageSet {
  if (limit >= set.count) return set;
  const size = set.rows * set.cols;
  return {
    ...set,
    count: limit,
    pixels: set.pixels.subarray(0, limit * size),
    labels: set.labels.subarray(0, limit),
  };
}

/** Class counts, for a quick look at balance. */
export function classCounts(set: ImageSet): number[] {
  const counts = new Array<number>(set.classes).fill(0);
  for (let i = 0; i < set.count; i++) counts[set.labels[i]]++;
  return counts;
}
