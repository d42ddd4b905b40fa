import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, Tensor, ValueError } from "@tapegrad/autograd";
import {
  BatchNorm1d,
  BatchNorm2d,
  Embedding,
  Flatten,
  LayerNorm,
  Linear,
  LSTM,
  loadModel,
  Module,
  ModuleDict,
  ModuleList,
  MultiheadAttention,
  Parameter,
  ReLU,
  Sequential,
  saveModel,
  TransformerEncoderLayer,
} from "@tapegrad/nn";
import { afterAll, describe, expect, it } from "vitest";
import { gaussian } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "tapegrad-layers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f64 = { dtype: "float64" as const };

/** Modules at every kind of depth the walk must see. */
class Zoo extends Module {
  stem = new Linear(2, 3, { seed: 1 });
  layers = new ModuleList([new LayerNorm(3), new Sequential(new Linear(3, 3, { seed: 2 }), new ReLU())]);
  blocks = new ModuleDict({ attn: new MultiheadAttention(4, 2, { seed: 3 }), norm: new LayerNorm(4) });
  heads = [[new Linear(3, 1, { seed: 4 })], { deep: { norm: new LayerNorm(3) } }];
  misc = { bn: new BatchNorm1d(3), list: [new Embedding(5, 2, { seed: 5 })], label: "not state", n: 3 };
  constant = new Tensor(new Float32Array(2), [2]);
  rng = new Rng(1); // a class instance without tensors: not state, not an error
  forward(x: Tensor): Tensor {
    return x;
  }
}

