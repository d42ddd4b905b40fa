/**
 * Weights both ways between tapegrad and PyTorch, against fixtures written once by torch 1.13
 * (test/fixtures/torch/gen_interop.py; the tapegrad side is interop-models.ts):
 * - torch -> tapegrad: a state_dict saved by PyTorch loads with loadModel(..., { layout: "torch" }) and
 *   the model then computes torch's outputs;
 * - tapegrad -> torch: saveModel(..., { layout: "torch" }) writes the very bytes that torch's
 *   load_state_dict(strict=True) accepted when the fixture was made, and torch's outputs with those
 *   weights are tapegrad's.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tensor } from "@tapegrad/autograd";
import {
  decodeSafetensors,
  Linear,
  loadModel,
  NN,
  quadratic,
  readSafetensors,
  Sequential,
  saveModel,
  sigmoid,
  TransformerEncoderLayer,
} from "@tapegrad/nn";
import { describe, expect, it } from "vitest";
import { INTEROP_DIR, interopModels } from "../fixtures/torch/interop-models.js";

interface Encoded {
  shape: number[];
  data: number[];
}
interface Case {
  input: Encoded;
  torch_output: Encoded;
  torch_state_keys: string[];
  tapegrad_file_accepted_by_torch: boolean;
  load_error: string | null;
  torch_output_with_tapegrad_weights: Encoded | null;
}

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/torch/interop.json", import.meta.url), "utf8"),
) as Record<string, Case>;

const float32 = (e: Encoded): Tensor => new Tensor(Float32Array.from(e.data), e.shape);

function expectClose(got: Tensor, want: Encoded, tol = 1e-5): void {
  expect(got.shape).toEqual(want.shape);
  const scale = Math.max(...want.data.map(Math.abs));
  const worst = Math.max(...want.data.map((v, i) => Math.abs(got.data[i] - v)));
  expect(worst / scale).toBeLessThanOrEqual(tol);
}

describe.each(Object.keys(interopModels))("PyTorch weights both ways: %s", (name) => {
  const c = fixture[name];
  const { make } = interopModels[name];

  it("a PyTorch state_dict loads with layout torch and gives torch's outputs", async () => {
    const model = make().eval();
    const file = join(INTEROP_DIR, `torch_${name}.safetensors`);
    expect(Object.keys((await readSafetensors(file)).tensors).sort()).toEqual([...c.torch_state_keys].sort());
    await loadModel(file, model, { layout: "torch" });
    expectClose(model.forward(float32(c.input)), c.torch_output);
  });

  it("saveModel with layout torch writes the file torch's load_state_dict(strict=True) accepted", async () => {
    expect(c.tapegrad_file_accepted_by_torch, c.load_error ?? "").toBe(true);
    const dir = await mkdtemp(join(tmpdir(), "tapegrad-interop-"));
    const path = join(dir, "model.safetensors");
    await saveModel(path, make().eval(), { layout: "torch" });
    const now = await readFile(path);
    // the same tensors (names, shapes, dtypes, values) as the file torch accepted; the metadata may
    // grow (the architecture JSON gains fields), torch ignores it
    const accepted = decodeSafetensors(await readFile(join(INTEROP_DIR, `tapegrad_${name}.safetensors`)));
    const written = decodeSafetensors(now);
    expect(Object.keys(written.tensors)).toEqual(Object.keys(accepted.tensors));
    for (const [k, t] of Object.entries(accepted.tensors)) {
      expect(written.tensors[k].dtype).toBe(t.dtype);
      expect(written.tensors[k].shape).toEqual(t.shape);
      expect(Array.from(written.tensors[k].data)).toEqual(Array.from(t.data));
    }
    // torch, with the weights of that file, computed what tapegrad computes
    expectClose(make().eval().forward(float32(c.input)), c.torch_output_with_tapegrad_weights!);
    const { tensors, metadata } = decodeSafetensors(now);
    expect(metadata.layout).toBe("torch");
    expect(Object.keys(tensors).sort()).toEqual([...c.torch_state_keys].sort());
  });
});

describe("torch layout details", () => {
  it("Linear is stored [out, in] with a 1-D bias, and loads back to the same parameters", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tapegrad-interop-"));
    const path = join(dir, "m.safetensors");
    const m = new Sequential(new Linear(3, 2, { seed: 1 }));
    (m.layers[0] as Linear).bias!.data.set([0.5, -0.25]);
    await saveModel(path, m, { layout: "torch", metadata: { note: "kept" } });
    const { tensors, metadata } = await readSafetensors(path);
    expect(tensors["0.weight"].shape).toEqual([2, 3]);
    expect(tensors["0.bias"].shape).toEqual([2]);
    const w = (m.layers[0] as Linear).weight;
    expect(tensors["0.weight"].data[1 * 3 + 2]).toBe(w.data[2 * 2 + 1]); // W[2][1] is torch's [1][2]
    expect(metadata.note).toBe("kept");
    const other = new Sequential(new Linear(3, 2, { seed: 99 }));
    await loadModel(path, other, { layout: "torch" });
    expect(Array.from(other.stateDict()["0.weight"].data)).toEqual(Array.from(w.data));
    expect(Array.from(other.stateDict()["0.bias"].data)).toEqual([0.5, -0.25]);
  });

  it("the metadata layout says the truth for the default layout too", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tapegrad-interop-"));
    const withLinear = join(dir, "a.safetensors");
    const torchOnly = join(dir, "b.safetensors");
    await saveModel(withLinear, new NN([2, 3], sigmoid, quadratic, { seed: 1 }));
    await saveModel(torchOnly, new TransformerEncoderLayer(4, 2, { dimFeedforward: 8, seed: 1 }));
    expect((await readSafetensors(withLinear)).metadata.layout).toBe("W[in,out]");
    expect((await readSafetensors(torchOnly)).metadata.layout).toBe("torch");
  });

  it("a state_dict for another module fails naming torch's keys, and changes nothing", async () => {
    const model = new NN([4, 6, 3], sigmoid, quadratic, { seed: 2 });
    const before = Array.from(model.w[0].data);
    const err = await loadModel(join(INTEROP_DIR, "torch_nn.safetensors"), model, { layout: "torch" }).catch(
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(
      /"0\.weight" has shape \[5, 4\], PyTorch's layout of this module needs \[6, 4\]/,
    );
    expect(Array.from(model.w[0].data)).toEqual(before);
    const extra = await loadModel(join(INTEROP_DIR, "torch_mlp_bn.safetensors"), model, {
      layout: "torch",
    }).catch((e: unknown) => e);
    expect(String(extra)).toMatch(
      /does not match the module: unexpected 2\.running_mean, 2\.running_var, 2\.num_batches_tracked, 3\.weight/,
    );
  });
});
