export { Adagrad, type AdagradOptions } from "./adagrad.js";
export { Adam, type AdamOptions, AdamW } from "./adam.js";
export { clipGradNorm } from "./clip.js";
export {
  type BaseOptions,
  type LearningRate,
  Optimizer,
  type ParamGroup,
  type ParamGroupSpec,
} from "./optimizer.js";
export { RMSProp, type RMSPropOptions } from "./rmsprop.js";
export { SGD, type SGDOptions } from "./sgd.js";
