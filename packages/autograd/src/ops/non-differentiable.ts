import type { Window2d } from "../kernels/conv.js";

/**
 * Non-differentiable ops whose outputs steer a forward: comparisons make the masks `where` selects with
 * (leakyRelu, clamp), sign and the arg-ops make values and indices. They are not primitives (no vjp;
 * their outputs never require grad, so they never sit on a backward graph), and pictures leave them out.
 * `record(fn, { nonDifferentiable: true })` puts them on the tape too, so that a consumer that replays
 * the forward elsewhere (the ONNX exporter) rebuilds a mask from its inputs instead of freezing it.
 */
export interface NonDifferentiableParams {
  greater: null;
  greaterEqual: null;
  less: null;
  lessEqual: null;
  equal: null;
  notEqual: null;
  sign: null;
  /** The same values cut from the graph (softmax's stabilising max). */
  detach: null;
  /** axis null: over the flattened tensor. */
  argmax: { axis: number | null };
  argmin: { axis: number | null };
  /** Stable sort order along axis. */
  argsort: { axis: number; descending: boolean };
  /** maxPool2d's window argmax: [N, C, H, W] -> int32 [N·C, oh·ow] positions within each H·W plane. */
  maxPoolArgmax: Window2d & { ceil: boolean };
}

export type NonDifferentiableOp = keyof NonDifferentiableParams;
