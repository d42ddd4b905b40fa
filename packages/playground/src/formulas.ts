/**
 * What the detail panel says about a node: its definition on the f_i chain and the formula of its
 * cotangent (its delta), in the row-vector form the code uses (batch rows, W_l: [in, out]):
 *   δ_L = ∂L/∂f_{2L} ⊙ a′(f_{2L−1}),  δ_l = (δ_{l+1} · W_{l+1}ᵀ) ⊙ a′(f_{2l−1}),
 *   ∂L/∂W_l = f_{2l−2}ᵀ · δ_l,  ∂L/∂b_l = Σ_rows δ_l.
 * Subscripts are written f_{3} / W_2; mathToHtml turns them into <sub>.
 */
import type { ActivationName, LossName } from "./config.js";
import type { GraphNode } from "./graph-model.js";

export interface NodeFormula {
  definition: string;
  delta: string;
  note: string;
}

const LOSS_FN: Record<LossName, string> = {
  quadratic: "½ Σ‖f_{P} − Y‖² / n",
  l2: "Σ (f_{P} − Y)²",
  mse: "mean (f_{P} − Y)²",
  crossEntropy: "−Σ [Y ln f_{P} + (1 − Y) ln(1 − f_{P})] / n",
  softmaxCrossEntropy: "mean over rows of −log softmax(f_{P})[label]",
};

const LOSS_DERIV: Record<LossName, string> = {
  quadratic: "(f_{P} − Y) / n",
  l2: "2 (f_{P} − Y)",
  mse: "2 (f_{P} − Y) / N",
  crossEntropy: "(f_{P} − Y) / (f_{P} (1 − f_{P}) n)",
  softmaxCrossEntropy: "(softmax(f_{P}) − Y) / n",
};

const ACT_DERIV: Record<ActivationName, string> = {
  sigmoid: "a′(z) = a(z)(1 − a(z))",
  tanh: "a′(z) = 1 − tanh²(z)",
  relu: "a′(z) = 1 where z > 0, else 0",
  softplus: "a′(z) = sigmoid(z)",
  gelu: "a′(z) = Φ(z) + z φ(z)",
};

export function nodeFormula(
  node: GraphNode,
  layers: number,
  loss: LossName,
  activation: ActivationName,
): NodeFormula {
  const L = layers;
  const out = 2 * L; // f_{2L} = ŷ
  const sub = (s: string) => s.replaceAll("{P}", `{${out}}`);
  const param = /^([Wb])_(\d+)$/.exec(node.id);
  if (param) {
    const l = Number(param[2]);
    return param[1] === "W"
      ? {
          definition: `W_${l}: the weights of layer ${l}, shape [${node.shape.join(", ")}]`,
          delta: `∂L/∂W_${l} = f_{${2 * l - 2}}ᵀ · δ_${l}`,
          note: `Each column of W_${l} is one unit's incoming weights; its gradient pairs every input of the layer with that unit's delta.`,
        }
      : {
          definition: `b_${l}: the biases of layer ${l}, shape [${node.shape.join(", ")}]`,
          delta: `∂L/∂b_${l} = Σ_rows δ_${l}`,
          note: `The bias gradient is the layer's delta summed over the batch (∂f_{${2 * l - 1}}/∂b_${l} = 1).`,
        };
  }
  if (node.kind === "target") {
    return {
      definition: "Y: the labels as one-hot rows",
      delta: "Y is data: nothing flows back into it",
      note: "The loss compares the prediction with it.",
    };
  }
  const k = node.f ?? 0;
  if (k === 0) {
    return {
      definition: "f_{0} = X: a batch of digits, one row of 784 pixels each",
      delta: "∂L/∂f_{0} = δ_1 · W_1ᵀ",
      note: "Training does not need it; for one digit and one class output it is the saliency map of the drawing panel.",
    };
  }
  if (k === out + 1) {
    return {
      definition: sub(`f_{${k}} = loss(f_{P}, Y) = ${LOSS_FN[loss]}`),
      delta: `∂L/∂f_{${k}} = 1`,
      note: "The backward pass starts here with the seed 1 and walks the tape in decreasing index order.",
    };
  }
  const l = Math.ceil(k / 2);
  if (k % 2 === 1) {
    const delta =
      l === L
        ? `δ_${l} = ∂L/∂f_{${k}} = ∂L/∂f_{${k + 1}} ⊙ a′(f_{${k}})`
        : `δ_${l} = ∂L/∂f_{${k}} = (δ_${l + 1} · W_${l + 1}ᵀ) ⊙ a′(f_{${k}})`;
    return {
      definition: `f_{${k}} = z_${l} = f_{${k - 1}} · W_${l} + b_${l}`,
      delta,
      note: `${ACT_DERIV[activation]}. This δ_${l} is what the article calls ∂L/∂b_${l} before summing over the batch.`,
    };
  }
  const delta =
    l === L
      ? sub(`∂L/∂f_{${k}} = loss′(f_{P}, Y) = ${LOSS_DERIV[loss]}`)
      : `∂L/∂f_{${k}} = δ_${l + 1} · W_${l + 1}ᵀ`;
  return {
    definition: l === L ? `f_{${k}} = a(f_{${k - 1}}) = Ŷ, the prediction` : `f_{${k}} = a(f_{${k - 1}})`,
    delta,
    note: `a = ${activation}, applied elementwise.`,
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Escapes text and turns x_{12} / x_3 / Σ_rows subscripts into <sub>. */
export function mathToHtml(text: string): string {
  return escapeHtml(text).replace(/_(\{([^}]*)\}|[0-9A-Za-z]+)/g, (_m, whole: string, braced?: string) => {
    return `<sub>${braced ?? whole}</sub>`;
  });
}
