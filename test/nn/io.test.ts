import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DTypeError, ShapeError, Tensor, ValueError } from "@tapegrad/autograd";
import {
  decodeSafetensors,
  encodeSafetensors,
  Linear,
  loadModel,
  type Module,
  NN,
  quadratic,
  ReLU,
  readSafetensors,
  Sequential,
  saveModel,
  sigmoid,
} from "@tapegrad/nn";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "tapegrad-io-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const snapshot = (m: Module) => m.parameters().map((p) => Array.from(p.data));
const makeModel = (seed: number) =>
  new Sequential(
    new Linear(4, 3, { seed }),
    new ReLU(),
    new Linear(3, 2, { seed: seed + 1, dtype: "float32" }),
  );

/** A parser written from the safetensors description, independent of the library's reader. */
function parseByHand(bytes: Buffer): {
  header: Record<string, Record<string, unknown>>;
  data: Buffer;
  headerLength: number;
} {
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"));
  return { header, data: bytes.subarray(8 + headerLength), headerLength };
}

describe("saveModel / loadModel (safetensors)", () => {
  it("round-trips every parameter and writes a header other tools can read", async () => {
    const path = join(dir, "model.safetensors");
    const model = makeModel(1);
    await saveModel(path, model, { epochs: "3" });
    const bytes = readFileSync(path);
    const { header, data, headerLength } = parseByHand(bytes);
    expect((8 + headerLength) % 8).toBe(0);
    expect(header.__metadata__.format).toBe("tapegrad");
    expect(header.__metadata__.layout).toBe("W[in,out]");
    expect(header.__metadata__.epochs).toBe("3");
    expect(JSON.parse(header.__metadata__.architecture as string).type).toBe("Sequential");
    for (const [name, p] of model.namedParameters()) {
      const e = header[name];
      expect(e.dtype).toBe("F32");
      expect(e.shape).toEqual([...p.shape]);
      const [begin, end] = e.data_offsets as number[];
      expect(end - begin).toBe(4 * p.size);
      const values = Array.from({ length: p.size }, (_, i) => data.readFloatLE(begin + 4 * i));
      expect(values).toEqual(Array.from(p.data));
    }
    const other = makeModel(2);
    expect(snapshot(other)).not.toEqual(snapshot(model));
    const metadata = await loadModel(path, other);
    expect(snapshot(other)).toEqual(snapshot(model));
    expect(metadata.epochs).toBe("3");
    // the temporary file was renamed away
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("stores float64 NN weights as F64 under the names w.0, b.0, ...", async () => {
    const path = join(dir, "nn.safetensors");
    const nn = new NN([3, 5, 2], sigmoid, quadratic, { dtype: "float64", seed: 1 });
    await saveModel(path, nn);
    const { tensors, metadata } = await readSafetensors(path);
    expect(Object.keys(tensors)).toEqual(["w.0", "b.0", "w.1", "b.1"]);
    expect(tensors["w.1"].dtype).toBe("float64");
    expect(Array.from(tensors["w.1"].data)).toEqual(Array.from(nn.w[1].data));
    expect(JSON.parse(metadata.architecture)).toEqual({
      type: "NN",
      sizes: [3, 5, 2],
      activation: "sigmoid",
      outputActivation: "sigmoid",
      loss: "quadratic",
      init: "normal",
    });
  });

  it("encode/decode keep int32 tensors and 0-d shapes", () => {
    const bytes = encodeSafetensors([
      ["ids", new Tensor(new Int32Array([3, -1, 7]), [3])],
      ["scalar", new Tensor(new Float64Array([2.5]), [])],
    ]);
    const { tensors } = decodeSafetensors(bytes);
    expect(Array.from(tensors.ids.data)).toEqual([3, -1, 7]);
    expect(tensors.ids.dtype).toBe("int32");
    expect(tensors.scalar.shape).toEqual([]);
  });

  describe("bad files fail with a clear error and leave the model unchanged", () => {
    const good = (() => encodeSafetensors(makeModel(1).namedParameters(), { format: "tapegrad" }))();
    const { header, headerLength } = parseByHand(Buffer.from(good));
    const withHeader = (h: Record<string, unknown>, data = Buffer.from(good).subarray(8 + headerLength)) => {
      const json = Buffer.from(JSON.stringify(h));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      return Buffer.concat([len, json, data]);
    };
    const cases: Array<[string, Uint8Array, RegExp, typeof ValueError]> = [
      ["empty file", new Uint8Array(0), /truncated: 0 bytes/, ValueError],
      ["truncated data", good.subarray(0, good.length - 5), /truncated/, ValueError],
      ["truncated header", good.subarray(0, 20), /truncated or bad header length/, ValueError],
      [
        "huge header length",
        (() => {
          const b = Buffer.from(good);
          b.writeBigUInt64LE(2n ** 60n, 0);
          return b;
        })(),
        /bad header length/,
        ValueError,
      ],
      [
        "header not JSON",
        (() => {
          const b = Buffer.from(good);
          b[8] = 0x21;
          return b;
        })(),
        /not valid UTF-8 JSON/,
        ValueError,
      ],
      [
        "unknown dtype",
        withHeader({ ...header, "0.weight": { ...header["0.weight"], dtype: "BF16" } }),
        /unsupported dtype BF16/,
        DTypeError,
      ],
      [
        "offsets that do not match the shape",
        withHeader({ ...header, "0.weight": { ...header["0.weight"], shape: [4, 4] } }),
        /needs 64/,
        ValueError,
      ],
      [
        "trailing bytes",
        Buffer.concat([Buffer.from(good), Buffer.alloc(4)]),
        /not described by the header/,
        ValueError,
      ],
    ];
    for (const [name, bytes, message, Err] of cases) {
      it(name, async () => {
        const path = join(dir, `bad-${name.replace(/\W+/g, "-")}.safetensors`);
        writeFileSync(path, bytes);
        const model = makeModel(5);
        const before = snapshot(model);
        const err = await loadModel(path, model).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Err);
        expect((err as Error).message).toMatch(message);
        expect((err as Error).message).toContain(path);
        expect(snapshot(model)).toEqual(before);
      });
    }

    it("a valid file for another architecture: shape mismatch names the parameter", async () => {
      const path = join(dir, "other-arch.safetensors");
      await saveModel(path, new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 5)));
      const model = makeModel(5);
      const before = snapshot(model);
      const err = await loadModel(path, model).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShapeError);
      expect((err as Error).message).toMatch(/2\.weight.*\[3, 2\].*\[3, 5\]/);
      expect((err as Error).message).toContain(path);
      expect(snapshot(model)).toEqual(before);
    });

    it("missing names and float64 files for a float32 model are rejected", async () => {
      const path = join(dir, "missing.safetensors");
      writeFileSync(path, encodeSafetensors(makeModel(1).namedParameters().slice(1)));
      await expect(loadModel(path, makeModel(5))).rejects.toThrow(/missing 0\.weight/);
      const path64 = join(dir, "f64.safetensors");
      await saveModel(
        path64,
        new Sequential(
          new Linear(4, 3, { dtype: "float64" }),
          new ReLU(),
          new Linear(3, 2, { dtype: "float64" }),
        ),
      );
      await expect(loadModel(path64, makeModel(5))).rejects.toThrow(DTypeError);
    });
  });

  it("a missing file is a ValueError naming it", async () => {
    await expect(readSafetensors(join(dir, "nope.safetensors"))).rejects.toThrow(/nope\.safetensors/);
  });
});
