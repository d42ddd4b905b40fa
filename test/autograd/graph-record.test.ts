import { record, scope, type Tensor, tensor } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";

/**
 * The article's network f_0 = X, f_1 = W_1·f_0 + b_1, f_2 = a(f_1), f_3 = W_2·f_2 + b_2, f_4 = a(f_3),
 * f_5 = ‖f_4 − Y‖², recorded through the real tape with the scopes the nn package uses.
 */
function articleTape() {
  const named = (shape: number[], name: string, requiresGrad: boolean): Tensor =>
    tensor(new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(0.1), { shape, name, requiresGrad });
  const X = named([8, 4], "X", false);
  const Y = named([8, 2], "Y", false);
  const W1 = named([4, 3], "W_1", true);
  const b1 = named([1, 3], "b_1", true);
  const W2 = named([3, 2], "W_2", true);
  const b2 = named([1, 2], "b_2", true);
  return record(() => {
    const f1 = scope("W_1·f_0 + b_1", () => X.matmul(W1).add(b1));
    const f2 = scope("sigmoid", () => f1.sigmoid());
    const f3 = scope("W_2·f_2 + b_2", () => f2.matmul(W2).add(b2));
    const f4 = scope("sigmoid", () => f3.sigmoid());
    return scope("loss", () => f4.sub(Y).square().sum());
  }).tape;
}

describe("pictures of a recorded graph", () => {
  it("collapsed to scopes, the article's network reads f_0 ... f_5", () => {
    const dot = articleTape().toDot({ collapseScopes: true });
    for (const label of [
      "f_0",
      "f_1",
      "f_2",
      "f_3",
      "f_4",
      "f_5",
      "W_1·f_0 + b_1",
      "W_2·f_2 + b_2",
      "loss",
    ]) {
      expect(dot).toContain(label);
    }
    expect(dot).not.toContain("f_6");
    expect(dot).toMatchSnapshot();
  });

  it("in full, every primitive is a node", () => {
    const tape = articleTape();
    const ops = tape.nodes.filter((n) => !n.leaf).map((n) => n.op);
    expect(ops).toEqual(["matmul", "add", "sigmoid", "matmul", "add", "sigmoid", "sub", "square", "sum"]);
    const dot = tape.toDot();
    expect(dot).toContain("f_9");
    expect(dot).toMatchSnapshot();
    expect(tape.toMermaid({ collapseScopes: true })).toMatchSnapshot();
  });

  it("draws a standalone SVG", () => {
    const svg = articleTape().toSvg({ collapseScopes: true });
    expect(svg.startsWith("<svg") || svg.startsWith("<?xml")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("W_1");
  });
});
