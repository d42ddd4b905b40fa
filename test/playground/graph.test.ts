import { record, zeros } from "@tapegrad/autograd";
import { NN, quadratic, sigmoid, softmaxCrossEntropy, tanh } from "@tapegrad/nn";
import { describe, expect, it } from "vitest";
import { ACTIVATIONS, LOSSES } from "../../packages/playground/src/config.js";
import { mathToHtml, nodeFormula } from "../../packages/playground/src/formulas.js";
import { buildGraph } from "../../packages/playground/src/graph-model.js";

function graphOf(sizes: number[], loss = quadratic, act = sigmoid) {
  const net = new NN(sizes, act, loss, { seed: 3 });
  const x = zeros([3, sizes[0]]);
  x.name = "X";
  const y = zeros([3, sizes[sizes.length - 1]]);
  y.name = "Y";
  return buildGraph(record(() => net.lossTensor(x, y)).tape.nodes);
}

describe("the f_i graph built from NN's tape", () => {
  it("is the article's chain f_0 = X ... f_5 = loss for 784-30-10, with W_l and b_l feeding f_{2l-1}", () => {
    const g = graphOf([784, 30, 10]);
    expect(g.chain).toEqual(["X", "f_1", "f_2", "f_3", "f_4", "f_5"]);
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    expect(byId.get("f_1")).toMatchObject({
      title: "W_1·f_0 + b_1",
      inputs: ["X", "W_1", "b_1"],
      shape: [3, 30],
    });
    expect(byId.get("f_2")).toMatchObject({ title: "sigmoid", inputs: ["f_1"] });
    expect(byId.get("f_3")?.inputs).toEqual(["f_2", "W_2", "b_2"]);
    expect(byId.get("f_5")).toMatchObject({ kind: "loss", title: "loss", inputs: ["f_4", "Y"], shape: [] });
    expect(byId.get("f_1")?.ops.map((o) => o.split(" ")[0])).toEqual(["matmul", "add"]);
    expect(byId.get("W_2")).toMatchObject({ kind: "param", shape: [30, 10] });
    expect(byId.get("Y")?.kind).toBe("target");
  });

  it("has 2L + 1 op nodes for L layers, and the backward order walks the tape from the loss down", () => {
    for (const sizes of [
      [784, 30, 10],
      [784, 16, 12, 10],
      [5, 4, 3, 2, 1],
    ]) {
      const L = sizes.length - 1;
      const g = graphOf(sizes);
      expect(g.chain).toHaveLength(2 * L + 2);
      const order = g.backwardOrder;
      expect(order[0]).toBe(`f_${2 * L + 1}`);
      expect(order).not.toContain("X"); // X needs no gradient: the tape skips it
      expect(order).not.toContain("Y");
      const at = (id: string) => order.indexOf(id);
      for (let k = 2; k <= 2 * L + 1; k++) expect(at(`f_${k}`)).toBeLessThan(at(`f_${k - 1}`));
      for (let l = 1; l <= L; l++) {
        // a parameter gets its gradient right after the node that read it, before the layer below
        expect(at(`W_${l}`)).toBeGreaterThan(at(`f_${2 * l - 1}`));
        expect(at(`b_${l}`)).toBeGreaterThan(at(`f_${2 * l - 1}`));
        if (l > 1) expect(at(`W_${l}`)).toBeLessThan(at(`f_${2 * l - 2}`));
      }
      expect(new Set(order).size).toBe(order.length);
      expect(order).toHaveLength(2 * L + 1 + 2 * L);
    }
  });

  it("refuses a tape without the input leaf", () => {
    expect(() => buildGraph([])).toThrow(/no leaf named X/);
  });
});

describe("the delta formulas of the detail panel", () => {
  it("state the row-vector recursion for every node of a 3-layer network", () => {
    const g = graphOf([784, 16, 12, 10], softmaxCrossEntropy, tanh);
    const f = (id: string) =>
      nodeFormula(g.nodes.find((n) => n.id === id)!, 3, "softmaxCrossEntropy", "tanh");
    expect(f("X").definition).toContain("f_{0} = X");
    expect(f("f_1").delta).toBe("δ_1 = ∂L/∂f_{1} = (δ_2 · W_2ᵀ) ⊙ a′(f_{1})");
    expect(f("f_3").delta).toBe("δ_2 = ∂L/∂f_{3} = (δ_3 · W_3ᵀ) ⊙ a′(f_{3})");
    expect(f("f_5").delta).toBe("δ_3 = ∂L/∂f_{5} = ∂L/∂f_{6} ⊙ a′(f_{5})");
    expect(f("f_6").delta).toBe("∂L/∂f_{6} = loss′(f_{6}, Y) = (softmax(f_{6}) − Y) / n");
    expect(f("f_4").delta).toBe("∂L/∂f_{4} = δ_3 · W_3ᵀ");
    expect(f("f_7").delta).toBe("∂L/∂f_{7} = 1");
    expect(f("W_2").delta).toBe("∂L/∂W_2 = f_{2}ᵀ · δ_2");
    expect(f("b_3").delta).toBe("∂L/∂b_3 = Σ_rows δ_3");
    expect(f("f_1").note).toContain("1 − tanh²(z)");
  });

  it("has a loss formula and derivative for every loss and a derivative for every activation", () => {
    const g = graphOf([784, 30, 10]);
    const out = g.nodes.find((n) => n.id === "f_4")!;
    const loss = g.nodes.find((n) => n.id === "f_5")!;
    for (const l of LOSSES) {
      expect(nodeFormula(out, 2, l, "sigmoid").delta).toMatch(/^∂L\/∂f_\{4\} = loss′\(f_\{4\}, Y\) = .+/);
      expect(nodeFormula(loss, 2, l, "sigmoid").definition).toMatch(/^f_\{5\} = loss\(f_\{4\}, Y\) = .+/);
    }
    for (const a of ACTIVATIONS)
      expect(nodeFormula(g.nodes[2], 2, "quadratic", a).note).toMatch(/^a′\(z\) = /);
  });

  it("renders subscripts as <sub> and escapes everything else", () => {
    expect(mathToHtml("f_{12} = W_2 <b>")).toBe("f<sub>12</sub> = W<sub>2</sub> &#60;b&#62;");
    expect(mathToHtml("Σ_rows δ_3")).toBe("Σ<sub>rows</sub> δ<sub>3</sub>");
  });
});
