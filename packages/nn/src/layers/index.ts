export { ActivationLayer, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh } from "./activation.js";
export { Dropout } from "./dropout.js";
export { Linear, type LinearOptions } from "./linear.js";
export { Sequential } from "./sequential.js";
