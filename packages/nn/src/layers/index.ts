export { ActivationLayer, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh } from "./activation.js";
export {
  type AttentionForwardOptions,
  MultiheadAttention,
  type MultiheadAttentionOptions,
} from "./attention.js";
export type { LayerInitOptions } from "./common.js";
export { ModuleDict, ModuleList } from "./containers.js";
export { Dropout } from "./dropout.js";
export { Embedding, type EmbeddingOptions } from "./embedding.js";
export { Flatten } from "./flatten.js";
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
