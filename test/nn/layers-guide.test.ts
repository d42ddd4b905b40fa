/** The custom-architecture example of docs/layers.md, run as written there. */
import { customOp, gradcheck, gradgradcheck, Rng, randn, type Tensor } from "@tapegrad/autograd";
import { Adam, LayerNorm, Linear, Module, ModuleList, Parameter } from "@tapegrad/nn";
import { describe, expect, it } from "vitest";

const softsign = customOp({
  name: "softsign",
  forward: (x) => x.div(x.abs().add(1)),
  vjp: (g, [x]) => g.div(x.abs().add(1).square()),
});

class GatedResidualMLP extends Module {
  norms: ModuleList<LayerNorm>;
  layers: Linear[];
  gate: Parameter;

  constructor(dim: number, depth: number, dtype: "float32" | "float64" = "float32", seed = 0) {
    super();
    this.norms = new ModuleList(Array.from({ length: depth }, () => new LayerNorm(dim, { dtype })));
    this.layers = Array.from({ length: depth }, (_, i) => new Linear(dim, dim, { dtype, seed: seed + i }));
    const g = dtype === "float64" ? new Float64Array(depth) : new Float32Array(depth);
    this.gate = new Parameter(g.fill(0.5), [depth]);
  }

  forward(x: Tensor): Tensor {
    this.layers.forEach((linear, i) => {
      const h = softsign(linear.forward(this.norms.at(i).forward(x)));
      x = x.add(h.mul(this.gate.slice(0, i, i + 1)));
    });
    return x;
  }
}

describe("docs/layers.md: writing your own architecture", () => {
  it("names, gradchecks and trains the example module", () => {
    const net = new GatedResidualMLP(4, 2, "float64", 1);
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      "norms.0.weight",
      "norms.0.bias",
      "norms.1.weight",
      "norms.1.bias",
      "layers.0.weight",
      "layers.0.bias",
      "layers.1.weight",
      "layers.1.bias",
      "gate",
    ]);
    const x = randn([3, 4], { dtype: "float64", rng: new Rng(0) });
    expect(gradcheck(softsign, [x]).ok).toBe(true);
    expect(gradgradcheck(softsign, [x]).ok).toBe(true);
    expect(gradcheck((t) => net.forward(t), [x]).ok).toBe(true);
    const opt = new Adam(net.parameters(), { lr: 1e-2 });
    const before = net.forward(x).square().mean().item();
    for (let k = 0; k < 20; k++) {
      net.zeroGrad();
      net.forward(x).square().mean().backward();
      expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
      opt.step();
    }
    expect(net.forward(x).square().mean().item()).toBeLessThan(before);
  });
});
