export { ActivationLayer, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh } from "./activation.js";
export {
  type AttentionForwardOptions,
  MultiheadAttention,
  type MultiheadAttentionOptions,
} from "./attention.js";
export type { LayerInitOptions } from "./common.js";
export { ModuleDict, ModuleList } from "./containers.js";
export {
  Conv1d,
  type Conv1dOptions,
  Conv2d,
  type Conv2dOptions,
  ConvTranspose2d,
  type ConvTranspose2dOptions,
  type Padding2d,
} from "./conv.js";
export { Dropout } from "./dropout.js";
export { Embedding, type EmbeddingOptions } from "./embedding.js";
export { Flatten, Unflatten } from "./flatten.js";
export { Linear, type LinearOptions } from "./linear.js";
export {
  BatchNorm1d,
  BatchNorm2d,
  type BatchNormOptions,
  GroupNorm,
  type GroupNormOptions,
  LayerNorm,
  type LayerNormOptions,
} from "./normalization.js";
export {
  AdaptiveAvgPool2d,
  AvgPool2d,
  type AvgPool2dOptions,
  MaxPool2d,
  type MaxPool2dOptions,
} from "./pooling.js";
export {
  GRU,
  GRUCell,
  LSTM,
  LSTMCell,
  type RecurrentOptions,
  RNN,
  RNNCell,
  type RNNOptions,
} from "./recurrent.js";
export { Sequential, type SequentialLayer } from "./sequential.js";
export {
  type EncoderForwardOptions,
  TransformerEncoderLayer,
  type TransformerEncoderLayerOptions,
} from "./transformer.js";
