import { FunctionBuilder, I32, ModuleBuilder } from "./assembler.js";
import {
  buildGemmModule,
  DEFAULT_SHAPES,
  type GemmExports,
  type GemmShape,
  type WasmDType,
} from "./gemm-module.js";
import { type WasmApi, type WasmMemory, wasmApi } from "./platform.js";
import { relaxedSimdEnabled } from "./relaxed-simd.js";

/**
 * Owns the WebAssembly memories the kernels work in and the compiled modules. Tensors live in ordinary
 * JS typed arrays; each call copies its operands in, works, and copies results out, so the memories
 * are scratch space reused by every call (calls are synchronous and never overlap).
 *
 * Two arenas: `local`, an unshared memory for calls on the calling thread alone, and the shared one
 * (the runtime itself) that helper threads also see. Copying a JS typed array into a memory backed by
 * a SharedArrayBuffer runs about 3.5x slower on Node 20 than into an unshared one (1 µs vs 3.6 µs
 * for 94 KB here), which is most of a small product's fixed cost, so only split products use it.
 */

const PAGE = 65536;
/** Bytes below this address belong to the thread control blocks (see workers.ts). */
export const CONTROL_BYTES = 4096;
export const HEAP_BASE = 65536;

export interface GemmEngine {
  readonly shape: GemmShape;
  readonly module: object;
  readonly fns: GemmExports;
}

/** One memory, the GEMM engines instantiated on it, and typed views of it (refreshed on growth). */
export interface WasmArena {
  readonly memory: WasmMemory;
  readonly shared: boolean;
  readonly maxPages: number;
  readonly engines: Record<WasmDType, GemmEngine>;
  f32: Float32Array;
  f64: Float64Array;
  i32: Int32Array;
}

/** The shared arena (helper threads attach to its memory) plus the unshared `local` one. */
export interface WasmRuntime extends WasmArena {
  readonly api: WasmApi;
  /** Unshared arena for single-thread calls; the runtime itself where memory cannot be shared. */
  readonly local: WasmArena;
}

let simdSupport: boolean | undefined;
let runtime: WasmRuntime | null | undefined;

/** True where WebAssembly with SIMD128 (and bulk memory) validates and compiles. */
export function wasmSimdSupported(): boolean {
  if (simdSupport !== undefined) return simdSupport;
  const api = wasmApi();
  simdSupport = false;
  if (!api) return false;
  try {
    // (i32) -> i32: splat, add to itself, extract lane 0: exercises the SIMD prefix end to end.
    const f = new FunctionBuilder([I32], [I32]);
    f.get(f.params[0]!).f32ConvertI32S().f32x4Splat();
    f.get(f.params[0]!).f32ConvertI32S().f32x4Splat();
    f.f32x4Add().f32x4ExtractLane(0).i32TruncF32S();
    const bytes = new ModuleBuilder();
    bytes.addFunction(f, "twice");
    const encoded = bytes.encode();
    if (!api.validate(encoded)) return false;
    const instance = new api.Instance(new api.Module(encoded), {});
    simdSupport = (instance.exports.twice as (x: number) => number)(21) === 42;
  } catch {
    simdSupport = false;
  }
  return simdSupport;
}

function createMemory(
  api: WasmApi,
  wantShared: boolean,
): { memory: WasmMemory; shared: boolean; maxPages: number } {
  const canShare = wantShared && typeof SharedArrayBuffer === "function" && typeof Atomics === "object";
  for (const maxPages of [65536, 16384, 4096]) {
    if (canShare) {
      try {
        return {
          memory: new api.Memory({ initial: 2, maximum: maxPages, shared: true }),
          shared: true,
          maxPages,
        };
      } catch {
        // fall through to a smaller or unshared memory
      }
    }
    try {
      return { memory: new api.Memory({ initial: 2, maximum: maxPages }), shared: false, maxPages };
    } catch {
      // try a smaller maximum
    }
  }
  throw new Error("wasm runtime: could not allocate a WebAssembly.Memory");
}

function compileEngine(
  api: WasmApi,
  memory: WasmMemory,
  shape: GemmShape,
  shared: boolean,
  maxPages: number,
) {
  const module = new api.Module(buildGemmModule({ shape, shared, maxPages }));
  const instance = new api.Instance(module, { env: { memory } });
  return { shape, module, fns: instance.exports as unknown as GemmExports };
}

function createArena(api: WasmApi, wantShared: boolean): WasmArena {
  const { memory, shared, maxPages } = createMemory(api, wantShared);
  const fma = relaxedSimdEnabled();
  const engines = {
    float32: compileEngine(api, memory, { ...DEFAULT_SHAPES.float32, fma }, shared, maxPages),
    float64: compileEngine(api, memory, { ...DEFAULT_SHAPES.float64, fma }, shared, maxPages),
  };
  return {
    memory,
    shared,
    maxPages,
    engines,
    f32: new Float32Array(memory.buffer),
    f64: new Float64Array(memory.buffer),
    i32: new Int32Array(memory.buffer),
  };
}

/**
 * The runtime, created and compiled synchronously on first use; null where WASM SIMD is unavailable
 * or the host refuses to compile or instantiate the modules (a content security policy without
 * 'wasm-unsafe-eval', no memory to spare): the JS kernels then do all the work.
 */
export function wasmRuntime(): WasmRuntime | null {
  if (runtime !== undefined) return runtime;
  const api = wasmApi();
  if (!api || !wasmSimdSupported()) return (runtime = null);
  try {
    const sharedArena = createArena(api, true);
    const local = sharedArena.shared ? createArena(api, false) : sharedArena;
    runtime = Object.assign(sharedArena, { api, local });
  } catch {
    runtime = null;
  }
  return runtime;
}

/**
 * Grows the memory to hold `bytes` bytes and refreshes the views; false when that exceeds the
 * memory's maximum (the caller then falls back to JS).
 */
export function ensureCapacity(arena: WasmArena, bytes: number): boolean {
  // Only this function grows the memory, so the views are current whenever they are large enough.
  const have = arena.f32.byteLength;
  if (bytes <= have) return true;
  if (bytes > have) {
    const needPages = Math.ceil(bytes / PAGE);
    const havePages = arena.memory.buffer.byteLength / PAGE;
    if (needPages > arena.maxPages) return false;
    // Grow geometrically so a sequence of slightly larger calls does not grow every time.
    const target = Math.min(arena.maxPages, Math.max(needPages, Math.ceil(havePages * 1.5)));
    try {
      arena.memory.grow(target - havePages);
    } catch {
      return false;
    }
  }
  const buffer = arena.memory.buffer;
  arena.f32 = new Float32Array(buffer);
  arena.f64 = new Float64Array(buffer);
  arena.i32 = new Int32Array(buffer);
  return true;
}
