import type { Tensor } from "@tapegrad/autograd";
import * as ag from "@tapegrad/autograd";
import type { ExportOutput } from "@tapegrad/onnx";

/** Convolution and pooling ops ([batch, 3, 9, 8] inputs), exported at batch 3, run at 3 and 5. */
export const convCases: Record<string, (x: Tensor, w: Tensor, b: Tensor) => ExportOutput> = {
  "conv2d: stride, padding, dilation, bias": (x, w, b) => [
    ag.conv2d(x, w, b),
    ag.conv2d(x, w, null, { stride: 2, padding: 1 }),
    ag.conv2d(x, w, b, { stride: [1, 2], padding: [2, 1], dilation: [2, 1] }),
  ],
  "conv2d with groups, and conv1d": (x, w) => [
    ag.conv2d(x, ag.concat([w, w], 0).slice(0, 0, 6).slice(1, 0, 1), null, { groups: 3 }),
    ag.conv1d(x.reshape([x.shape[0], 3, 72]), w.reshape([4, 3, 9]).slice(2, 0, 3), null, { stride: 2 }),
  ],
  "convTranspose2d: stride, padding, output padding": (x, w) => [
    ag.convTranspose2d(x, w.transpose([1, 0, 2, 3])),
    ag.convTranspose2d(x, w.transpose([1, 0, 2, 3]), null, { stride: 2, padding: 1, outputPadding: 1 }),
  ],
  "maxPool2d, avgPool2d, adaptiveAvgPool2d": (x) => [
    ag.maxPool2d(x, 2),
    ag.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }),
    ag.avgPool2d(x, 2),
    ag.avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }),
    ag.adaptiveAvgPool2d(x, [3, 2]),
  ],
  "unfold (im2col)": (x) => [ag.unfold(x, 2, { stride: 2 })],
  "maxPool2d's gradient (scatterAddAlongAxis) computed inside the function": (x) => [
    ag.grad((y: Tensor) => ag.maxPool2d(y, 2).square().sum())(x),
  ],
};
