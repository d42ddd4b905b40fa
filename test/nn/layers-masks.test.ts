/**
 * −Infinity masks under anomaly mode, and attention rows with every key masked.
 */
import { noGrad, Rng, setAnomalyMode, Tensor, tensor, ValueError, withAnomalyMode } from "@tapegrad/autograd";
import { MultiheadAttention, TransformerEncoderLayer } from "@tapegrad/nn";
import { afterEach, describe, expect, it } from "vitest";
import { gaussian } from "./helpers.js";

const f64 = { dtype: "float64" as const };
const B = 2;
const L = 3;
const S = 4;
const E = 4;

function leaves(rng: Rng): [Tensor, Tensor, Tensor] {
  const make = (shape: number[]) => {
    const t = gaussian(shape, rng);
    t.requiresGrad = true;
    return t;
  };
  return [make([B, L, E]), make([B, S, E]), make([B, S, E])];
}

/** Forward + backward; returns output, weights and every gradient as plain arrays. */
function run(
  m: MultiheadAttention,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: Parameters<MultiheadAttention["forward"]>[3],
) {
  m.zeroGrad();
  for (const t of [q, k, v]) t.grad = null;
  const [out, w] = m.forward(q, k, v, opts);
  out.square().sum().add(w!.mul(w!).sum()).backward();
  return {
    out: Array.from(out.data),
    weights: Array.from(w!.data),
    grads: [q, k, v, ...m.parameters()].map((t) => Array.from(t.grad!.data)),
  };
}

const finite = (xs: number[]) => xs.every(Number.isFinite);

describe("−Infinity masks", () => {
  afterEach(() => setAnomalyMode(false));

  it("a meant −∞ (float mask, bool mask, key padding, causal) is not an anomaly; results equal those without anomaly mode", () => {
    const rng = new Rng(3);
    const m = new MultiheadAttention(E, 2, { ...f64, seed: 1 });
    const [q, k, v] = leaves(rng);
    const floatMask = gaussian([L, S], rng);
    floatMask.data[1] = -Infinity;
    floatMask.data[S + 2] = -Infinity;
    const opts = {
      attnMask: floatMask,
      keyPaddingMask: new Tensor(new Int32Array([0, 0, 0, 1, 0, 0, 0, 0]), [B, S]),
      isCausal: true,
    };
    const plain = run(m, q, k, v, opts);
    const checked = withAnomalyMode(() => run(m, q, k, v, opts));
    expect(checked).toEqual(plain);
    expect(finite(plain.out) && plain.grads.every(finite)).toBe(true);
    // the masked positions really are excluded: weight 0 wherever the mask is −∞ or the key is padding
    const [, w] = noGrad(() => m.forward(q, k, v, opts));
    for (let b = 0; b < B; b++)
      for (let i = 0; i < L; i++)
        for (let j = 0; j < S; j++) {
          const masked = j > i || floatMask.data[i * S + j] === -Infinity || (b === 0 && j === 3);
          if (masked) expect(w!.data[(b * L + i) * S + j]).toBe(0);
        }
    const bool = new Tensor(new Int32Array(L * S), [L, S]);
    bool.data[2] = 1;
    expect(() => withAnomalyMode(() => run(m, q, k, v, { attnMask: bool }))).not.toThrow();
  });

  it("a TransformerEncoderLayer trains with a causal mask and key padding under anomaly mode", () => {
    const rng = new Rng(4);
    const layer = new TransformerEncoderLayer(E, 2, { ...f64, dimFeedforward: 8, dropout: 0, seed: 2 });
    const x = gaussian([B, S, E], rng);
    const pad = new Tensor(new Int32Array([0, 0, 1, 1, 0, 0, 0, 0]), [B, S]);
    withAnomalyMode(() =>
      layer.forward(x, { isCausal: true, srcKeyPaddingMask: pad }).square().sum().backward(),
    );
    expect(layer.parameters().every((p) => p.grad !== null && finite(Array.from(p.grad.data)))).toBe(true);
  });

  it("anomaly mode still reports the op that makes an infinity from finite inputs, and every NaN", () => {
    setAnomalyMode(true);
    const x = tensor([1, 1000], { dtype: "float64", requiresGrad: true });
    expect(() => x.exp()).toThrow(
      /anomaly: forward of exp \(f_\d+\) produced Infinity from finite inputs at flat index 1/,
    );
    expect(() => tensor([0, 1], f64).log()).toThrow(/forward of log produced -Infinity from finite inputs/);
    expect(() => tensor([1, 0], f64).div(tensor([0, 1], f64))).toThrow(/forward of div produced Infinity/);
    // carried: the input already holds the infinity
    expect(Array.from(tensor([-Infinity, 2], f64).mul(2).data)).toEqual([-Infinity, 4]);
    expect(Array.from(tensor([-Infinity, 0], f64).exp().data)).toEqual([0, 1]);
    // NaN is reported even when an input held an infinity
    expect(() => tensor([Infinity], f64).sub(tensor([Infinity], f64))).toThrow(/forward of sub produced NaN/);
    // a softmax over an all −∞ row is 0/0
    expect(() => tensor([[-Infinity, -Infinity]], f64).softmax(-1)).toThrow(ValueError);
  });
});

describe("fully masked attention rows", () => {
  afterEach(() => setAnomalyMode(false));

  it("get zero weights (output = out_proj.bias) and no gradient, never NaN, also under anomaly mode", () => {
    const rng = new Rng(5);
    const m = new MultiheadAttention(E, 2, { ...f64, seed: 3 });
    m.out_proj.bias!.data.set([0.5, -1, 2, 0.25]);
    const [q, k, v] = leaves(rng);
    // batch item 1 has every key padded; item 0 has row 0 fully masked by attnMask
    const kpm = new Tensor(new Int32Array([0, 0, 0, 0, 1, 1, 1, 1]), [B, S]);
    const attn = new Tensor(new Int32Array(L * S), [L, S]);
    attn.data.fill(1, 0, S);
    const res = withAnomalyMode(() => run(m, q, k, v, { keyPaddingMask: kpm, attnMask: attn }));
    expect(finite(res.out) && res.grads.every(finite)).toBe(true);
    const rowOut = (b: number, i: number) => res.out.slice((b * L + i) * E, (b * L + i + 1) * E);
    for (const [b, i] of [
      [0, 0],
      [1, 0],
      [1, 1],
      [1, 2],
    ]) {
      expect(rowOut(b, i)).toEqual([0.5, -1, 2, 0.25]);
      expect(res.weights.slice((b * L + i) * S, (b * L + i + 1) * S)).toEqual([0, 0, 0, 0]);
    }
    // item 1 contributes nothing to the gradients of its queries, keys and values
    for (const g of res.grads.slice(0, 3)) {
      const half = g.length / 2;
      expect(g.slice(half).every((x) => x === 0)).toBe(true);
    }
    // rows with an open key are what attention over those rows alone gives
    const q0 = q.slice(0, 0, 1).slice(1, 1, 3).detach();
    const [k0, v0] = [k.slice(0, 0, 1).detach(), v.slice(0, 0, 1).detach()];
    const [alone] = noGrad(() => m.forward(q0, k0, v0));
    const got = res.out.slice(E, 3 * E);
    Array.from(alone.data).forEach((x, i) => {
      expect(got[i]).toBeCloseTo(x, 12);
    });
  });
});
