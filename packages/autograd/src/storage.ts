import type { DType, TypedArray } from "./dtype.js";
import { AllocationError, ValueError } from "./errors.js";

/**
 * Where tensor storage comes from (1): small arrays. Every typed array above 64 bytes gets its own
 * ArrayBuffer, whose backing store V8 allocates with malloc and frees on a background sweeper thread;
 * on the 2-core machine this project is measured on that costs 2.5-4 µs per array even for 300
 * floats, more than the arithmetic of most ops at the sizes of the article's network. So arrays of 65 bytes to
 * SLAB_MAX_BYTES are carved, zero-filled, from shared 16 KiB slabs (the scheme of Node's Buffer
 * pool): 0.1-0.4 µs each. Arrays of 64 bytes or less are allocated inside V8's heap (already cheap);
 * larger ones get their own buffer.
 *
 * Carved arrays are never reused: a slab is freed by the garbage collector once no array in it is
 * reachable, so nothing is ever recycled under a user. The cost is that one small array kept alive
 * keeps its 16 KiB slab alive, and `array.buffer` is the whole slab: read a tensor's bytes through
 * byteOffset and byteLength. setStorageOptions({ slabs: false }) turns carving off.
 */
const SLAB_BYTES = 16384;
const SLAB_MAX_BYTES = 2048;
const IN_HEAP_MAX_BYTES = 64;

/*
 * Where tensor storage comes from (2): large internal buffers. A backward walk opens a PoolScope;
 * arrays that get their own buffer (above SLAB_MAX_BYTES; above 64 B with slabs off) allocated while
 * it is active come from a free list of equal-sized buffers (zero-filled again), and the walk hands
 * each one back as soon as no cotangent slot holds it any more (walk-buffers.ts). A fresh 128 KiB ArrayBuffer costs 30-50 µs here, a
 * reused one the 3 µs of zeroing it. Only the walk's own buffers are ever returned: gradients it
 * gives to the user (leaf .grad, the results of grad) are held to the end and never come back.
 */
const DEFAULT_POOL_BYTES = 64 * 1024 * 1024;

/*
 * Where tensor storage comes from (3): outputs a kernel overwrites. Most op outputs are written
 * element by element before anyone reads them, so zero-filling them first is wasted work, and on this
 * machine a zero-filled (calloc'd) large ArrayBuffer costs more than an uninitialised (malloc'd) one:
 * 5.8 MiB allocated and written, 0.46-0.57 ms against 0.30-0.35 (bench/kernels/alloc.ts), because
 * malloc can hand back warm memory the process freed earlier. In Node such buffers come from
 * Buffer.allocUnsafeSlow (numpy's empty, torch's empty); elsewhere, and for small arrays, the
 * zero-filled path is used. Only ops whose kernels write every element ask for them; in tests
 * (StorageOptions.poisonUninitialized, or TAPEGRAD_POISON_UNINITIALIZED=1) they are filled with NaN
 * (int32: -2147483648) so a kernel that reads before it writes shows up.
 */
const POISON_ENV = "TAPEGRAD_POISON_UNINITIALIZED";
interface UnsafeAllocator {
  allocUnsafeSlow(bytes: number): Uint8Array;
}
const nodeBuffer = (globalThis as { Buffer?: UnsafeAllocator }).Buffer;
let poisonUninitialized =
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[POISON_ENV] ===
  "1";

let slabsEnabled = true;
let maxTensorBytes = Number.POSITIVE_INFINITY;
let slab: ArrayBuffer | null = null;
let slabOffset = 0;
let poolLimitBytes = DEFAULT_POOL_BYTES;
let pooledBytes = 0;
const freeBuffers = new Map<number, ArrayBuffer[]>();

/** The buffers a backward walk has allocated and not yet handed back. */
export interface PoolScope {
  /** Every live buffer the walk allocated: only these may ever be handed back. */
  readonly owned: Set<ArrayBuffer>;
  /** Those allocated since the walk last looked (the current node's vjp). */
  readonly fresh: ArrayBuffer[];
}

