import type { Tensor } from "@tapegrad/autograd";
import { noGrad, ValueError } from "@tapegrad/autograd";
import { mapFloat, nameMap } from "./util.js";

/**
 * An activation a: `fn` is a tape op (differentiable), `deriv` is the closed form a′(z) that the
 * hand-derived backprop multiplies by. Both are elementwise and keep z's shape and dtype.
 */
export interface Activation {
  name: string;
  fn(z: Tensor): Tensor;
  deriv(z: Tensor): Tensor;
}

const SQRT1_2 = Math.SQRT1_2;

/** σ(v) in the overflow-free two-branch form autograd's kernel uses, so both gradient paths agree to the ulp. */
function logistic(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const sigmoid: Activation = {
  name: "sigmoid",
  fn: (z) => z.sigmoid(),
  // σ′ = σ(1 − σ), with σ rounded to z's dtype first as the tape's σ is: in float32 σ(20) is exactly 1, so
  // σ′ is 0 there on both paths (and in PyTorch), rather than 2e-9 beside a loss derivative taken at ŷ = 1
  deriv: (z) => {
    const round = z.dtype === "float32" ? Math.fround : (v: number) => v;
    return mapFloat(z, "sigmoid.deriv", (v) => {
      const s = round(logistic(v));
      return s * (1 - s);
    });
  },
};

export const tanh: Activation = {
  name: "tanh",
  fn: (z) => z.tanh(),
  deriv: (z) =>
    mapFloat(z, "tanh.deriv", (v) => {
      const t = Math.tanh(v);
      return 1 - t * t;
    }),
};

// relu′(0) = 0, as autograd's kink convention.
export const relu: Activation = {
  name: "relu",
  fn: (z) => z.relu(),
  deriv: (z) => mapFloat(z, "relu.deriv", (v) => (v > 0 ? 1 : 0)),
};

export const identity: Activation = {
  name: "identity",
  fn: (z) => z,
  deriv: (z) => mapFloat(z, "identity.deriv", () => 1),
};

export const softplus: Activation = {
  name: "softplus",
  fn: (z) => z.softplus(),
  // softplus′ = σ
  deriv: (z) => mapFloat(z, "softplus.deriv", logistic),
};

/**
 * Exact GELU z·Φ(z); its derivative is Φ(z) + z·φ(z). The derivative uses the tape's own erf op so that
 * manual and tape gradients see the same Φ.
 */
export const gelu: Activation = {
  name: "gelu",
  fn: (z) => z.gelu(),
  deriv: (z) =>
    noGrad(() => {
      const phiUpper = z.mul(SQRT1_2).erf().add(1).mul(0.5);
      const density = z.square().mul(-0.5).exp().mul(INV_SQRT_2PI);
      return phiUpper.add(z.mul(density));
    }),
};

export function leakyRelu(alpha = 0.01): Activation {
  if (!Number.isFinite(alpha)) throw new ValueError(`leakyRelu: alpha must be a finite number, got ${alpha}`);
  return {
    name: alpha === 0.01 ? "leakyRelu" : `leakyRelu(${alpha})`,
    fn: (z) => z.leakyRelu(alpha),
    deriv: (z) => mapFloat(z, "leakyRelu.deriv", (v) => (v > 0 ? 1 : alpha)),
  };
}

/** Every built-in activation by name (leakyRelu with its default slope); no prototype, so "toString" is not one. */
export const activations: Readonly<Record<string, Activation>> = Object.assign(nameMap<Activation>(), {
  sigmoid,
  tanh,
  relu,
  identity,
  softplus,
  gelu,
  leakyRelu: leakyRelu(),
});
