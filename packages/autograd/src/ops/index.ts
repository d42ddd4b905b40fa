export { clamp, gelu, leakyRelu } from "./activation.js";
export {
  argsort,
  type SortOptions,
  scatterAddAlongAxis,
  sort,
  type TopkOptions,
  takeAlongAxis,
  topk,
} from "./along-axis.js";
export {
  type Conv1dOptions,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
  conv1d,
  conv2d,
  convTranspose2d,
  type Size2d,
  type UnfoldOptions,
  unfold,
} from "./conv.js";

export { type CustomOpSpec, customOp } from "./custom.js";
export { einsum } from "./einsum.js";
export {
  abs,
  add,
  div,
  equal,
  erf,
  exp,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  maximum,
  minimum,
  mul,
  neg,
  notEqual,
  pow,
  relu,
  sigmoid,
  sign,
  softplus,
  sqrt,
  square,
  sub,
  tanh,
  where,
} from "./elementwise.js";
export { gather, scatterAdd } from "./indexing.js";
export { cos, expm1, log1p, sin } from "./math.js";
export { type MatmulOptions, matmul } from "./matmul.js";
export {
  type AvgPool2dOptions,
  adaptiveAvgPool2d,
  avgPool2d,
  type MaxPool2dOptions,
  maxPool2d,
} from "./pool.js";
export { chunk, flip, roll, split, tril, triu } from "./rearrange.js";
export { argmax, argmin, logSoftmax, logsumexp, max, mean, min, softmax, sum } from "./reduce.js";
export {
  broadcastTo,
  cast,
  concat,
  detach,
  pad,
  reshape,
  slice,
  squeeze,
  stack,
  transpose,
  unsqueeze,
} from "./shape.js";
export { cumsum, norm, prod, std, type VarOptions, variance, variance as var } from "./statistics.js";
