import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Tensor, ValueError } from "@tapegrad/autograd";
import { oneHot, parseCsv, permutation, readCsv, readIdx, spiral, trainTestSplit, xor } from "@tapegrad/nn";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "tapegrad-data-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX file built byte by byte from the format's description. */
function idx(type: number, dims: number[], values: number[]): Buffer {
  const size = { 8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8 }[type]!;
  const b = Buffer.alloc(4 + 4 * dims.length + size * values.length);
  b[2] = type;
  b[3] = dims.length;
  dims.forEach((d, i) => {
    b.writeUInt32BE(d, 4 + 4 * i);
  });
  const o = 4 + 4 * dims.length;
  values.forEach((v, i) => {
    if (type === 0x08) b.writeUInt8(v, o + i);
    else if (type === 0x09) b.writeInt8(v, o + i);
    else if (type === 0x0b) b.writeInt16BE(v, o + 2 * i);
    else if (type === 0x0c) b.writeInt32BE(v, o + 4 * i);
    else if (type === 0x0d) b.writeFloatBE(v, o + 4 * i);
    else b.writeDoubleBE(v, o + 8 * i);
  });
  return b;
}

describe("readIdx", () => {
  const pixels = Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 11) % 256);

  it("reads a ubyte image file from a path (int32 by default, scaled floats on request)", () => {
    const path = join(dir, "images-idx3-ubyte");
    writeFileSync(path, idx(0x08, [2, 3, 4], pixels));
    const t = readIdx(path);
    expect(t.shape).toEqual([2, 3, 4]);
    expect(t.dtype).toBe("int32");
    expect(Array.from(t.data)).toEqual(pixels);
    const f = readIdx(path, { dtype: "float32", scale: 1 / 255 });
    expect(f.dtype).toBe("float32");
    expect(f.data[1]).toBeCloseTo(11 / 255, 6);
  });

  it("reads gzipped files (by their magic bytes, whatever the name)", () => {
    const path = join(dir, "labels-idx1-ubyte.gz");
    writeFileSync(path, gzipSync(idx(0x08, [5], [7, 2, 1, 0, 4])));
    expect(Array.from(readIdx(path).data)).toEqual([7, 2, 1, 0, 4]);
    expect(readIdx(gzipSync(idx(0x08, [1], [9]))).toArray()).toEqual([9]);
  });

  it("reads every IDX type, big-endian", () => {
    expect(readIdx(idx(0x09, [3], [-5, 0, 127])).toArray()).toEqual([-5, 0, 127]);
    expect(readIdx(idx(0x0b, [2], [-300, 1000])).toArray()).toEqual([-300, 1000]);
    expect(readIdx(idx(0x0c, [2], [-70000, 123456])).toArray()).toEqual([-70000, 123456]);
    const f = readIdx(idx(0x0d, [2], [1.5, -0.25]));
    expect(f.dtype).toBe("float32");
    expect(f.toArray()).toEqual([1.5, -0.25]);
    const d = readIdx(idx(0x0e, [1, 2], [Math.PI, -1e300]));
    expect(d.dtype).toBe("float64");
    expect(d.toArray()).toEqual([[Math.PI, -1e300]]);
  });

  it("rejects a wrong magic number, an unknown type, truncation and trailing bytes", () => {
    const good = idx(0x08, [2, 3, 4], pixels);
    const wrongMagic = Buffer.from(good);
    wrongMagic[0] = 0x42;
    expect(() => readIdx(wrongMagic)).toThrow(/bad magic number 0x42000803/);
    const badType = Buffer.from(good);
    badType[2] = 0x0a;
    expect(() => readIdx(badType)).toThrow(/unknown data type byte 0x0a/);
    expect(() => readIdx(good.subarray(0, good.length - 1))).toThrow(
      /truncated: shape \[2, 3, 4\] of ubyte needs 40 bytes, the file has 39/,
    );
    expect(() => readIdx(good.subarray(0, 9))).toThrow(/truncated header/);
    expect(() => readIdx(good.subarray(0, 2))).toThrow(/truncated/);
    expect(() => readIdx(Buffer.concat([good, Buffer.alloc(3)]))).toThrow(/3 unexpected bytes/);
    expect(() => readIdx(good.subarray(0, 9))).toThrow(ValueError);
    const path = join(dir, "broken.gz");
    writeFileSync(path, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    expect(() => readIdx(path)).toThrow(/broken\.gz looks gzipped but does not decompress/);
    expect(() => readIdx(join(dir, "missing"))).toThrow(/cannot read/);
  });
});

