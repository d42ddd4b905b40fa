import { concat, type Rng, ShapeError, stack, Tensor, ValueError } from "@tapegrad/autograd";
import { rngFrom } from "../init.js";
import { Module, type ModuleMember, type Parameter } from "../module.js";
import { shapeStr } from "../util.js";
import {
  type LayerInitOptions,
  layerDtype,
  linearT,
  positiveInt,
  probability,
  uniformParameter,
} from "./common.js";
import { Dropout } from "./dropout.js";

type Kind = "rnn_tanh" | "rnn_relu" | "gru" | "lstm";
const GATES: Record<Kind, number> = { rnn_tanh: 1, rnn_relu: 1, gru: 3, lstm: 4 };

/** One direction of one layer: PyTorch's four tensors (biases null without bias). */
interface CellWeights {
  weight_ih: Parameter;
  weight_hh: Parameter;
  bias_ih: Parameter | null;
  bias_hh: Parameter | null;
}

/** Gate slice i (of `hidden` columns) of a [B, G·hidden] projection. */
const gate = (t: Tensor, i: number, hidden: number): Tensor => t.slice(-1, i * hidden, (i + 1) * hidden);

/**
 * One time step given the input projection xp = x·W_ihᵀ + b_ih ([B, G·H]) and the state, with PyTorch's
 * gate order: GRU (r, z, n), LSTM (i, f, g, o).
 */
function step(
  kind: Kind,
  xp: Tensor,
  h: Tensor,
  c: Tensor | null,
  w: CellWeights,
  H: number,
): [Tensor, Tensor | null] {
  const hp = linearT(h, w.weight_hh, w.bias_hh);
  switch (kind) {
    case "rnn_tanh":
      return [xp.add(hp).tanh(), null];
    case "rnn_relu":
      return [xp.add(hp).relu(), null];
    case "gru": {
      const r = gate(xp, 0, H)
        .add(gate(hp, 0, H))
        .sigmoid();
      const z = gate(xp, 1, H)
        .add(gate(hp, 1, H))
        .sigmoid();
      const n = gate(xp, 2, H)
        .add(r.mul(gate(hp, 2, H)))
        .tanh();
      // h' = (1 − z)·n + z·h = n + z·(h − n)
      return [n.add(z.mul(h.sub(n))), null];
    }
    case "lstm": {
      const g = xp.add(hp);
      const i = gate(g, 0, H).sigmoid();
      const f = gate(g, 1, H).sigmoid();
      const cand = gate(g, 2, H).tanh();
      const o = gate(g, 3, H).sigmoid();
      const c2 = f.mul(c!).add(i.mul(cand));
      return [o.mul(c2.tanh()), c2];
    }
  }
}

/**
 * The T time steps of x [B, T, F] as [B, F] tensors, sliced by halving. A slice's vjp pads its cotangent
 * back to the sliced tensor's full size, so T direct slices of x cost T full-size pads and adds in backward
 * (O(T²·B·F), which made backward through a GRU over 64 steps several times slower than its forward);
 * halving slices each level once in total, O(T·log T·B·F).
 */
function timeSteps(x: Tensor): Tensor[] {
  const out: Tensor[] = [];
  const halve = (part: Tensor): void => {
    const n = part.shape[1];
    if (n === 1) {
      out.push(part.squeeze(1));
      return;
    }
    const mid = n >> 1;
    halve(part.slice(1, 0, mid));
    halve(part.slice(1, mid, n));
  };
  if (x.shape[1] > 0) halve(x);
  return out;
}

function makeWeights(
  kind: Kind,
  inputSize: number,
  H: number,
  bias: boolean,
  rng: Rng,
  dtype: "float32" | "float64",
): CellWeights {
  // PyTorch initialises every recurrent weight and bias from U(±1/√hidden).
  const bound = 1 / Math.sqrt(H);
  const G = GATES[kind] * H;
  return {
    weight_ih: uniformParameter([G, inputSize], bound, rng, dtype),
    weight_hh: uniformParameter([G, H], bound, rng, dtype),
    bias_ih: bias ? uniformParameter([G], bound, rng, dtype) : null,
    bias_hh: bias ? uniformParameter([G], bound, rng, dtype) : null,
  };
}

