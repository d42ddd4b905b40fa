import { type Tensor, tensor } from "@tapegrad/autograd";
import { allocFloats, type FloatDType, type ImageSet } from "./images.js";

/** A data set ready for nn: inputs, targets in the form the loss wants, and class ids for accuracy. */
export interface TensorSet {
  x: Tensor; // [n, features]
  y: Tensor; // [n, outputs]: one-hot rows for classification, scaled values for regression
  labels?: Int32Array; // class ids (classification only)
  count: number;
}

/** One-hot rows [n, classes] in the given float dtype. */
export function oneHot(labels: Int32Array, classes: number, dtype: FloatDType): Tensor {
  const data = allocFloats(dtype, labels.length * classes);
  for (let r = 0; r < labels.length; r++) data[r * classes + labels[r]] = 1;
  return tensor(data, { shape: [labels.length, classes] });
}

/** Images as a [n, rows*cols] tensor (sharing the pixel buffer when the dtype matches) and one-hot targets. */
export function imagesToTensors(set: ImageSet, dtype: FloatDType): TensorSet {
  const size = set.rows * set.cols;
  const pixels =
    (dtype === "float64") === set.pixels instanceof Float64Array
      ? set.pixels
      : allocFloats(dtype, set.pixels.length);
  if (pixels !== set.pixels) pixels.set(set.pixels);
  return {
    x: tensor(pixels, { shape: [set.count, size] }),
    y: oneHot(set.labels, set.classes, dtype),
    labels: set.labels,
    count: set.count,
  };
}
