import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeDigits, encodeDigits, toByte } from "../../packages/playground/src/digits-file.js";

const set = (count: number, size: number, seed: number) => ({
  count,
  labels: Uint8Array.from({ length: count }, (_, i) => (i * 7 + seed) % 10),
  pixels: Uint8Array.from({ length: count * size }, (_, i) => (i * 31 + seed) % 256),
});

describe("digits file", () => {
  it("decodes what it encodes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        (train, test, rows, cols) => {
          const file = { rows, cols, train: set(train, rows * cols, 1), test: set(test, rows * cols, 2) };
          const back = decodeDigits(encodeDigits(file));
          expect(back.rows).toBe(rows);
          expect(back.cols).toBe(cols);
          expect(Array.from(back.train.labels)).toEqual(Array.from(file.train.labels));
          expect(Array.from(back.test.pixels)).toEqual(Array.from(file.test.pixels));
          expect(back.train.count + back.test.count).toBe(train + test);
        },
      ),
      { seed: 31, numRuns: 60 },
    );
  });

  it("refuses a wrong magic, a truncated file and a label outside 0..9", () => {
    const good = encodeDigits({ rows: 2, cols: 2, train: set(3, 4, 0), test: set(1, 4, 0) });
    const bad = good.slice();
    bad[0] = 88;
    expect(() => decodeDigits(bad)).toThrow(/magic "XGD1", expected "TGD1"/);
    expect(() => decodeDigits(good.subarray(0, good.length - 1))).toThrow(
      /expected 36 for 3\+1 images of 2x2/,
    );
    const label = good.slice();
    label[16] = 12;
    expect(() => decodeDigits(label)).toThrow(/label 0 is 12/);
    expect(() =>
      encodeDigits({ rows: 2, cols: 2, train: { ...set(3, 4, 0), count: 4 }, test: set(1, 4, 0) }),
    ).toThrow(/train holds 3 labels and 12 pixels, expected 4 and 16/);
  });

  it("stores 0..1 pixels as bytes that round-trip k/255 exactly", () => {
    for (let k = 0; k <= 255; k++) expect(toByte(k / 255)).toBe(k);
    expect(toByte(-1)).toBe(0);
    expect(toByte(2)).toBe(255);
  });

  const built = join(import.meta.dirname, "../../packages/playground/public/digits.bin");
  it.runIf(existsSync(built))(
    "the generated file holds the CLI's 8,000/2,000 split of all ten digits",
    () => {
      const file = decodeDigits(new Uint8Array(readFileSync(built)));
      expect([file.train.count, file.test.count, file.rows, file.cols]).toEqual([8000, 2000, 28, 28]);
      expect(new Set(file.test.labels).size).toBe(10);
    },
  );
});
