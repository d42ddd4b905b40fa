import { DTypeError, grads, noGrad, ShapeError, scope, type Tensor, zeros } from "@tapegrad/autograd";
import { type Activation, type Gradients, type Loss, NN, type NNOptions } from "@tapegrad/nn";

/**
 * The article's network with its own activation on the output layer. nn's NN applies one activation after
 * every layer (the article's choice, kept when both are the same); a softmaxCrossEntropy network needs
 * logits, so its last layer is `identity`. When the two activations are equal every method is NN's own,
 * so the article's network trains bit for bit as before.
 *
 * (This belongs in nn as an NN option; until then the CLI carries it.)
 */
export class LayeredNN extends NN {
  readonly outputActivation: Activation;

  constructor(
    sizes: number[],
    activation: Activation,
    outputActivation: Activation,
    loss: Loss,
    opts: NNOptions = {},
  ) {
    super(sizes, activation, loss, opts);
    this.outputActivation = outputActivation;
  }

  private get uniform(): boolean {
    return this.outputActivation.name === this.activation.name;
  }

  private layerActivation(l: number): Activation {
    return l === this.w.length - 1 ? this.outputActivation : this.activation;
  }

  /** NN's input check (private there), with the same words. */
  private checkLayeredInput(x: Tensor, op: string): void {
    if (x.dtype === "int32") throw new DTypeError(`NN.${op}: input must be float32 or float64, got int32`);
    const n0 = this.sizes[0];
    if ((x.ndim !== 1 && x.ndim !== 2) || x.shape[x.ndim - 1] !== n0) {
      throw new ShapeError(
        `NN.${op}: input [${x.shape.join(", ")}] does not fit the first layer: expected [${n0}] or [batch, ${n0}]`,
      );
    }
  }

  /** The forward pass as a function of the parameters, with the same f_i scope labels as NN's. */
  private forwardWithParams(x: Tensor, ws: readonly Tensor[], bs: readonly Tensor[]): Tensor {
    const single = x.ndim === 1;
    let f = single ? x.reshape([1, x.shape[0]]) : x;
    for (let l = 0; l < ws.length; l++) {
      const input = f;
      const z = scope(`W_${l + 1}·f_${2 * l} + b_${l + 1}`, () => input.matmul(ws[l]).add(bs[l]));
      const act = this.layerActivation(l);
      f = scope(act.name, () => act.fn(z));
    }
    return single ? f.reshape([f.shape[1]]) : f;
  }

  override forwardPass(x: Tensor): Tensor {
    if (this.uniform) return super.forwardPass(x);
    this.checkLayeredInput(x, "forwardPass");
    return this.forwardWithParams(x, this.w, this.b);
  }

  override backpropWithLoss(
    x: Tensor,
    y: Tensor,
    loss: Loss = this.loss,
    withLoss = true,
  ): Gradients & { loss: number; output: Tensor } {
    if (this.uniform) return super.backpropWithLoss(x, y, loss, withLoss);
    this.checkLayeredInput(x, "backprop");
    return noGrad(() => {
      const L = this.w.length;
      const single = x.ndim === 1;
      const zs: Tensor[] = [];
      const as: Tensor[] = [single ? x.reshape([1, x.shape[0]]) : x];
      for (let l = 0; l < L; l++) {
        const z = as[l].matmul(this.w[l]).add(this.b[l]);
        zs.push(z);
        as.push(this.layerActivation(l).fn(z));
      }
      const aL = as[L];
      const output = single ? aL.reshape([aL.shape[1]]) : aL;
      // δ_L = ∂L/∂ŷ ⊙ a_out′(z_L), then δ_{l−1} = (δ_l · W_lᵀ) ⊙ a′(z_{l−1}) with the hidden activation.
      const dLoss = loss.deriv(output, y);
      let delta = (single ? dLoss.reshape(aL.shape) : dLoss).mul(this.outputActivation.deriv(zs[L - 1]));
      const wGrad: Tensor[] = new Array(L);
      const bGrad: Tensor[] = new Array(L);
      for (let l = L - 1; l >= 0; l--) {
        wGrad[l] = as[l].matmul(delta, { transposeA: true });
        bGrad[l] = delta.sum(0, true);
        if (l > 0)
          delta = delta.matmul(this.w[l], { transposeB: true }).mul(this.activation.deriv(zs[l - 1]));
      }
      const value = withLoss ? loss.fn(output, y).item() : Number.NaN;
      return { wGrad, bGrad, loss: value, output };
    });
  }

  override backpropTape(x: Tensor, y: Tensor, loss: Loss = this.loss): Gradients {
    if (this.uniform) return super.backpropTape(x, y, loss);
    const L = this.w.length;
    const f = (...params: Tensor[]): Tensor => {
      const yHat = this.forwardWithParams(x, params.slice(0, L), params.slice(L));
      return scope("loss", () => loss.fn(yHat, y));
    };
    const g = grads(f)(...this.w, ...this.b);
    const orZeros = (t: Tensor | null, like: Tensor): Tensor =>
      t ?? zeros(like.shape, { dtype: like.dtype === "float64" ? "float64" : "float32" });
    return {
      wGrad: this.w.map((w, l) => orZeros(g[l], w)),
      bGrad: this.b.map((b, l) => orZeros(g[L + l], b)),
    };
  }

  override architecture(): Record<string, unknown> {
    return { ...super.architecture(), outputActivation: this.outputActivation.name };
  }
}