describe("readCsv", () => {
  const text = 'depth,lung,"hold time"\n10,5.5,60\n20,6.1,75\r\n\n15,4.0,50\n';

  it("splits features and the target named by header, or by index", () => {
    const path = join(dir, "divers.csv");
    writeFileSync(path, text);
    const { x, y, columns, target } = readCsv(path, { target: "hold time" });
    expect(columns).toEqual(["depth", "lung"]);
    expect(target).toBe("hold time");
    expect(x.shape).toEqual([3, 2]);
    expect(y.shape).toEqual([3, 1]);
    expect(x.data[2]).toBeCloseTo(20, 6);
    expect(Array.from(y.data)).toEqual([60, 75, 50]);
    const byIndex = readCsv(path, { target: 0, dtype: "float64" });
    expect(byIndex.target).toBe("depth");
    expect(byIndex.x.dtype).toBe("float64");
    expect(Array.from(byIndex.y.data)).toEqual([10, 20, 15]);
    expect(readCsv(path, { target: -1 }).target).toBe("hold time");
  });

  it("files without a header get column1, column2, ...", () => {
    const { columns, x } = parseCsv("1;2;3\n4;5;6", { target: 1, delimiter: ";" });
    expect(columns).toEqual(["column1", "column3"]);
    expect(Array.from(x.data)).toEqual([1, 3, 4, 6]);
  });

  it("a bad cell names the file, line and column", () => {
    const path = join(dir, "bad.csv");
    writeFileSync(path, "a,b\n1,2\n3,x7\n");
    expect(() => readCsv(path, { target: "b" })).toThrow(ValueError);
    expect(() => readCsv(path, { target: "b" })).toThrow(
      /bad\.csv line 3, column 2 \("b"\): "x7" is not a finite number/,
    );
    expect(() => parseCsv("a,b\n1,\n", { target: "a" })).toThrow(/line 2, column 2/);
    expect(() => parseCsv("a,b\n1,2,3\n", { target: "a" })).toThrow(/line 2: 3 cells, expected 2/);
    expect(() => parseCsv("a,b\n1,2\n", { target: "c" })).toThrow(/no column named "c"/);
    expect(() => parseCsv("a,b\n1,2\n", { target: 5 })).toThrow(/outside the 2 columns/);
    expect(() => readCsv(join(dir, "none.csv"), { target: 0 })).toThrow(/cannot read/);
  });
});

describe("datasets and helpers", () => {
  it("oneHot", () => {
    expect(oneHot(new Tensor(new Int32Array([2, 0]), [2]), 3).toArray()).toEqual([
      [0, 0, 1],
      [1, 0, 0],
    ]);
    expect(() => oneHot([3], 3)).toThrow(/label 3 at index 0/);
  });

  it("trainTestSplit is a seeded partition of the rows", () => {
    const x = new Tensor(
      Float32Array.from({ length: 20 }, (_, i) => i),
      [10, 2],
    );
    const y = new Tensor(
      Int32Array.from({ length: 10 }, (_, i) => i),
      [10],
    );
    const { train, test } = trainTestSplit({ x, y }, { testFraction: 0.3, seed: 1 });
    expect(train.x.shape).toEqual([7, 2]);
    expect(test.y.shape).toEqual([3]);
    const ids = [...Array.from(train.y.data), ...Array.from(test.y.data)].sort((a, b) => a - b);
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let r = 0; r < 7; r++) expect(train.x.data[2 * r]).toBe(2 * train.y.data[r]); // rows stay together
    const again = trainTestSplit({ x, y }, { testFraction: 0.3, seed: 1 });
    expect(Array.from(again.test.y.data)).toEqual(Array.from(test.y.data));
    expect(Array.from(permutation(5, 2)).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it("spiral and xor", () => {
    const s = spiral(50, 3, 1);
    expect(s.x.shape).toEqual([150, 2]);
    expect(s.y.dtype).toBe("int32");
    expect(Array.from(s.y.data).filter((c) => c === 2).length).toBe(50);
    for (const v of s.x.data) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    expect(Array.from(spiral(50, 3, 1).x.data)).toEqual(Array.from(s.x.data));
    const { x, y } = xor();
    expect(x.toArray()).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    expect(y.toArray()).toEqual([[0], [1], [1], [0]]);
    expect(xor({ n: 40, noise: 0.1, seed: 2 }).x.shape).toEqual([40, 2]);
  });
});