function zerosState(B: number, H: number, like: Tensor): Tensor {
  const data = like.dtype === "float32" ? new Float32Array(B * H) : new Float64Array(B * H);
  return new Tensor(data, [B, H]);
}

export interface RecurrentOptions extends LayerInitOptions {
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** b_ih and b_hh (default true). */
  bias?: boolean;
  /** Input and output are [batch, seq, feature] (default true; false: [seq, batch, feature]). */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last, in training mode (default 0). */
  dropout?: number;
  /** A second, reversed pass per layer whose outputs are concatenated (default false). */
  bidirectional?: boolean;
}

export interface RNNOptions extends RecurrentOptions {
  nonlinearity?: "tanh" | "relu";
}

/**
 * The shared stack of RNN, GRU and LSTM: parameters named as PyTorch's (weight_ih_l0, weight_hh_l0,
 * bias_ih_l0, bias_hh_l0, the second direction with suffix _reverse), weight_ih_lk: [G·hidden, in].
 */
abstract class RecurrentBase<State> extends Module<[Tensor, State?], [Tensor, State]> {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly bidirectional: boolean;
  protected readonly kind: Kind;
  /** weights[layer][direction] */
  protected readonly weights: CellWeights[][];
  private readonly between: Dropout;

  constructor(kind: Kind, inputSize: number, hiddenSize: number, opts: RecurrentOptions) {
    super();
    const who = this.constructor.name;
    this.kind = kind;
    this.inputSize = positiveInt(inputSize, "inputSize", who);
    this.hiddenSize = positiveInt(hiddenSize, "hiddenSize", who);
    this.numLayers = positiveInt(opts.numLayers ?? 1, "numLayers", who);
    this.bias = opts.bias ?? true;
    this.batchFirst = opts.batchFirst ?? true;
    this.bidirectional = opts.bidirectional ?? false;
    const dtype = layerDtype(opts.dtype, who);
    const rng = rngFrom(opts);
    const dirs = this.bidirectional ? 2 : 1;
    this.weights = [];
    for (let l = 0; l < this.numLayers; l++) {
      const inSize = l === 0 ? inputSize : hiddenSize * dirs;
      const layer: CellWeights[] = [];
      for (let d = 0; d < dirs; d++) layer.push(makeWeights(kind, inSize, hiddenSize, this.bias, rng, dtype));
      this.weights.push(layer);
    }
    this.between = new Dropout(probability(opts.dropout ?? 0, "dropout", who), { rng });
  }

  protected override namedMembers(): Array<[string, ModuleMember]> {
    const out: Array<[string, ModuleMember]> = [];
    this.weights.forEach((layer, l) => {
      layer.forEach((w, d) => {
        const suffix = `_l${l}${d === 1 ? "_reverse" : ""}`;
        out.push([`weight_ih${suffix}`, w.weight_ih], [`weight_hh${suffix}`, w.weight_hh]);
        if (w.bias_ih !== null && w.bias_hh !== null)
          out.push([`bias_ih${suffix}`, w.bias_ih], [`bias_hh${suffix}`, w.bias_hh]);
      });
    });
    out.push(["between", this.between]);
    return out;
  }

  /** A parameter by its PyTorch name ("weight_hh_l1_reverse"). */
  parameter(name: string): Parameter {
    const found = this.namedMembers().find(([n]) => n === name);
    if (found === undefined || found[0] === "between")
      throw new ValueError(`${this.constructor.name}: no parameter "${name}"`);
    return found[1] as Parameter;
  }

