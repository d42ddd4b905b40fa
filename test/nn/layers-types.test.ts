/** Layers compose with Sequential and the module containers at the type level and at run time. */
import { Rng, Tensor } from "@tapegrad/autograd";
import {
  type AnyModule,
  BatchNorm1d,
  Embedding,
  Flatten,
  GRU,
  LayerNorm,
  Linear,
  ModuleDict,
  ModuleList,
  MultiheadAttention,
  Sequential,
  TransformerEncoderLayer,
} from "@tapegrad/nn";
import { describe, expect, it } from "vitest";

describe("composition", () => {
  it("Tensor → Tensor layers (including TransformerEncoderLayer) go into Sequential; any layer into the containers", () => {
    const ids = new Tensor(new Int32Array([1, 2, 3, 0, 1, 2]), [2, 3]);
    const net = new Sequential(
      new Embedding(4, 8, { seed: 1 }),
      new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, seed: 2 }),
      new LayerNorm(8),
      new Flatten(),
      new Linear(24, 5, { seed: 3 }),
      new BatchNorm1d(5),
    );
    expect(net.forward(ids).shape).toEqual([2, 5]);
    const list: ModuleList = new ModuleList<AnyModule>([new GRU(2, 3), new MultiheadAttention(4, 2), net]);
    const dict = new ModuleDict<AnyModule>({ rnn: new GRU(2, 3), attn: new MultiheadAttention(4, 2) });
    expect(list.length).toBe(3);
    expect(dict.namedParameters().length).toBe(8);
    const gru = dict.get("rnn") as GRU;
    const [out] = gru.forward(
      new Tensor(
        Float32Array.from({ length: 12 }, () => new Rng(1).normal()),
        [2, 3, 2],
      ),
    );
    expect(out.shape).toEqual([2, 3, 3]);
  });
});
