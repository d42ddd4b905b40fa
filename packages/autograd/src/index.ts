export {
  arange,
  eye,
  full,
  type NestedNumbers,
  ones,
  onesLike,
  type RandomOptions,
  rand,
  randn,
  type TensorOptions,
  tensor,
  zeros,
  zerosLike,
} from "./creation.js";
export { type DType, type FloatDType, getDefaultDtype, setDefaultDtype, type TypedArray } from "./dtype.js";
export { AllocationError, DTypeError, GraphError, ShapeError, TapegradError, ValueError } from "./errors.js";
export { type GradcheckOptions, type GradcheckResult, gradcheck, gradgradcheck } from "./gradcheck.js";
export type { GraphOptions, TapeNode } from "./graph.js";
export { type RecordedOp, Tape } from "./graph-tape.js";
export {
  type ElementwiseStats,
  elementwiseKernelStats,
  getKernelBackend,
  getKernelThreads,
  type KernelBackend,
  type KernelStats,
  kernelStats,
  type RelaxedSimdSource,
  resetKernelStats,
  setKernelBackend,
  setKernelThreads,
  startKernelThreads,
  type UpdateStats,
  updateKernelStats,
  type WasmFeatures,
  wasmAvailable,
  wasmFeatures,
} from "./kernels/backend.js";
/**
 * Optimiser steps over plain typed arrays, in place (PyTorch's SGD and Adam/AdamW formulas); the
 * optimisers in @tapegrad/nn call these. WASM SIMD above a size threshold, JS loops below it.
 */
export { type ConvStats, convKernelStats } from "./kernels/conv-stats.js";
export { type AdamStep, adamUpdate, type SgdStep, sgdUpdate } from "./kernels/update.js";
export * from "./ops/index.js";
export type { NonDifferentiableOp, NonDifferentiableParams } from "./ops/non-differentiable.js";
export type { Primitive, PrimitiveParams } from "./ops/primitive.js";
export { primitiveNames } from "./ops/rules.js";
export { defaultRng, manualSeed, Rng } from "./random.js";
export { broadcastShapes } from "./shape.js";
/** How tensor storage is allocated: small arrays from shared slabs, backward buffers reused. */
export { getStorageOptions, type StorageOptions, setStorageOptions } from "./storage.js";
export {
  type Argnums,
  type BackwardOptions,
  checkpoint,
  enableGrad,
  type GradOptions,
  grad,
  grads,
  isAnomalyModeEnabled,
  isGradEnabled,
  jvp,
  noGrad,
  type RecordOptions,
  record,
  scope,
  setAnomalyMode,
  substitute,
  type VjpResult,
  valueAndGrad,
  valueAndGrads,
  vjp,
  withAnomalyMode,
} from "./tape.js";
export { type NestedArray, Tensor } from "./tensor.js";
export { hessian, hvp, type JacobianOptions, jacfwd, jacrev } from "./transforms.js";
export {
  type InAxis,
  resetVmapStats,
  setVmapDebug,
  type VmapOptions,
  type VmapStats,
  vmap,
  vmapFallbackRules,
  vmapStats,
} from "./vmap.js";