  /** Checks x and returns it as [B, T, in] plus how to give outputs back. */
  protected prepare(x: Tensor): { xb: Tensor; unbatched: boolean } {
    const who = this.constructor.name;
    if (!(x instanceof Tensor) || (x.ndim !== 2 && x.ndim !== 3) || x.shape[x.ndim - 1] !== this.inputSize) {
      throw new ShapeError(
        `${who}: input must be ${this.batchFirst ? "[batch, seq" : "[seq, batch"}, ${this.inputSize}] or unbatched [seq, ${this.inputSize}], got ${x instanceof Tensor ? shapeStr(x.shape) : typeof x}`,
      );
    }
    if (x.ndim === 2) return { xb: x.unsqueeze(0), unbatched: true };
    return { xb: this.batchFirst ? x : x.transpose([1, 0, 2]), unbatched: false };
  }

  /** Checks an initial state [layers·dirs, B, H] (or [layers·dirs, H] unbatched); null → zeros. */
  protected initial(
    h: Tensor | undefined | null,
    B: number,
    unbatched: boolean,
    what: string,
  ): Tensor[] | null {
    if (h === undefined || h === null) return null;
    const n = this.numLayers * (this.bidirectional ? 2 : 1);
    const want = unbatched ? [n, this.hiddenSize] : [n, B, this.hiddenSize];
    if (!(h instanceof Tensor) || h.ndim !== want.length || h.shape.some((d, i) => d !== want[i]))
      throw new ShapeError(
        `${this.constructor.name}: ${what} must be ${shapeStr(want)}, got ${h instanceof Tensor ? shapeStr(h.shape) : typeof h}`,
      );
    const hb = unbatched ? h.unsqueeze(1) : h;
    return Array.from({ length: n }, (_, i) => hb.slice(0, i, i + 1).squeeze(0));
  }

  /** Runs every layer and direction; returns output [B, T, dirs·H] and the final h (and c) per layer·dir. */
  protected run(
    xb: Tensor,
    h0: Tensor[] | null,
    c0: Tensor[] | null,
  ): { out: Tensor; hn: Tensor[]; cn: Tensor[] } {
    const [B, T] = xb.shape;
    const H = this.hiddenSize;
    const lstm = this.kind === "lstm";
    let input = xb;
    const hn: Tensor[] = [];
    const cn: Tensor[] = [];
    this.weights.forEach((layer, l) => {
      const outs: Tensor[] = [];
      layer.forEach((w, d) => {
        const k = l * layer.length + d;
        const xp = linearT(input, w.weight_ih, w.bias_ih); // all time steps at once: [B, T, G·H]
        let h = h0 === null ? zerosState(B, H, xb) : h0[k];
        let c: Tensor | null = lstm ? (c0 === null ? zerosState(B, H, xb) : c0[k]) : null;
        const steps = new Array<Tensor>(T);
        const xs = timeSteps(xp);
        for (let s = 0; s < T; s++) {
          const t = d === 0 ? s : T - 1 - s;
          [h, c] = step(this.kind, xs[t], h, c, w, H);
          steps[t] = h;
        }
        outs.push(stack(steps, 1));
        hn.push(h);
        if (c !== null) cn.push(c);
      });
      input = outs.length === 1 ? outs[0] : concat(outs, 2);
      if (l < this.weights.length - 1) input = this.between.forward(input);
    });
    return { out: input, hn, cn };
  }

  protected finishOutput(out: Tensor, unbatched: boolean): Tensor {
    if (unbatched) return out.squeeze(0);
    return this.batchFirst ? out : out.transpose([1, 0, 2]);
  }

  protected finishState(states: Tensor[], unbatched: boolean): Tensor {
    const s = stack(states, 0); // [layers·dirs, B, H]
    return unbatched ? s.squeeze(1) : s;
  }

  override architecture(): Record<string, unknown> {
    return {
      type: this.constructor.name,
      inputSize: this.inputSize,
      hiddenSize: this.hiddenSize,
      numLayers: this.numLayers,
      bias: this.bias,
      batchFirst: this.batchFirst,
      dropout: this.between.p,
      bidirectional: this.bidirectional,
    };
  }
}

