import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tensor, ValueError } from "@tapegrad/autograd";
import {
  activations,
  decodeSafetensors,
  encodeSafetensors,
  Linear,
  loadModel,
  losses,
  Module,
  type ModuleMember,
  Parameter,
  Sequential,
  saveModel,
} from "@tapegrad/nn";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "tapegrad-io-names-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Names that are special on an ordinary object: a setter, and members of Object.prototype. */
const NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty"];

const vector = (values: number[]): Tensor => new Tensor(Float64Array.from(values), [values.length]);

/** A module whose parameters carry the given names. */
class Named extends Module {
  readonly params: Parameter[];
  constructor(
    readonly names: string[],
    offset = 0,
  ) {
    super();
    this.params = names.map((_, i) => new Parameter(Float64Array.from([i + offset, -i - offset]), [2]));
  }
  protected override namedMembers(): Array<[string, ModuleMember]> {
    return this.names.map((n, i) => [n, this.params[i]]);
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

describe("issue 9.11: tensor and parameter names that are Object.prototype members", () => {
  it("encodeSafetensors accepts each name once and decodeSafetensors returns it as an own entry", () => {
    for (const name of NAMES) {
      const bytes = encodeSafetensors([[name, vector([1, 2])]], { [name]: "meta" });
      const { tensors, metadata } = decodeSafetensors(bytes);
      expect(Object.keys(tensors)).toEqual([name]);
      expect(Object.hasOwn(tensors, name)).toBe(true);
      expect(tensors[name]).toBeInstanceOf(Tensor);
      expect(Array.from(tensors[name].data)).toEqual([1, 2]);
      expect(Object.getPrototypeOf(tensors)).not.toBeInstanceOf(Tensor);
      expect(Object.keys(metadata)).toEqual([name]);
      expect(metadata[name]).toBe("meta");
    }
  });

  it("a name that is not in the file is absent from the decoded objects", () => {
    const { tensors, metadata } = decodeSafetensors(encodeSafetensors([["a", vector([1])]]));
    for (const name of NAMES) {
      expect(name in tensors).toBe(false);
      expect(name in metadata).toBe(false);
    }
  });

  it("a real duplicate is still refused", () => {
    expect(() =>
      encodeSafetensors([
        ["__proto__", vector([1])],
        ["__proto__", vector([2])],
      ]),
    ).toThrow(/"__proto__" appears twice/);
  });

  it("loadModel refuses a file whose extra __proto__ entry the model does not have", async () => {
    const model = new Sequential(new Linear(2, 2, { seed: 1 }));
    const before = model.parameters().map((p) => Array.from(p.data));
    const path = join(dir, "proto.safetensors");
    writeFileSync(
      path,
      encodeSafetensors([...model.namedParameters(), ["__proto__", new Tensor(new Float32Array(4), [2, 2])]]),
    );
    const err = await loadModel(path, model).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValueError);
    expect((err as Error).message).toMatch(/unexpected __proto__/);
    expect((err as Error).message).toContain(path);
    expect(model.parameters().map((p) => Array.from(p.data))).toEqual(before);
  });

  it("stateDict, loadStateDict, saveModel and loadModel round-trip parameters with these names", async () => {
    const source = new Named(NAMES, 1);
    const sd = source.stateDict();
    expect(Object.keys(sd)).toEqual(NAMES);
    for (const name of NAMES) expect(Object.hasOwn(sd, name)).toBe(true);
    const target = new Named(NAMES, 10);
    target.loadStateDict(sd);
    expect(target.parameters().map((p) => Array.from(p.data))).toEqual(
      source.parameters().map((p) => Array.from(p.data)),
    );
    const path = join(dir, "named.safetensors");
    await saveModel(path, source);
    const other = new Named(NAMES, 20);
    await loadModel(path, other);
    expect(other.parameters().map((p) => Array.from(p.data))).toEqual(
      source.parameters().map((p) => Array.from(p.data)),
    );
  });

  it("loadStateDict names a missing constructor or toString entry instead of finding Object's", () => {
    for (const name of NAMES) {
      const model = new Named([name, "w"]);
      const sd = Object.create(null) as Record<string, Tensor>;
      sd.w = vector([5, 5]);
      expect(() => model.loadStateDict(sd)).toThrow(new RegExp(`missing ${name}`));
      expect(() => model.loadStateDict({ w: vector([5, 5]) })).toThrow(/missing/);
    }
  });

  it("the loss and activation tables hold only their own entries", () => {
    for (const name of NAMES) {
      expect(losses[name]).toBeUndefined();
      expect(activations[name]).toBeUndefined();
    }
  });
});
