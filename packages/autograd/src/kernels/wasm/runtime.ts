import { FunctionBuilder, I32, ModuleBuilder } from "./assembler.js";
import {
  buildGemmModule,
  DEFAULT_SHAPES,
  type GemmExports,
  type GemmShape,
  type WasmDType,
} from "./gemm-module.js";
import { type WasmApi, type WasmMemory, wasmApi } from "./platform.js";

/**
 * Owns the one WebAssembly memory the kernels work in and the compiled GEMM modules. Tensors live in
 * ordinary JS typed arrays; each call copies its operands in, works, and copies C out, so the memory
 * is scratch space reused by every call (calls are synchronous and never overlap).
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

export interface WasmRuntime {
  readonly api: WasmApi;
  readonly memory: WasmMemory;
  readonly shared: boolean;
  readonly maxPages: number;
  readonly engines: Record<WasmDType, GemmEngine>;
  f32: Float32Array;
  f64: Float64Array;
  i32: Int32Array;
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

function createMemory(api: WasmApi): { memory: WasmMemory; shared: boolean; maxPages: number } {
  const canShare = typeof SharedArrayBuffer === "function" && typeof Atomics === "object";
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

/** The runtime, created and compiled synchronously on first use; null where WASM SIMD is unavailable. */
export function wasmRuntime(): WasmRuntime | null {
  if (runtime !== undefined) return runtime;
  const api = wasmApi();
  if (!api || !wasmSimdSupported()) return (runtime = null);
  const { memory, shared, maxPages } = createMemory(api);
  const engines = {
    float32: compileEngine(api, memory, DEFAULT_SHAPES.float32, shared, maxPages),
    float64: compileEngine(api, memory, DEFAULT_SHAPES.float64, shared, maxPages),
  };
  runtime = {
    api,
    memory,
    shared,
    maxPages,
    engines,
    f32: new Float32Array(memory.buffer),
    f64: new Float64Array(memory.buffer),
    i32: new Int32Array(memory.buffer),
  };
  return runtime;
}

/**
 * Grows the memory to hold `bytes` bytes and refreshes the views; false when that exceeds the
 * memory's maximum (the caller then falls back to JS).
 */
export function ensureCapacity(rt: WasmRuntime, bytes: number): boolean {
  // Only this function grows the memory, so the views are current whenever they are large enough.
  const have = rt.f32.byteLength;
  if (bytes <= have) return true;
  if (bytes > have) {
    const needPages = Math.ceil(bytes / PAGE);
    const havePages = rt.memory.buffer.byteLength / PAGE;
    if (needPages > rt.maxPages) return false;
    // Grow geometrically so a sequence of slightly larger calls does not grow every time.
    const target = Math.min(rt.maxPages, Math.max(needPages, Math.ceil(havePages * 1.5)));
    try {
      rt.memory.grow(target - havePages);
    } catch {
      return false;
    }
  }
  const buffer = rt.memory.buffer;
  rt.f32 = new Float32Array(buffer);
  rt.f64 = new Float64Array(buffer);
  rt.i32 = new Int32Array(buffer);
  return true;
}