/** Elman RNN (torch.nn.RNN): h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (or relu). Returns [output, h_n]. */
export class RNN extends RecurrentBase<Tensor> {
  readonly nonlinearity: "tanh" | "relu";

  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    const nl = opts.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu")
      throw new ValueError(`RNN: nonlinearity must be 'tanh' or 'relu', got ${String(nl)}`);
    super(nl === "tanh" ? "rnn_tanh" : "rnn_relu", inputSize, hiddenSize, opts);
    this.nonlinearity = nl;
  }

  forward(x: Tensor, h0?: Tensor | null): [Tensor, Tensor] {
    const { xb, unbatched } = this.prepare(x);
    const { out, hn } = this.run(xb, this.initial(h0, xb.shape[0], unbatched, "h0"), null);
    return [this.finishOutput(out, unbatched), this.finishState(hn, unbatched)];
  }

  override architecture(): Record<string, unknown> {
    return { ...super.architecture(), nonlinearity: this.nonlinearity };
  }
}

/** GRU (torch.nn.GRU), gates r, z, n. Returns [output, h_n]. */
export class GRU extends RecurrentBase<Tensor> {
  constructor(inputSize: number, hiddenSize: number, opts: RecurrentOptions = {}) {
    super("gru", inputSize, hiddenSize, opts);
  }

  forward(x: Tensor, h0?: Tensor | null): [Tensor, Tensor] {
    const { xb, unbatched } = this.prepare(x);
    const { out, hn } = this.run(xb, this.initial(h0, xb.shape[0], unbatched, "h0"), null);
    return [this.finishOutput(out, unbatched), this.finishState(hn, unbatched)];
  }
}

/** LSTM (torch.nn.LSTM), gates i, f, g, o. forward(x, [h0, c0]?) returns [output, [h_n, c_n]]. */
export class LSTM extends RecurrentBase<[Tensor, Tensor]> {
  constructor(inputSize: number, hiddenSize: number, opts: RecurrentOptions = {}) {
    super("lstm", inputSize, hiddenSize, opts);
  }

  forward(x: Tensor, state?: [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]] {
    const { xb, unbatched } = this.prepare(x);
    const B = xb.shape[0];
    if (state !== undefined && state !== null && (!Array.isArray(state) || state.length !== 2))
      throw new ValueError("LSTM: the initial state must be a pair [h0, c0]");
    const h0 = this.initial(state?.[0], B, unbatched, "h0");
    const c0 = this.initial(state?.[1], B, unbatched, "c0");
    const { out, hn, cn } = this.run(xb, h0 ?? c0?.map((c) => zerosState(B, this.hiddenSize, c)) ?? null, c0);
    return [
      this.finishOutput(out, unbatched),
      [this.finishState(hn, unbatched), this.finishState(cn, unbatched)],
    ];
  }
}

/** The cells: one step, parameters weight_ih [G·hidden, in], weight_hh, bias_ih, bias_hh as PyTorch's. */
abstract class CellBase<State> extends Module<[Tensor, State?], State> {
  readonly inputSize: number;
  readonly hiddenSize: number;
  protected readonly kind: Kind;
  weight_ih: Parameter;
  weight_hh: Parameter;
  bias_ih: Parameter | null;
  bias_hh: Parameter | null;

  constructor(
    kind: Kind,
    inputSize: number,
    hiddenSize: number,
    opts: LayerInitOptions & { bias?: boolean },
  ) {
    super();
    const who = this.constructor.name;
    this.kind = kind;
    this.inputSize = positiveInt(inputSize, "inputSize", who);
    this.hiddenSize = positiveInt(hiddenSize, "hiddenSize", who);
    const w = makeWeights(
      kind,
      inputSize,
      hiddenSize,
      opts.bias ?? true,
      rngFrom(opts),
      layerDtype(opts.dtype, who),
    );
    this.weight_ih = w.weight_ih;
    this.weight_hh = w.weight_hh;
    this.bias_ih = w.bias_ih;
    this.bias_hh = w.bias_hh;
  }

