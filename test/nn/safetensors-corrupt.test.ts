import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DTypeError, TapegradError, ValueError } from "@tapegrad/autograd";
import {
  decodeSafetensors,
  encodeSafetensors,
  Linear,
  loadModel,
  type Module,
  ReLU,
  Sequential,
} from "@tapegrad/nn";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";

/**
 * The corrupt-file suite (issue 9, "Make the search permanent"): every damaged or foreign file given to
 * loadModel must fail with a named TapegradError whose message names the file and what is wrong, and must
 * leave the model bit for bit as it was.
 */

const dir = mkdtempSync(join(tmpdir(), "tapegrad-corrupt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The model every file is loaded into: two float32 layers and a float64 one (three dtypes of bytes). */
const makeModel = (seed: number): Module =>
  new Sequential(
    new Linear(3, 2, { seed }),
    new ReLU(),
    new Linear(2, 2, { seed: seed + 1, dtype: "float64" }),
  );

/** Every parameter's bytes, for a bit-identical comparison (NaN payloads and -0 included). */
const bytesOf = (m: Module): Buffer[] =>
  m.parameters().map((p) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength));
const sameBytes = (a: Buffer[], b: Buffer[]): boolean =>
  a.length === b.length && a.every((x, i) => x.equals(b[i]));

const good = Buffer.from(encodeSafetensors(makeModel(1).namedParameters(), { format: "tapegrad" }));
const headerLength = Number(good.readBigUInt64LE(0));
const header = JSON.parse(good.subarray(8, 8 + headerLength).toString("utf8")) as Record<
  string,
  Record<string, unknown>
>;
const data = good.subarray(8 + headerLength);
const names = Object.keys(header).filter((k) => k !== "__metadata__");

/** A file with this header text (as given: it may be invalid JSON) and data section. */
function withHeaderText(text: string | Buffer, body: Buffer = data): Buffer {
  const json = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, body]);
}
const withHeader = (h: unknown, body: Buffer = data): Buffer => withHeaderText(JSON.stringify(h), body);
/** The good header with one tensor entry changed. */
const withEntry = (name: string, entry: unknown, body: Buffer = data): Buffer =>
  withHeader({ ...header, [name]: entry }, body);

let fileCount = 0;
/** Writes bytes to a new file, loads them into a fresh model and returns the error (or null) and whether the model kept its bytes. */
async function load(bytes: Uint8Array): Promise<{ err: unknown; path: string; unchanged: boolean }> {
  const path = join(dir, `case-${fileCount++}.safetensors`);
  writeFileSync(path, bytes);
  const model = makeModel(5);
  const before = bytesOf(model).map((b) => Buffer.from(b));
  const err = await loadModel(path, model).then(
    () => null,
    (e: unknown) => e,
  );
  return { err, path, unchanged: sameBytes(bytesOf(model), before) };
}

/** Loading `bytes` fails with Err, names the file, says `what`, and leaves the model unchanged. */
async function expectRejected(bytes: Uint8Array, what: RegExp, Err: typeof TapegradError = ValueError) {
  const { err, path, unchanged } = await load(bytes);
  expect(err, `expected ${what} to be rejected`).toBeInstanceOf(Err);
  expect(err).toBeInstanceOf(TapegradError);
  const message = (err as Error).message;
  expect(message).toContain(path);
  expect(message).toMatch(what);
  expect(unchanged).toBe(true);
}

