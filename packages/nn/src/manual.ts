import {
  DTypeError,
  grads,
  noGrad,
  type Rng,
  ShapeError,
  scope,
  type Tensor,
  ValueError,
} from "@tapegrad/autograd";
import type { Activation } from "./activations.js";
import { heNormal, nielsen, normal, rngFrom, xavierNormal, zeros } from "./init.js";
import type { Loss } from "./losses.js";
import { Module, type ModuleMember, Parameter } from "./module.js";
import { type FloatArray, type FloatDType, shapeStr } from "./util.js";

export interface NNOptions {
  dtype?: FloatDType;
  seed?: number;
  /**
   * 'normal' (default): every W and b from N(0, 1), as the article. 'nielsen': W from N(0, 1/n_in), b from
   * N(0, 1) (Nielsen's network2.py). 'xavier': Xavier-normal W, zero b. 'he': He-normal W, zero b.
   */
  init?: "normal" | "nielsen" | "xavier" | "he";
  /**
   * The activation after the last layer; the hidden activation when omitted (the article's network).
   * `identity` gives logits, which softmaxCrossEntropy expects.
   */
  outputActivation?: Activation;
}

export interface Gradients {
  wGrad: Tensor[];
  bGrad: Tensor[];
}

/**
 * The article's network: L = sizes.length − 1 layers, each z_l = f·W_l + b_l followed by the activation
 * (also after the last layer, as the article does, unless `outputActivation` says otherwise). W_l: [sizes[l−1], sizes[l]], b_l: [1, sizes[l]].
 * It is also a Module, so optimisers, fit and saveModel work with it; its parameters are named
 * "w.0", "b.0", "w.1", ... after the arrays that hold them, and the tensors themselves are named W_1, b_1, ...
 */
export class NN extends Module {
  readonly sizes: readonly number[];
  activation: Activation;
  /** The activation after the last layer (the same object as `activation` unless an option set it). */
  outputActivation: Activation;
  loss: Loss;
  /** w[l]: [sizes[l], sizes[l+1]]. Assignable; plain tensors put here are adopted as Parameters. */
  w: Tensor[];
  /** b[l]: [1, sizes[l+1]]. Assignable like w. */
  b: Tensor[];
  readonly init: NonNullable<NNOptions["init"]>;

  constructor(sizes: number[], activation: Activation, loss: Loss, opts: NNOptions = {}) {
    super();
    if (!Array.isArray(sizes) || sizes.length < 2 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new ValueError(`NN: sizes must list at least two positive integers, got [${String(sizes)}]`);
    }
    this.sizes = [...sizes];
    this.activation = activation;
    this.outputActivation = opts.outputActivation ?? activation;
    this.loss = loss;
    this.init = opts.init ?? "normal";
    const rng: Rng = rngFrom(opts);
    const dtype = opts.dtype;
    const weightInit = { normal, nielsen, xavier: xavierNormal, he: heNormal }[this.init];
    if (!weightInit)
      throw new ValueError(`NN: unknown init "${this.init}" (expected normal, nielsen, xavier or he)`);
    const biasInit = this.init === "normal" || this.init === "nielsen" ? normal : zeros;
    // Biases first, then weights, in the order of the article's constructor.
    const bs = sizes.slice(1).map((n) => biasInit([1, n], { rng, dtype }));
    const ws = sizes.slice(1).map((n, l) => weightInit([sizes[l], n], { rng, dtype }));
    this.b = bs.map((t, l) => new Parameter(t.data as FloatArray, t.shape, `b_${l + 1}`));
    this.w = ws.map((t, l) => new Parameter(t.data as FloatArray, t.shape, `W_${l + 1}`));
  }

  get numLayers(): number {
    return this.sizes.length - 1;
  }

  protected override namedMembers(): Array<[string, ModuleMember]> {
    const out: Array<[string, ModuleMember]> = [];
    for (let l = 0; l < this.w.length; l++) {
      if (!(this.w[l] instanceof Parameter)) this.w[l] = Parameter.from(this.w[l], `W_${l + 1}`);
      if (!(this.b[l] instanceof Parameter)) this.b[l] = Parameter.from(this.b[l], `b_${l + 1}`);
      out.push([`w.${l}`, this.w[l] as Parameter], [`b.${l}`, this.b[l] as Parameter]);
    }
    return out;
  }

  /** The activation after layer l (0-based): the output activation after the last one. */
  private layerActivation(l: number): Activation {
    return l === this.w.length - 1 ? this.outputActivation : this.activation;
  }

  private checkInput(x: Tensor, op: string): void {
    if (x.dtype === "int32") throw new DTypeError(`NN.${op}: input must be float32 or float64, got int32`);
    const n0 = this.sizes[0];
    if ((x.ndim !== 1 && x.ndim !== 2) || x.shape[x.ndim - 1] !== n0) {
      throw new ShapeError(
        `NN.${op}: input ${shapeStr(x.shape)} does not fit the first layer: expected [${n0}] or [batch, ${n0}]`,
      );
    }
  }