  /** x [B, in] or [in] → batched x and whether to squeeze; a state of [B, H] or [H], zeros when absent. */
  protected stepWith(
    x: Tensor,
    h: Tensor | null | undefined,
    c: Tensor | null | undefined,
  ): [Tensor, Tensor | null] {
    const who = this.constructor.name;
    if (!(x instanceof Tensor) || (x.ndim !== 1 && x.ndim !== 2) || x.shape[x.ndim - 1] !== this.inputSize)
      throw new ShapeError(
        `${who}: input must be [batch, ${this.inputSize}] or [${this.inputSize}], got ${x instanceof Tensor ? shapeStr(x.shape) : typeof x}`,
      );
    const unbatched = x.ndim === 1;
    const xb = unbatched ? x.unsqueeze(0) : x;
    const B = xb.shape[0];
    const state = (s: Tensor | null | undefined, what: string): Tensor => {
      if (s === undefined || s === null) return zerosState(B, this.hiddenSize, xb);
      const want = unbatched ? [this.hiddenSize] : [B, this.hiddenSize];
      if (!(s instanceof Tensor) || s.ndim !== want.length || s.shape.some((d, i) => d !== want[i]))
        throw new ShapeError(
          `${who}: ${what} must be ${shapeStr(want)}, got ${s instanceof Tensor ? shapeStr(s.shape) : typeof s}`,
        );
      return unbatched ? s.unsqueeze(0) : s;
    };
    const xp = linearT(xb, this.weight_ih, this.bias_ih);
    const [h2, c2] = step(
      this.kind,
      xp,
      state(h, "h"),
      this.kind === "lstm" ? state(c, "c") : null,
      this,
      this.hiddenSize,
    );
    return unbatched ? [h2.squeeze(0), c2?.squeeze(0) ?? null] : [h2, c2];
  }

  override architecture(): Record<string, unknown> {
    return {
      type: this.constructor.name,
      inputSize: this.inputSize,
      hiddenSize: this.hiddenSize,
      bias: this.bias_ih !== null,
    };
  }
}

export class RNNCell extends CellBase<Tensor> {
  readonly nonlinearity: "tanh" | "relu";
  constructor(
    inputSize: number,
    hiddenSize: number,
    opts: LayerInitOptions & { bias?: boolean; nonlinearity?: "tanh" | "relu" } = {},
  ) {
    const nl = opts.nonlinearity ?? "tanh";
    if (nl !== "tanh" && nl !== "relu")
      throw new ValueError(`RNNCell: nonlinearity must be 'tanh' or 'relu', got ${String(nl)}`);
    super(nl === "tanh" ? "rnn_tanh" : "rnn_relu", inputSize, hiddenSize, opts);
    this.nonlinearity = nl;
  }
  forward(x: Tensor, h?: Tensor | null): Tensor {
    return this.stepWith(x, h, null)[0];
  }
}

export class GRUCell extends CellBase<Tensor> {
  constructor(inputSize: number, hiddenSize: number, opts: LayerInitOptions & { bias?: boolean } = {}) {
    super("gru", inputSize, hiddenSize, opts);
  }
  forward(x: Tensor, h?: Tensor | null): Tensor {
    return this.stepWith(x, h, null)[0];
  }
}

/** forward(x, [h, c]?) → [h', c']. */
export class LSTMCell extends CellBase<[Tensor, Tensor]> {
  constructor(inputSize: number, hiddenSize: number, opts: LayerInitOptions & { bias?: boolean } = {}) {
    super("lstm", inputSize, hiddenSize, opts);
  }
  forward(x: Tensor, state?: [Tensor, Tensor] | null): [Tensor, Tensor] {
    const [h, c] = this.stepWith(x, state?.[0], state?.[1]);
    return [h, c!];
  }
}