describe("safetensors corrupt-file suite: named errors, model unchanged", () => {
  it("the good file loads (the suite's baseline)", async () => {
    const { err } = await load(good);
    expect(err).toBeNull();
  });

  it("truncation at every offset of the file, header and data alike", async () => {
    for (let length = 0; length < good.length; length++) {
      await expectRejected(good.subarray(0, length), /truncated|not a safetensors file/);
    }
  });

  describe("lying lengths", () => {
    const lengths: Array<[string, bigint]> = [
      ["zero", 0n],
      ["one less", BigInt(headerLength - 1)],
      ["one more", BigInt(headerLength + 1)],
      ["eight less", BigInt(headerLength - 8)],
      ["eight more", BigInt(headerLength + 8)],
      ["the whole file", BigInt(good.length)],
      ["the rest of the file exactly", BigInt(good.length - 8)],
      ["2^53 + 1", 2n ** 53n + 1n],
      ["2^64 - 1", 2n ** 64n - 1n],
    ];
    for (const [name, value] of lengths) {
      it(`a header length of ${name} (${value})`, async () => {
        const b = Buffer.from(good);
        b.writeBigUInt64LE(value, 0);
        await expectRejected(b, /header|truncated|not a safetensors file|data|bytes/);
      });
    }

    it("every header length but the true one is rejected", async () => {
      for (let n = 0; n <= good.length; n++) {
        if (n === headerLength) continue;
        const b = Buffer.from(good);
        b.writeBigUInt64LE(BigInt(n), 0);
        const { err, unchanged } = await load(b);
        expect(err, `header length ${n}`).toBeInstanceOf(TapegradError);
        expect(unchanged).toBe(true);
      }
    });

    const last = names[names.length - 1];
    const [lastBegin, lastEnd] = header[last].data_offsets as number[];
    const offsets: Array<[string, Buffer, RegExp]> = [
      [
        "data offsets past the end of the file",
        withEntry(last, { ...header[last], data_offsets: [lastBegin + 8, lastEnd + 8] }),
        /truncated|expected \d+ \(gap or overlap\)/,
      ],
      [
        "an end offset far beyond the file",
        withEntry(last, { ...header[last], data_offsets: [lastBegin, 2 ** 52] }),
        /holds? \d+ bytes|needs/,
      ],
      [
        "begin > end",
        withEntry(last, { ...header[last], data_offsets: [lastEnd, lastBegin] }),
        /bad data_offsets/,
      ],
      [
        "a data section longer than the header describes",
        Buffer.concat([good, Buffer.alloc(8)]),
        /8 bytes after the last tensor/,
      ],
      [
        "a data section shorter than the header describes",
        withHeader(header, data.subarray(0, data.length - 8)),
        /truncated: the header describes/,
      ],
    ];
    for (const [name, bytes, what] of offsets) it(name, () => expectRejected(bytes, what));
  });

  describe("offsets that do not cover the data exactly", () => {
    const [a, b] = names;
    const [aBegin, aEnd] = header[a].data_offsets as number[];
    it("two tensors at the same offsets (overlap)", () =>
      expectRejected(
        withEntry(b, { ...header[b], shape: header[a].shape, data_offsets: [aBegin, aEnd] }),
        /gap or overlap/,
      ));
    it("a tensor starting inside the one before it", () =>
      expectRejected(
        withHeader({
          ...header,
          [b]: {
            ...header[b],
            data_offsets: (header[b].data_offsets as number[]).map((o) => o - 4),
          },
        }),
        /gap or overlap|bytes after the last tensor/,
      ));
    it("a gap between two tensors", () => {
      const h = JSON.parse(JSON.stringify(header)) as typeof header;
      for (const n of names.slice(1)) h[n].data_offsets = (h[n].data_offsets as number[]).map((o) => o + 4);
      const body = Buffer.concat([data.subarray(0, aEnd), Buffer.alloc(4), data.subarray(aEnd)]);
      return expectRejected(withHeader(h, body), /starts at byte \d+, expected \d+ \(gap or overlap\)/);
    });
    it("a file whose tensors start after byte 0", () => {
      const h = JSON.parse(JSON.stringify(header)) as typeof header;
      for (const n of names) h[n].data_offsets = (h[n].data_offsets as number[]).map((o) => o + 8);
      return expectRejected(
        withHeader(h, Buffer.concat([Buffer.alloc(8), data])),
        /starts at byte 8, expected 0/,
      );
    });
    const badOffsets: unknown[] = [
      [-4, 20],
      [0.5, 24.5],
      ["0", "24"],
      [0],
      [0, 24, 48],
      null,
      "0-24",
      { begin: 0, end: 24 },
    ];
    for (const offs of badOffsets) {
      it(`data_offsets ${JSON.stringify(offs)}`, () =>
        expectRejected(withEntry(a, { ...header[a], data_offsets: offs }), /bad data_offsets/));
    }
    it("missing data_offsets", () => {
      const { data_offsets: _, ...rest } = header[a];
      return expectRejected(withEntry(a, rest), /bad data_offsets/);
    });
  });

  describe("dtypes", () => {
    const [a] = names;
    // I64 is read (into int32: PyTorch's num_batches_tracked is int64), so it is not in this list
    for (const dtype of ["BF16", "F16", "U8", "BOOL", "f32", "float32", ""]) {
      it(`unsupported dtype ${JSON.stringify(dtype)}`, () =>
        expectRejected(withEntry(a, { ...header[a], dtype }), /unsupported dtype/, DTypeError));
    }
    for (const dtype of [null, 32, ["F32"], { F32: true }]) {
      it(`dtype ${JSON.stringify(dtype)} (not a string)`, () =>
        expectRejected(withEntry(a, { ...header[a], dtype }), /has no dtype|dtype/));
    }
    it("a dtype that is a key of Object.prototype", () =>
      expectRejected(withEntry(a, { ...header[a], dtype: "constructor" }), /unsupported dtype/, DTypeError));
    it("I64 in place of F32 (twice the bytes the offsets hold)", () =>
      expectRejected(withEntry(a, { ...header[a], dtype: "I64" }), /needs \d+/));
    it("an I64 value that int32 cannot hold", () => {
      const big = new BigInt64Array([2n ** 40n]);
      const text = JSON.stringify({ n: { dtype: "I64", shape: [1], data_offsets: [0, 8] } });
      const padded = text + " ".repeat((8 - ((8 + text.length) % 8)) % 8);
      const bytes = withHeaderText(padded, Buffer.from(big.buffer));
      return expectRejected(bytes, /int64 value 1099511627776 at 0 does not fit tapegrad's int32/);
    });
    it("F64 in place of F32 (twice the bytes the offsets hold)", () =>
      expectRejected(withEntry(a, { ...header[a], dtype: "F64" }), /needs \d+/));
  });

  describe("shapes that disagree with the byte count or are not shapes", () => {
    const [a] = names;
    const shapes: unknown[] = [
      [4, 4],
      [2],
      [],
      [2, 3, 1, 1, 2],
      [-3, -2],
      [1.5, 4],
      ["3", "2"],
      [[3, 2]],
      null,
      "3x2",
      [2 ** 53, 2 ** 53],
      [1e308, 1e308],
    ];
    for (const shape of shapes) {
      it(`shape ${JSON.stringify(shape)}`, () =>
        expectRejected(withEntry(a, { ...header[a], shape }), /bad shape|needs \d+|holds? \d+ bytes/));
    }
  });

  describe("headers that are not valid UTF-8 JSON objects", () => {
    const text = good.subarray(8, 8 + headerLength);
    const at = text.indexOf(Buffer.from(names[0])) + 1;
    const utf8: Array<[string, number[]]> = [
      ["a 0xff byte", [0xff]],
      ["a lone continuation byte", [0x80]],
      ["an overlong NUL", [0xc0, 0x80]],
      ["an encoded surrogate", [0xed, 0xa0, 0x80]],
      ["a truncated sequence", [0xe2, 0x82]],
    ];
    for (const [name, seq] of utf8) {
      it(`bad UTF-8 in a tensor name: ${name}`, () => {
        const bad = Buffer.concat([text.subarray(0, at), Buffer.from(seq), text.subarray(at)]);
        return expectRejected(withHeaderText(bad), /not valid UTF-8/);
      });
    }
    const json = JSON.stringify(header);
    const badJson: Array<[string, string]> = [
      ["a missing closing brace", json.slice(0, -1)],
      ["a trailing comma", `${json.slice(0, -1)},}`],
      ["single quotes", json.replace(/"/g, "'")],
      ["NaN", json.replace(/"shape":\[\d+/, '"shape":[NaN')],
      ["two objects", `${json}${json}`],
      ["an empty header", ""],
      ["only spaces", "        "],
    ];
    for (const [name, t] of badJson) {
      it(`bad JSON: ${name}`, () => expectRejected(withHeaderText(t), /JSON|not a safetensors file/));
    }
    for (const value of ["[]", "null", '"tensors"', "42", "true", "[{}]"]) {
      it(`a header that is ${value}, not an object`, () =>
        expectRejected(withHeaderText(value, Buffer.alloc(0)), /not a JSON object/));
    }
    for (const value of [5, "x", null, [1, 2], true]) {
      it(`a tensor entry that is ${JSON.stringify(value)}`, () =>
        expectRejected(withEntry(names[0], value), /is not an object|no dtype/));
    }
  });

  describe("metadata", () => {
    const bad: unknown[] = [
      { format: 1 },
      { format: "tapegrad", epochs: 3 },
      { format: null },
      { format: { nested: "x" } },
      { format: ["tapegrad"] },
      { format: true },
    ];
    for (const metadata of bad) {
      it(`metadata ${JSON.stringify(metadata)} (a non-string value)`, () =>
        expectRejected(
          withHeader({ ...header, __metadata__: metadata }),
          /__metadata__\.\w+ is not a string/,
        ));
    }
    for (const metadata of [null, "tapegrad", [1], 7]) {
      it(`metadata ${JSON.stringify(metadata)} (not an object)`, () =>
        expectRejected(withHeader({ ...header, __metadata__: metadata }), /__metadata__ is not an object/));
    }
  });

  describe("files that are not safetensors at all", () => {
    const foreign: Array<[string, Buffer]> = [
      ["a JSON file", Buffer.from(JSON.stringify({ sizes: [784, 30, 10], activation: "sigmoid" }, null, 2))],
      ["a JSON array", Buffer.from("[1, 2, 3, 4, 5, 6, 7, 8, 9]")],
      ["a CSV file", Buffer.from("label,x0,x1\n1,0.5,0.25\n0,0.1,0.9\n")],
      ["a PNG file", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48])],
      ["seven bytes of text", Buffer.from('{"a":1')],
    ];
    for (const [name, bytes] of foreign) {
      it(`${name} is "not a safetensors file", not a huge header length`, async () => {
        await expectRejected(bytes, /not a safetensors file/);
        const { err } = await load(bytes);
        expect((err as Error).message).not.toMatch(/\d{10,}/);
      });
    }

    it("a directory path: the message names the path and says it is a directory", async () => {
      const path = join(dir, "a-folder.safetensors");
      mkdirSync(path);
      const model = makeModel(5);
      const before = bytesOf(model).map((b) => Buffer.from(b));
      const err = await loadModel(path, model).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValueError);
      expect((err as Error).message).toContain(path);
      expect((err as Error).message).toMatch(/is a directory/);
      expect(sameBytes(bytesOf(model), before)).toBe(true);
    });

    it("a missing file: the message names the path and says it does not exist", async () => {
      const path = join(dir, "nowhere", "model.safetensors");
      const err = await loadModel(path, makeModel(5)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValueError);
      expect((err as Error).message).toContain(path);
      expect((err as Error).message).toMatch(/no such file/);
    });
  });

  it("random mutations of a valid file: loads consistently or fails with a named error, model unchanged (property)", async () => {
    const end = 8 + headerLength;
    const mutation = fc.oneof(
      // overwrite bytes anywhere (header or data)
      fc.record({
        kind: fc.constant("set" as const),
        at: fc.integer({ min: 0, max: good.length - 1 }),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
      }),
      // overwrite a byte of the header with a JSON-significant character
      fc.record({
        kind: fc.constant("set" as const),
        at: fc.integer({ min: 8, max: end - 1 }),
        bytes: fc
          .constantFrom(...'{}[],:"0123456789-.eE '.split(""))
          .map((c) => Uint8Array.of(c.charCodeAt(0))),
      }),
      fc.record({
        kind: fc.constant("insert" as const),
        at: fc.integer({ min: 0, max: good.length }),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }),
      }),
      fc.record({
        kind: fc.constant("delete" as const),
        at: fc.integer({ min: 0, max: good.length - 1 }),
        count: fc.integer({ min: 1, max: 9 }),
      }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.integer({ min: 0, max: good.length - 1 }) }),
    );
    type Mutation =
      | { kind: "set" | "insert"; at: number; bytes: Uint8Array }
      | { kind: "delete"; at: number; count: number }
      | { kind: "truncate"; at: number };
    const apply = (b: Buffer, m: Mutation): Buffer => {
      const at = Math.min(m.at, b.length);
      switch (m.kind) {
        case "set": {
          const out = Buffer.from(b);
          out.set(m.bytes.subarray(0, Math.max(0, out.length - at)), at);
          return out;
        }
        case "insert":
          return Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        case "delete":
          return Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        case "truncate":
          return b.subarray(0, at);
      }
    };
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => {
        const bytes = ms.reduce(apply, good);
        const { err, path, unchanged } = await load(bytes);
        if (err === null) {
          // accepted: then the bytes are a valid file, and the model holds exactly its tensors
          const { tensors } = decodeSafetensors(bytes);
          const model = makeModel(5);
          model.loadStateDict(tensors);
          expect(Object.keys(tensors).sort()).toEqual(names.slice().sort());
          return;
        }
        expect(err).toBeInstanceOf(TapegradError);
        expect((err as Error).message).toContain(path);
        expect(unchanged).toBe(true);
      }),
      { seed: 9_2026, numRuns: 400 },
    );
  });
});
