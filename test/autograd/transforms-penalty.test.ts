/**
 * The gradient-penalty trap (issue 11): a top-level grad whose function closes over parameters that
 * require grad is connected (createGraph semantics), so a later backward through the penalty reaches
 * those parameters. Checked on the WGAN-GP loss against PyTorch (create_graph=True), float64, from
 * test/fixtures/torch/transforms.json (made by gen_transforms.py).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { grad, grads, noGrad, type Tensor, tensor, vjp } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

interface Encoded {
  shape: number[];
  data: number[];
}

const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, "../fixtures/torch/transforms.json"), "utf8"),
) as {
  lambda: number;
  real: Encoded;
  fake: Encoded;
  eps: Encoded;
  params: Record<"W1" | "b1" | "W2" | "b2", Encoded>;
  penalty: number;
  loss: number;
  grads: Record<string, number[]>;
  gradsWithoutPenalty: Record<string, number[]>;
};

const names = ["W1", "b1", "W2", "b2"] as const;
const decode = (e: Encoded, requiresGrad = false): Tensor =>
  tensor(Float64Array.from(e.data), { shape: e.shape, requiresGrad });

function setup() {
  const [W1, b1, W2, b2] = names.map((k) => decode(fixture.params[k], true));
  const real = decode(fixture.real);
  const fake = decode(fixture.fake);
  const eps = decode(fixture.eps);
  const xhat = real.mul(eps).add(fake.mul(eps.neg().add(1)));
  const critic =
    (w1: Tensor, c1: Tensor, w2: Tensor, c2: Tensor) =>
    (x: Tensor): Tensor =>
      x.matmul(w1).add(c1).tanh().matmul(w2).add(c2);
  return { params: [W1, b1, W2, b2], real, fake, xhat, critic };
}

function expectMatches(got: readonly (Tensor | null)[], want: Record<string, number[]>): void {
  names.forEach((k, i) => {
    const g = got[i];
    expect(g, `${k} has a gradient`).not.toBeNull();
    want[k].forEach((w, j) => {
      expect(Math.abs(g!.data[j] - w), `${k}[${j}]: ${g!.data[j]} vs torch ${w}`).toBeLessThan(
        1e-12 * Math.max(1, Math.abs(w)),
      );
    });
  });
}

describe("WGAN-GP gradient penalty against PyTorch (create_graph=True), float64", () => {
  it("PyTorch style: a top-level grad of the critic, then loss.backward(), reaches the critic's parameters through the penalty", () => {
    const { params, real, fake, xhat, critic } = setup();
    const D = critic(...(params as [Tensor, Tensor, Tensor, Tensor]));
    const g = grad((x: Tensor) => D(x).sum())(xhat)!;
    expect(g.requiresGrad).toBe(true); // connected to W1, b1, W2 (not b2: ∂D/∂x does not involve it)
    const penalty = g.norm(2, 1).sub(1).square().mean();
    expect(penalty.item()).toBeCloseTo(fixture.penalty, 13);
    const loss = D(fake).mean().sub(D(real).mean()).add(penalty.mul(fixture.lambda));
    expect(loss.item()).toBeCloseTo(fixture.loss, 13);
    loss.backward();
    expectMatches(
      params.map((p) => p.grad),
      fixture.grads,
    );
  });

  it("JAX style: grads of the whole loss (the penalty's grad nested inside) gives the same", () => {
    const { params, real, fake, xhat, critic } = setup();
    const lossOf = (...ps: Tensor[]): Tensor => {
      const D = critic(...(ps as [Tensor, Tensor, Tensor, Tensor]));
      const g = grad((x: Tensor) => D(x).sum())(xhat)!;
      const penalty = g.norm(2, 1).sub(1).square().mean();
      return D(fake).mean().sub(D(real).mean()).add(penalty.mul(fixture.lambda));
    };
    expectMatches(grads(lossOf)(...params), fixture.grads);
  });

  it("vjp's pullback at the top level is connected the same way", () => {
    const { params, real, fake, xhat, critic } = setup();
    const D = critic(...(params as [Tensor, Tensor, Tensor, Tensor]));
    const { value, pullback } = vjp((x: Tensor) => D(x), xhat);
    const [g] = pullback(tensor(new Float64Array(value.size).fill(1), { shape: [...value.shape] }));
    const penalty = g!.norm(2, 1).sub(1).square().mean();
    D(fake).mean().sub(D(real).mean()).add(penalty.mul(fixture.lambda)).backward();
    expectMatches(
      params.map((p) => p.grad),
      fixture.grads,
    );
  });

  it("the fixture tells the difference: a penalty cut from the graph gives torch's gradients without it", () => {
    const { params, real, fake, xhat, critic } = setup();
    const D = critic(...(params as [Tensor, Tensor, Tensor, Tensor]));
    // Under noGrad the transform records nothing: the penalty is a constant, the old silent behaviour.
    const g = noGrad(() => grad((x: Tensor) => D(x).sum())(xhat)!);
    expect(g.requiresGrad).toBe(false);
    const penalty = g.norm(2, 1).sub(1).square().mean();
    D(fake).mean().sub(D(real).mean()).add(penalty.mul(fixture.lambda)).backward();
    expectMatches(
      params.map((p) => p.grad),
      fixture.gradsWithoutPenalty,
    );
    const differs = names.some((k) =>
      fixture.grads[k].some((v, j) => Math.abs(v - fixture.gradsWithoutPenalty[k][j]) > 1e-3),
    );
    expect(differs).toBe(true);
  });
});
