export {
  type Activation,
  activations,
  gelu,
  identity,
  leakyRelu,
  relu,
  sigmoid,
  softplus,
  tanh,
} from "./activations.js";
export {
  type AtomicWriteOptions,
  removeStaleTemporaries,
  STALE_TEMP_MS,
  writeFileAtomic,
} from "./atomic.js";
export {
  type CsvData,
  type CsvOptions,
  type IdxOptions,
  oneHot,
  parseCsv,
  permutation,
  readCsv,
  readIdx,
  spiral,
  trainTestSplit,
  xor,
} from "./data/index.js";
export { functionalCall } from "./functional.js";
export type { Initializer, InitName, InitOptions } from "./init.js";
export * as init from "./init.js";
export {
  decodeSafetensors,
  encodeSafetensors,
  type LoadOptions,
  loadModel,
  readSafetensors,
  type Safetensors,
  type SaveOptions,
  saveModel,
} from "./io.js";
export * from "./layers/index.js";
export {
  crossEntropy,
  type Loss,
  l2,
  losses,
  mse,
  quadratic,
  softmaxCrossEntropy,
} from "./losses.js";
export { type Gradients, NN, type NNOptions } from "./manual.js";
export { accuracy, countCorrect } from "./metrics.js";
export { type AnyModule, BufferTensor, Module, type ModuleMember, Parameter } from "./module.js";
export * from "./optim/index.js";
export { constantLR, cosineLR, expLR, type Schedule, stepLR, warmup } from "./schedule.js";
export { isTorchLayout, type TorchEntry, torchEntries } from "./torch-layout.js";
export {
  type BatchInfo,
  type Dataset,
  type EarlyStopping,
  type EpochInfo,
  evaluate,
  type FitOptions,
  fit,
  type History,
  type Metric,
  type OptimizerLike,
} from "./train.js";