let activeScope: PoolScope | null = null;

export interface StorageOptions {
  /** Carve 65 B - 2 KiB arrays from shared 16 KiB slabs (default true). */
  slabs: boolean;
  /** Most bytes of freed backward-walk buffers kept for reuse; 0 turns reuse off (default 64 MiB). */
  cotangentPoolBytes: number;
  /**
   * Largest tensor storage allowed, in bytes (default Infinity: only the engine's limit). A larger
   * one is an AllocationError naming the op, as one the engine cannot allocate is.
   */
  maxTensorBytes: number;
  /**
   * Fill storage that kernels are meant to overwrite with NaN (int32: -2147483648) instead of
   * leaving it as found, so a kernel that reads before it writes shows up in tests (default false, or
   * true when the environment has TAPEGRAD_POISON_UNINITIALIZED=1).
   */
  poisonUninitialized: boolean;
}

/** Changes how tensor storage is allocated (see StorageOptions); omitted fields keep their value. */
export function setStorageOptions(opts: Partial<StorageOptions>): void {
  if (opts === null || typeof opts !== "object") {
    throw new ValueError(`setStorageOptions: expected an object like { slabs: false }, got ${String(opts)}`);
  }
  const { slabs, cotangentPoolBytes, maxTensorBytes: maxBytes, poisonUninitialized: poison } = opts;
  if (
    maxBytes !== undefined &&
    !(maxBytes === Number.POSITIVE_INFINITY || (Number.isSafeInteger(maxBytes) && maxBytes >= 0))
  ) {
    throw new ValueError(
      `setStorageOptions: maxTensorBytes must be an integer >= 0 or Infinity, got ${String(maxBytes)}`,
    );
  }
  if (slabs !== undefined && typeof slabs !== "boolean") {
    throw new ValueError(`setStorageOptions: slabs must be true or false, got ${String(slabs)}`);
  }
  if (
    cotangentPoolBytes !== undefined &&
    !(Number.isSafeInteger(cotangentPoolBytes) && cotangentPoolBytes >= 0)
  ) {
    throw new ValueError(
      `setStorageOptions: cotangentPoolBytes must be an integer >= 0, got ${String(cotangentPoolBytes)}`,
    );
  }
  if (poison !== undefined && typeof poison !== "boolean") {
    throw new ValueError(
      `setStorageOptions: poisonUninitialized must be true or false, got ${String(poison)}`,
    );
  }
  if (poison !== undefined) poisonUninitialized = poison;
  if (maxBytes !== undefined) maxTensorBytes = maxBytes;
  if (slabs !== undefined) {
    slabsEnabled = slabs;
    if (!slabs) slab = null;
  }
  if (cotangentPoolBytes !== undefined) {
    poolLimitBytes = cotangentPoolBytes;
    if (pooledBytes > poolLimitBytes) {
      freeBuffers.clear();
      pooledBytes = 0;
    }
  }
}

export function getStorageOptions(): StorageOptions {
  return { slabs: slabsEnabled, cotangentPoolBytes: poolLimitBytes, maxTensorBytes, poisonUninitialized };
}

/** A new scope for a backward walk, or null when reuse is off. */
export function openPoolScope(): PoolScope | null {
  return poolLimitBytes > 0 ? { owned: new Set(), fresh: [] } : null;
}

/** Makes `scope` the one large allocations are drawn into (null: none); returns the previous one. */
export function activatePoolScope(scope: PoolScope | null): PoolScope | null {
  const previous = activeScope;
  activeScope = scope;
  return previous;
}

/** Hands a walk's buffer back for reuse (dropped instead when the pool is full). */
export function releaseToPool(scope: PoolScope, buffer: ArrayBuffer): void {
  if (!scope.owned.delete(buffer)) return;
  const bytes = buffer.byteLength;
  if (pooledBytes + bytes > poolLimitBytes) return;
  let list = freeBuffers.get(bytes);
  if (list === undefined) {
    list = [];
    freeBuffers.set(bytes, list);
  }
  list.push(buffer);
  pooledBytes += bytes;
}

