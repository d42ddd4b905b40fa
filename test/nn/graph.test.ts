import { record, tensor } from "@tapegrad/autograd";
import { NN, quadratic, sigmoid } from "@tapegrad/nn";
import { describe, expect, it } from "vitest";

describe("the article's network as a recorded graph", () => {
  it("collapses to f_0 = X, f_1 = W_1·f_0 + b_1, f_2 = sigmoid, f_3, f_4, f_5 = loss", () => {
    const nn = new NN([4, 3, 2], sigmoid, quadratic, { seed: 1, dtype: "float64" });
    const X = tensor(new Float64Array(8 * 4).fill(0.5), { shape: [8, 4], name: "X" });
    const Y = tensor(new Float64Array(8 * 2), { shape: [8, 2], name: "Y" });
    const { tape } = record(() => nn.lossTensor(X, Y));
    const mermaid = tape.toMermaid({ collapseScopes: true });
    for (const label of [
      "f_0 = X",
      "f_1",
      "W_1·f_0 + b_1",
      "f_2",
      "f_3",
      "W_2·f_2 + b_2",
      "f_4",
      "f_5",
      "loss",
    ]) {
      expect(mermaid).toContain(label);
    }
    expect(mermaid).not.toContain("f_6");
    expect(mermaid).toMatchSnapshot();
  });
});
