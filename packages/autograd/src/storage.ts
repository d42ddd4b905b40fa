import type { DType, TypedArray } from "./dtype.js";
import { ValueError } from "./errors.js";

/**
 * Where tensor storage comes from. Every typed array above 64 bytes gets its own ArrayBuffer, whose
 * backing store V8 allocates with malloc and frees on a background sweeper thread; on the 2-core
 * machine this project is measured on that costs 2.5-4 µs per array even for 300 floats, more than
 * the arithmetic of most ops at the sizes of the article's network. So arrays of 65 bytes to
 * SLAB_MAX_BYTES are carved, zero-filled, from shared 16 KiB slabs (the scheme of Node's Buffer
 * pool): 0.1-0.4 µs each. Arrays of 64 bytes or less are allocated inside V8's heap (already cheap);
 * larger ones get their own buffer.
 *
 * Carved arrays are never reused: a slab is freed by the garbage collector once no array in it is
 * reachable, so nothing is ever recycled under a user. The cost is that one small array kept alive
 * keeps its 16 KiB slab alive, and `array.buffer` is the whole slab: read a tensor's bytes through
 * byteOffset and byteLength. setSlabAllocation(false) turns carving off.
 */
const SLAB_BYTES = 16384;
const SLAB_MAX_BYTES = 2048;
const IN_HEAP_MAX_BYTES = 64;

let slabsEnabled = true;
let slab: ArrayBuffer | null = null;
let slabOffset = 0;

/** Turns carving small arrays from shared slabs on (the default) or off. */
export function setSlabAllocation(enabled: boolean): void {
  if (typeof enabled !== "boolean") {
    throw new ValueError(`setSlabAllocation: expected true or false, got ${String(enabled)}`);
  }
  slabsEnabled = enabled;
  if (!enabled) slab = null;
}

export function getSlabAllocation(): boolean {
  return slabsEnabled;
}

/** A zero-filled array of `size` elements of `dtype`. */
export function allocateStorage(dtype: DType, size: number): TypedArray {
  const bytesPerElement = dtype === "float64" ? 8 : 4;
  const bytes = size * bytesPerElement;
  if (slabsEnabled && bytes > IN_HEAP_MAX_BYTES && bytes <= SLAB_MAX_BYTES) {
    if (slab === null || slabOffset + bytes > SLAB_BYTES) {
      slab = new ArrayBuffer(SLAB_BYTES);
      slabOffset = 0;
    }
    const offset = slabOffset;
    // 8-byte steps keep every Float64Array view aligned.
    slabOffset = (offset + bytes + 7) & ~7;
    if (dtype === "float32") return new Float32Array(slab, offset, size);
    if (dtype === "float64") return new Float64Array(slab, offset, size);
    return new Int32Array(slab, offset, size);
  }
  if (dtype === "float32") return new Float32Array(size);
  if (dtype === "float64") return new Float64Array(size);
  return new Int32Array(size);
}