/**
 * False for arrays too small to have their own buffer. Reading `.buffer` of such an array (kept
 * inside V8's heap) would move it out of the heap, which costs more than a whole small op.
 */
export function mayOwnBuffer(data: ArrayBufferView): boolean {
  return data.byteLength > IN_HEAP_MAX_BYTES;
}

/** Whether `buffer` sits in a free list now, i.e. may be handed out again (tests). */
export function isPooled(buffer: ArrayBufferLike): boolean {
  return freeBuffers.get(buffer.byteLength)?.includes(buffer as ArrayBuffer) ?? false;
}

/** Bytes held in the free lists now (tests). */
export function pooledStorageBytes(): number {
  return pooledBytes;
}

function freshBuffer(bytes: number, zeroed: boolean): ArrayBuffer {
  if (zeroed || nodeBuffer === undefined) return new ArrayBuffer(bytes);
  // allocUnsafeSlow never carves from Node's pool: its ArrayBuffer is exactly `bytes` long.
  const raw = nodeBuffer.allocUnsafeSlow(bytes);
  return raw.byteOffset === 0 && raw.buffer.byteLength === bytes
    ? (raw.buffer as ArrayBuffer)
    : new ArrayBuffer(bytes);
}

function ownBuffer(bytes: number, zeroed: boolean): ArrayBuffer {
  const scope = activeScope;
  if (scope === null) return freshBuffer(bytes, zeroed);
  const reused = freeBuffers.get(bytes)?.pop();
  let buffer: ArrayBuffer;
  if (reused === undefined) buffer = freshBuffer(bytes, zeroed);
  else {
    pooledBytes -= bytes;
    if (zeroed) new Uint8Array(reused).fill(0);
    buffer = reused;
  }
  scope.owned.add(buffer);
  scope.fresh.push(buffer);
  return buffer;
}

/**
 * A zero-filled array of `size` elements of `dtype` (`zeroed` false: contents unspecified, for a
 * kernel that writes every element; see (3) above). One that cannot be had is an AllocationError
 * (the op and shape are added on the way up: ops/util.ts empty(), tape.ts apply(), creation.ts).
 */
export function allocateStorage(dtype: DType, size: number, zeroed = true): TypedArray {
  const data = allocateStorageAs(dtype, size, zeroed);
  if (!zeroed && poisonUninitialized) {
    if (dtype === "int32") data.fill(-2147483648);
    else data.fill(Number.NaN);
  }
  return data;
}

function allocateStorageAs(dtype: DType, size: number, zeroed: boolean): TypedArray {
  const bytesPerElement = dtype === "float64" ? 8 : 4;
  const bytes = size * bytesPerElement;
  if (bytes > maxTensorBytes) {
    throw new AllocationError(
      null,
      null,
      dtype,
      size,
      bytes,
      `above StorageOptions.maxTensorBytes (${maxTensorBytes})`,
    );
  }
  if (bytes > SLAB_MAX_BYTES) {
    try {
      return allocateLarge(dtype, bytes, zeroed);
    } catch (e) {
      if (e instanceof RangeError) throw new AllocationError(null, null, dtype, size, bytes, e.message);
      throw e;
    }
  }
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
  if (bytes <= IN_HEAP_MAX_BYTES) {
    if (dtype === "float32") return new Float32Array(size);
    if (dtype === "float64") return new Float64Array(size);
    return new Int32Array(size);
  }
  return allocateLarge(dtype, bytes, zeroed);
}

function allocateLarge(dtype: DType, bytes: number, zeroed: boolean): TypedArray {
  if (!Number.isSafeInteger(bytes)) throw new RangeError("the size is not a safe integer");
  const buffer = ownBuffer(bytes, zeroed);
  if (dtype === "float32") return new Float32Array(buffer);
  if (dtype === "float64") return new Float64Array(buffer);
  return new Int32Array(buffer);
}
