import type { Tensor } from "@tapegrad/autograd";
import { ValueError } from "@tapegrad/autograd";

/**
 * Scales every gradient in place so that their global L2 norm is at most maxNorm (PyTorch's
 * clip_grad_norm_: factor maxNorm/(norm + 1e-6) when below 1). Returns the norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new ValueError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const grads: Array<Float32Array | Float64Array | Int32Array> = [];
  let sumSq = 0;
  for (const p of params) {
    if (p.grad === null) continue;
    const g = p.grad.data;
    grads.push(g);
    for (let i = 0; i < g.length; i++) sumSq += g[i] * g[i];
  }
  const norm = Math.sqrt(sumSq);
  const factor = maxNorm / (norm + 1e-6);
  if (factor < 1) {
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= factor;
  }
  return norm;
}
