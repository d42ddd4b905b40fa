import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { DType, TypedArray } from "./dtype.js";
import { ValueError } from "./errors.js";
import { allocateStorage, getStorageOptions, setStorageOptions } from "./storage.js";

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

function span(a: TypedArray): [number, number] {
  return [a.byteOffset, a.byteOffset + a.byteLength];
}

describe("allocateStorage", () => {
  afterEach(() => setStorageOptions({ slabs: true }));

  it("carves 65 B to 2 KiB arrays from shared 16 KiB slabs and gives others their own buffer", () => {
    expect(allocateStorage("float32", 16).buffer.byteLength).toBe(64);
    expect(allocateStorage("float32", 17).buffer.byteLength).toBe(16384);
    expect(allocateStorage("float64", 256).buffer.byteLength).toBe(16384);
    expect(allocateStorage("float32", 513).buffer.byteLength).toBe(513 * 4);
    expect(allocateStorage("int32", 100).buffer.byteLength).toBe(16384);
  });

  it("returns zero-filled, disjoint, aligned arrays of the right type and length", () => {
    const request = fc.record({
      dtype: fc.constantFrom<DType>("float32", "float64", "int32"),
      size: fc.integer({ min: 0, max: 700 }),
    });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 60 }), (requests) => {
        const arrays = requests.map(({ dtype, size }) => {
          const a = allocateStorage(dtype, size);
          expect(a.length).toBe(size);
          expect(a.BYTES_PER_ELEMENT).toBe(BYTES[dtype]);
          expect(a.every((v) => v === 0)).toBe(true);
          expect(a.byteOffset % a.BYTES_PER_ELEMENT).toBe(0);
          a.fill(7); // a later array overlapping this one would not read as zeros
          return a;
        });
        for (let i = 0; i < arrays.length; i++) {
          for (let j = i + 1; j < arrays.length; j++) {
            if (arrays[i].buffer !== arrays[j].buffer) continue;
            const [s0, e0] = span(arrays[i]);
            const [s1, e1] = span(arrays[j]);
            expect(e0 <= s1 || e1 <= s0).toBe(true);
          }
        }
      }),
      { seed: 42, numRuns: 100 },
    );
  });

  it("can be turned off: every array then owns its buffer", () => {
    setStorageOptions({ slabs: false });
    expect(getStorageOptions().slabs).toBe(false);
    const a = allocateStorage("float32", 100);
    expect(a.buffer.byteLength).toBe(400);
    expect(a.byteOffset).toBe(0);
    setStorageOptions({ slabs: true });
    expect(allocateStorage("float32", 100).buffer.byteLength).toBe(16384);
  });

  it("rejects bad options with a message naming them", () => {
    expect(() => setStorageOptions({ slabs: "yes" as unknown as boolean })).toThrow(ValueError);
    expect(() => setStorageOptions({ slabs: "yes" as unknown as boolean })).toThrow(
      "setStorageOptions: slabs must be true or false, got yes",
    );
    expect(() => setStorageOptions({ cotangentPoolBytes: -1 })).toThrow(
      "setStorageOptions: cotangentPoolBytes must be an integer >= 0, got -1",
    );
    expect(() => setStorageOptions(null as unknown as object)).toThrow(
      "setStorageOptions: expected an object",
    );
  });
});

describe("uninitialized storage (kernels that write every element)", () => {
  const initial = getStorageOptions().poisonUninitialized;
  afterEach(() => setStorageOptions({ poisonUninitialized: initial }));

  it("is on in the test suite (vitest.config.ts), so a kernel that reads before writing fails its tests", () => {
    expect(initial).toBe(true);
  });

  it("is filled with NaN (int32: -2^31) when poisoned, at every size and dtype", () => {
    setStorageOptions({ poisonUninitialized: true });
    for (const size of [1, 16, 300, 5000, 200_000]) {
      for (const dtype of ["float32", "float64"] as const) {
        const a = allocateStorage(dtype, size, false);
        expect(a.length).toBe(size);
        expect(a.every(Number.isNaN)).toBe(true);
      }
      const ints = allocateStorage("int32", size, false);
      expect(ints.every((v) => v === -2147483648)).toBe(true);
    }
  });

  it("has exactly the requested length and its own buffer above the slab size, poisoned or not", () => {
    for (const poison of [true, false]) {
      setStorageOptions({ poisonUninitialized: poison });
      const a = allocateStorage("float32", 100_000, false);
      expect(a.byteOffset).toBe(0);
      expect(a.buffer.byteLength).toBe(400_000);
      a.fill(3);
      // A later zero-filled request is zero whatever the memory held before.
      expect(allocateStorage("float32", 100_000).every((v) => v === 0)).toBe(true);
    }
  });

  it("rejects a poisonUninitialized that is not a boolean", () => {
    expect(() => setStorageOptions({ poisonUninitialized: 1 as unknown as boolean })).toThrow(ValueError);
  });
});
