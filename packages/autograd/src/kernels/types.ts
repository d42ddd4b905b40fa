/** Typed arrays the kernels work on. Kernels never see Tensor or the tape. */
export type FloatArray = Float32Array | Float64Array;
export type NumericArray = Float32Array | Float64Array | Int32Array;