  /** f_{2L} for given weights: the forward pass as a function of the parameters (what the tape differentiates). */
  private forwardWith(x: Tensor, ws: readonly Tensor[], bs: readonly Tensor[]): Tensor {
    this.checkInput(x, "forwardPass");
    const single = x.ndim === 1;
    let f = single ? x.reshape([1, x.shape[0]]) : x;
    for (let l = 0; l < ws.length; l++) {
      const w = ws[l];
      const b = bs[l];
      const input = f;
      // Layer l+1 reads f_{2l}: the scope labels reproduce the article's f_i picture.
      const z = scope(`W_${l + 1}·f_${2 * l} + b_${l + 1}`, () => input.matmul(w).add(b));
      const act = this.layerActivation(l);
      f = scope(act.name, () => act.fn(z));
    }
    return single ? f.reshape([f.shape[1]]) : f;
  }

  /** ŷ = a(…a(a(x·W_1 + b_1)·W_2 + b_2)…): [in] -> [out] or [n, in] -> [n, out]. */
  forwardPass(x: Tensor): Tensor {
    return this.forwardWith(x, this.w, this.b);
  }

  forward(x: Tensor): Tensor {
    return this.forwardPass(x);
  }

  /** The loss as a tape tensor (scope "loss"), for pictures and autograd. */
  lossTensor(x: Tensor, y: Tensor, loss: Loss = this.loss): Tensor {
    const yHat = this.forwardPass(x);
    return scope("loss", () => loss.fn(yHat, y));
  }

  evalLoss(x: Tensor, y: Tensor): number {
    return this.lossTensor(x, y).item();
  }

  /** Hand-derived gradients (the delta recursion of docs/backprop.md), without the tape. */
  backprop(x: Tensor, y: Tensor, loss: Loss = this.loss): Gradients {
    const { wGrad, bGrad } = this.backpropWithLoss(x, y, loss, false);
    return { wGrad, bGrad };
  }

  /**
   * backprop plus the loss value and the network output of the same forward pass, so a training loop
   * needs no second forward pass. `withLoss = false` skips computing the loss value (it is then NaN).
   */
  backpropWithLoss(
    x: Tensor,
    y: Tensor,
    loss: Loss = this.loss,
    withLoss = true,
  ): Gradients & { loss: number; output: Tensor } {
    this.checkInput(x, "backprop");
    return noGrad(() => {
      const L = this.w.length;
      const single = x.ndim === 1;
      // Forward pass, keeping every z_l and a_l = a(z_l); a_0 = x.
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
        // ∂L/∂W_l = a_{l−1}ᵀ · δ_l and ∂L/∂b_l = Σ_rows δ_l (as[l] is a_{l−1} in 1-based layer numbers).
        // The transposes are matmul options: the kernel reads the operand transposed, no copy is made.
        wGrad[l] = as[l].matmul(delta, { transposeA: true });
        bGrad[l] = delta.sum(0, true);
        if (l > 0)
          delta = delta.matmul(this.w[l], { transposeB: true }).mul(this.activation.deriv(zs[l - 1]));
      }
      const value = withLoss ? loss.fn(output, y).item() : Number.NaN;
      return { wGrad, bGrad, loss: value, output };
    });
  }

  /** The same gradients through autograd's `grads` (pure: .grad is neither read nor written). */
  backpropTape(x: Tensor, y: Tensor, loss: Loss = this.loss): Gradients {
    const L = this.w.length;
    const f = (...params: Tensor[]): Tensor => {
      const yHat = this.forwardWith(x, params.slice(0, L), params.slice(L));
      return scope("loss", () => loss.fn(yHat, y));
    };
    // Detached: the parameters are the variables here, and a plain (unrecorded) gradient is wanted; passed
    // as they are, grads would keep the result connected to them for a later backward.
    const g = grads(f)(...this.w.map((w) => w.detach()), ...this.b.map((b) => b.detach()));
    // null means "does not depend on it": report it as zeros so the result always has w's and b's shapes.
    const orZeros = (t: Tensor | null, like: Tensor): Tensor =>
      t ?? zeros(like.shape, { dtype: like.dtype === "float64" ? "float64" : "float32" });
    return {
      wGrad: this.w.map((w, l) => orZeros(g[l], w)),
      bGrad: this.b.map((b, l) => orZeros(g[L + l], b)),
    };
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "NN",
      sizes: [...this.sizes],
      activation: this.activation.name,
      outputActivation: this.outputActivation.name,
      loss: this.loss.name,
      init: this.init,
    };
  }
}