describe("the module tree", () => {
  it("names parameters like PyTorch's state_dict keys through arrays, plain objects, ModuleList and ModuleDict", () => {
    expect(new Zoo().namedParameters().map(([n]) => n)).toEqual([
      "stem.weight",
      "stem.bias",
      "layers.0.weight",
      "layers.0.bias",
      "layers.1.0.weight",
      "layers.1.0.bias",
      "blocks.attn.in_proj_weight",
      "blocks.attn.in_proj_bias",
      "blocks.attn.out_proj.weight",
      "blocks.attn.out_proj.bias",
      "blocks.norm.weight",
      "blocks.norm.bias",
      "heads.0.0.weight",
      "heads.0.0.bias",
      "heads.1.deep.norm.weight",
      "heads.1.deep.norm.bias",
      "misc.bn.weight",
      "misc.bn.bias",
      "misc.list.0.weight",
    ]);
  });

  it("buffers are found, saved in stateDict, but are not parameters", () => {
    const z = new Zoo();
    expect(z.namedBuffers().map(([n]) => n)).toEqual([
      "misc.bn.running_mean",
      "misc.bn.running_var",
      "misc.bn.num_batches_tracked",
    ]);
    const sd = z.stateDict();
    expect(Object.keys(sd)).toContain("misc.bn.num_batches_tracked");
    expect(sd["misc.bn.num_batches_tracked"].dtype).toBe("int32");
    expect(z.parameters().some((p) => z.buffers().includes(p as never))).toBe(false);
    expect(Object.keys(sd).length).toBe(z.namedParameters().length + 3);
  });

  it("train() and eval() reach modules inside plain objects, arrays and containers", () => {
    const z = new Zoo().eval();
    expect(z.misc.bn.training).toBe(false);
    expect(z.heads[1]).toBeDefined();
    expect(((z.heads[1] as { deep: { norm: LayerNorm } }).deep.norm as LayerNorm).training).toBe(false);
    expect(z.blocks.get("attn").training).toBe(false);
    expect(z.modules().every((m) => !m.training)).toBe(true);
    z.train();
    expect(z.modules().every((m) => m.training)).toBe(true);
  });

  it("a shared module or parameter appears once; a module holding itself does not loop", () => {
    const shared = new Linear(2, 2, { seed: 1 });
    class Tied extends Module {
      a = shared;
      b = [shared];
      self: { me?: Module } = {};
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const t = new Tied();
    t.self.me = t;
    expect(t.namedParameters().map(([n]) => n)).toEqual(["a.weight", "a.bias"]);
  });

  it("a Map holding modules is an error naming its field path, not silently skipped", () => {
    class WithMap extends Module {
      stem = new Linear(2, 2);
      extra = { cache: new Map([["enc", new Linear(2, 2)]]) };
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    const m = new WithMap();
    expect(() => m.namedParameters()).toThrow(ValueError);
    expect(() => m.namedParameters()).toThrow(
      /WithMap: cannot walk field "extra\.cache": it is a Map holding tensors or modules/,
    );
    expect(() => m.stateDict()).toThrow(/extra\.cache/);
    expect(() => m.train()).toThrow(/extra\.cache/);
  });

  it("a non-Module class instance holding tensors is an error naming it", () => {
    class Holder {
      w = new Parameter(new Float64Array(2), [2]);
    }
    class WithHolder extends Module {
      parts = [new Linear(2, 2), new Holder()];
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(() => new WithHolder().parameters()).toThrow(
      /cannot walk field "parts\.1": it is an instance of Holder \(not a Module\)/,
    );
  });

  it("a plain Tensor that requires grad is an error (it would never be trained); a Map of numbers is fine", () => {
    class Sloppy extends Module {
      w = new Tensor(new Float64Array(2), [2]);
      lookup = new Map([["a", 1]]);
      constructor() {
        super();
        this.w.requiresGrad = true;
      }
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(() => new Sloppy().namedParameters()).toThrow(
      /field "w" is a Tensor that requires grad but is not a Parameter/,
    );
    class Fine extends Module {
      lookup = new Map([["a", 1]]);
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    expect(new Fine().namedParameters()).toEqual([]);
  });

  it("ModuleList and ModuleDict: indexing, iteration, errors, no forward", () => {
    const list = new ModuleList([new Linear(1, 1), new ReLU()]);
    expect(list.length).toBe(2);
    expect(list.at(-1)).toBeInstanceOf(ReLU);
    expect([...list].length).toBe(2);
    expect(() => list.at(2)).toThrow(/out of range for 2 modules/);
    expect(() => list.forward()).toThrow(/ModuleList has no forward/);
    expect(() => list.append({} as never)).toThrow(/not a Module/);
    const dict = new ModuleDict({ a: new Linear(1, 1) });
    expect(dict.keys()).toEqual(["a"]);
    expect(() => dict.get("b")).toThrow(/no module "b" \(keys: a\)/);
    expect(() => dict.set("x.y", new Linear(1, 1))).toThrow(/without "\."/);
    expect(dict.namedParameters().map(([n]) => n)).toEqual(["a.weight", "a.bias"]);
  });

  it("TransformerEncoderLayer and LSTM have torch's state-dict keys", () => {
    expect(Object.keys(new TransformerEncoderLayer(4, 2, { dimFeedforward: 8 }).stateDict())).toEqual([
      "self_attn.in_proj_weight",
      "self_attn.in_proj_bias",
      "self_attn.out_proj.weight",
      "self_attn.out_proj.bias",
      "linear1.weight",
      "linear1.bias",
      "linear2.weight",
      "linear2.bias",
      "norm1.weight",
      "norm1.bias",
      "norm2.weight",
      "norm2.bias",
    ]);
    const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true });
    const keys = Object.keys(lstm.stateDict());
    expect(keys.slice(0, 8)).toEqual([
      "weight_ih_l0",
      "weight_hh_l0",
      "bias_ih_l0",
      "bias_hh_l0",
      "weight_ih_l0_reverse",
      "weight_hh_l0_reverse",
      "bias_ih_l0_reverse",
      "bias_hh_l0_reverse",
    ]);
    expect(keys.length).toBe(16);
    expect(lstm.parameter("weight_ih_l1").shape).toEqual([16, 8]);
    expect(lstm.parameter("weight_hh_l1_reverse").shape).toEqual([16, 4]);
  });
});

describe("buffers are saved and loaded with the model", () => {
  it("BatchNorm2d running statistics round-trip through saveModel/loadModel and give equal eval outputs", async () => {
    const rng = new Rng(7);
    const model = new Sequential(new BatchNorm2d(3, f64), new Flatten());
    for (let k = 0; k < 3; k++) model.forward(gaussian([4, 3, 2, 2], rng).add(k));
    const bn = model.layers[0] as BatchNorm2d;
    expect(bn.num_batches_tracked!.data[0]).toBe(3);
    const path = join(dir, "bn.safetensors");
    await saveModel(path, model);
    const fresh = new Sequential(new BatchNorm2d(3, f64), new Flatten());
    await loadModel(path, fresh);
    const fbn = fresh.layers[0] as BatchNorm2d;
    expect(Array.from(fbn.running_mean!.data)).toEqual(Array.from(bn.running_mean!.data));
    expect(Array.from(fbn.running_var!.data)).toEqual(Array.from(bn.running_var!.data));
    expect(fbn.num_batches_tracked!.data[0]).toBe(3);
    const x = gaussian([2, 3, 2, 2], rng);
    model.eval();
    fresh.eval();
    expect(Array.from(fresh.forward(x).data)).toEqual(Array.from(model.forward(x).data));
  });

  it("loadStateDict checks buffers too: a missing running_var is named and nothing changes", () => {
    const bn = new BatchNorm1d(2, f64);
    const sd = bn.stateDict();
    sd.running_mean.data.fill(5);
    delete sd.running_var;
    expect(() => bn.loadStateDict(sd)).toThrow(/missing running_var/);
    expect(Array.from(bn.running_mean!.data)).toEqual([0, 0]);
    bn.loadStateDict(sd, { strict: false });
    expect(Array.from(bn.running_mean!.data)).toEqual([5, 5]);
  });

  it("an optimiser sees no buffers: parameters() holds only trainable tensors", () => {
    const bn = new BatchNorm1d(4, f64);
    expect(bn.parameters().map((p) => p.shape)).toEqual([[4], [4]]);
    expect(bn.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(bn.buffers().every((b) => !b.requiresGrad)).toBe(true);
  });
});

describe("Flatten", () => {
  it("merges startDim..endDim like torch.nn.Flatten", () => {
    const x = new Tensor(new Float64Array(2 * 3 * 4 * 5), [2, 3, 4, 5]);
    expect(new Flatten().forward(x).shape).toEqual([2, 60]);
    expect(new Flatten(0).forward(x).shape).toEqual([120]);
    expect(new Flatten(1, 2).forward(x).shape).toEqual([2, 12, 5]);
    expect(new Flatten(-3, -2).forward(x).shape).toEqual([2, 12, 5]);
    expect(() => new Flatten(3, 1).forward(x)).toThrow(
      /dims 3\.\.1 do not fit an input of shape \[2, 3, 4, 5\]/,
    );
  });
});
