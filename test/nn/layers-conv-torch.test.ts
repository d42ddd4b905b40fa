/**
 * The convolution and pooling layers against PyTorch (float64): forward outputs and the gradients of
 * Σ output·cotangent with respect to the input and every parameter. The fixture
 * (test/fixtures/torch/conv_layers.json, made by gen_conv_layers.py) holds torch's state_dict, which
 * tapegrad loads by name (strict), so parameter names and layouts are tested by the same cases.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tensor } from "@tapegrad/autograd";
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  Conv1d,
  Conv2d,
  ConvTranspose2d,
  MaxPool2d,
  type Module,
} from "@tapegrad/nn";
import { describe, expect, it } from "vitest";
import { compare } from "./helpers.js";

interface Encoded {
  dtype: "float64";
  shape: number[];
  data: number[];
}
interface Case {
  layer: keyof typeof layers;
  args: unknown[];
  opts: Record<string, unknown>;
  state: Record<string, Encoded>;
  inputs: { x: Encoded };
  outputs: Encoded[];
  cotangents: Encoded[];
  grads: Record<string, Encoded>;
}

const fixture = JSON.parse(
  readFileSync(join(import.meta.dirname, "../fixtures/torch/conv_layers.json"), "utf8"),
) as { cases: Record<string, Case> };

// biome-ignore lint/suspicious/noExplicitAny: each constructor takes its own positional arguments
type AnyCtor = new (...args: any[]) => Module;
const layers = {
  Conv1d,
  Conv2d,
  ConvTranspose2d,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
} satisfies Record<string, AnyCtor>;

const decode = (e: Encoded): Tensor => new Tensor(Float64Array.from(e.data), e.shape);

function expectClose(actual: Tensor | null, expected: Encoded, what: string): void {
  expect(actual, `${what} is missing`).not.toBeNull();
  const want = decode(expected);
  expect([...actual!.shape], `${what} shape`).toEqual(want.shape);
  const d = compare(actual!, want, 1e-10, 1e-11);
  expect(d.failures.slice(0, 3), `${what}: max abs ${d.maxAbs}, max rel ${d.maxRel}`).toEqual([]);
}

/** The layer a case describes, in float64 with torch's state loaded by name. */
function build(c: Case): Module {
  const Ctor = layers[c.layer] as AnyCtor;
  const hasParams = c.layer.startsWith("Conv");
  const m = new Ctor(...c.args, hasParams ? { ...c.opts, dtype: "float64" } : c.opts);
  m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, decode(v)])));
  expect(m.namedState().map(([n]) => n)).toEqual(Object.keys(c.state));
  return m;
}

describe("convolution and pooling layers agree with PyTorch (float64)", () => {
  const names = Object.keys(fixture.cases);
  it("the fixture covers every layer", () => {
    expect(new Set(names.map((n) => fixture.cases[n].layer))).toEqual(new Set(Object.keys(layers)));
  });

  for (const name of names) {
    it(name, () => {
      const c = fixture.cases[name];
      const m = build(c);
      const x = decode(c.inputs.x);
      x.requiresGrad = true;
      const y = m.forward(x);
      expectClose(y, c.outputs[0], `${name} output`);
      y.mul(decode(c.cotangents[0])).sum().backward();
      expectClose(x.grad, c.grads["input.x"], `${name} input gradient`);
      const params = m.namedParameters();
      for (const [n, p] of params) {
        expect(`param.${n}` in c.grads, `${name}: torch has no parameter ${n}`).toBe(true);
        expectClose(p.grad, c.grads[`param.${n}`], `${name} gradient of ${n}`);
      }
      const torchParams = Object.keys(c.grads).filter((k) => k.startsWith("param."));
      expect(torchParams.length, `${name}: parameter count`).toBe(params.length);
    });
  }
});
