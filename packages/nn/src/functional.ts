import { DTypeError, ShapeError, substitute, Tensor, ValueError } from "@tapegrad/autograd";
import type { Module } from "./module.js";
import { shapeStr } from "./util.js";

/**
 * functionalCall(module, params, ...args): module.forward(...args) with the parameters (and buffers) named
 * in `params` replaced by the given tensors (torch.func.functional_call). Names are the module's state
 * names ("0.weight", "encoder.layers.1.norm1.bias"); parameters not named keep their own tensors. The
 * module is never modified: the replacement goes through autograd's substitute(), so every op that reads
 * a parameter reads its replacement while forward runs, and the originals are in use again when it
 * returns or throws. Gradients and tangents therefore flow to the given tensors, and the call works
 * inside every transform: grad over parameters (a MAML inner step), hessian of a network loss, jvp.
 *
 * One difference from torch: BatchNorm in training mode updates the module's own running statistics
 * (its .data is written directly, not through an op), even when params names the buffers; call it in
 * eval mode, or on a copy, for a pure function.
 */
export function functionalCall<In extends unknown[], Out>(
  module: Module<In, Out>,
  params: Readonly<Record<string, Tensor>>,
  ...args: In
): Out {
  if (params === null || typeof params !== "object") {
    throw new ValueError(
      `functionalCall: params must be an object of tensors by name, got ${String(params)}`,
    );
  }
  const state = new Map(module.namedState());
  const unknown = Object.keys(params).filter((name) => !state.has(name));
  if (unknown.length > 0) {
    const known = [...state.keys()];
    throw new ValueError(
      `functionalCall: ${module.constructor.name} has no parameter or buffer ${unknown.map((n) => `"${n}"`).join(", ")}; its names are ${known.length === 0 ? "(none)" : known.slice(0, 12).join(", ")}${known.length > 12 ? `, … (${known.length})` : ""}`,
    );
  }
  const replacements = new Map<Tensor, Tensor>();
  for (const [name, t] of Object.entries(params)) {
    const own = state.get(name)!;
    if (!(t instanceof Tensor)) {
      throw new ValueError(
        `functionalCall: params["${name}"] is not a Tensor (got ${t === null ? "null" : typeof t})`,
      );
    }
    if (t.shape.length !== own.shape.length || t.shape.some((d, i) => d !== own.shape[i])) {
      throw new ShapeError(
        `functionalCall: params["${name}"] has shape ${shapeStr(t.shape)}, the module's has ${shapeStr(own.shape)}`,
      );
    }
    if (t.dtype !== own.dtype) {
      throw new DTypeError(`functionalCall: params["${name}"] is ${t.dtype}, the module's is ${own.dtype}`);
    }
    replacements.set(own, t);
  }
  return substitute(replacements, () => module.forward(...args));
}
