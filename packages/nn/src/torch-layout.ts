import { Tensor } from "@tapegrad/autograd";
import { Linear } from "./layers/linear.js";
import { NN } from "./manual.js";
import type { AnyModule } from "./module.js";

/**
 * PyTorch's names and layouts for a module's state. Every layer but two already stores what
 * torch.nn's equivalent holds; the exceptions keep the article's row-vector form:
 * - `Linear`: weight [in, out] and bias [1, out]; torch.nn.Linear has weight [out, in], bias [out].
 * - `NN` (the article's network, w.l / b.l): its torch equivalent is
 *   nn.Sequential(nn.Linear(s0, s1), act, nn.Linear(s1, s2), act, ...), so layer l is "2l.weight"
 *   [out, in] and "2l.bias" [out].
 * Names elsewhere are the module paths, which match torch's when the modules nest alike.
 */
export interface TorchEntry {
  /** The name in this module (namedState). */
  name: string;
  /** The name in the PyTorch state_dict. */
  torchName: string;
  /** The tensor as torch stores it (a copy when the layout differs). */
  toTorch(t: Tensor): Tensor;
  /** Back from torch's layout. */
  fromTorch(t: Tensor): Tensor;
  /** The shape torch's tensor has. */
  torchShape: number[];
  /** Whether the name or layout differs from this module's. */
  converted: boolean;
}

function transpose2d(t: Tensor): Tensor {
  const [r, c] = t.shape;
  const out = new (t.data.constructor as new (n: number) => Float32Array | Float64Array)(t.size);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return new Tensor(out, [c, r]);
}

const weightEntry = (torchName: string, shape: readonly number[]): Omit<TorchEntry, "name"> => ({
  torchName,
  converted: true,
  toTorch: transpose2d,
  fromTorch: transpose2d,
  torchShape: [shape[1], shape[0]],
});

const biasEntry = (torchName: string, shape: readonly number[]): Omit<TorchEntry, "name"> => ({
  torchName,
  converted: true,
  toTorch: (t) => new Tensor(t.data.slice(), [t.size]),
  fromTorch: (t) => new Tensor(t.data.slice(), [...shape]),
  torchShape: [shape[shape.length - 1]],
});

/** One entry per namedState tensor, in order. */
export function torchEntries(module: AnyModule): TorchEntry[] {
  const special = new Map<Tensor, Omit<TorchEntry, "name">>();
  const walk = (m: AnyModule, prefix: string): void => {
    if (m instanceof Linear) {
      special.set(m.weight, weightEntry(`${prefix}weight`, m.weight.shape));
      if (m.bias !== null) special.set(m.bias, biasEntry(`${prefix}bias`, m.bias.shape));
      return;
    }
    if (m instanceof NN) {
      m.namedState(); // adopts plain tensors put into w/b as Parameters first
      m.w.forEach((w, l) => {
        special.set(w, weightEntry(`${prefix}${2 * l}.weight`, w.shape));
        special.set(m.b[l], biasEntry(`${prefix}${2 * l}.bias`, m.b[l].shape));
      });
      return;
    }
    for (const [name, child] of m.namedChildren()) walk(child, `${prefix}${name}.`);
  };
  walk(module, "");
  return module.namedState().map(([name, t]) => {
    const s = special.get(t);
    if (s !== undefined) return { name, ...s };
    return {
      name,
      torchName: name,
      toTorch: (x) => x,
      fromTorch: (x) => x,
      torchShape: [...t.shape],
      converted: false,
    };
  });
}

/** Whether the module's own layout already is torch's (no Linear or NN inside). */
export function isTorchLayout(module: AnyModule): boolean {
  return torchEntries(module).every((e) => !e.converted);
}
