import type { FloatArray, NumericArray } from "../types.js";
import type { ImportedMemory, WasmDType } from "./codegen.js";
import { ensureCapacity, HEAP_BASE, type WasmArena, wasmRuntime } from "./runtime.js";

/**
 * A generated module compiled against the runtime's unshared arena (`local`), for kernels that run on
 * the calling thread alone: compiled once per dtype on first use, with the scratch its calls copy
 * their arrays into, from HEAP_BASE (calls are synchronous and never overlap, so every call starts
 * there again). Copying into an unshared memory is about 3.5x faster than into the shared one.
 */

export interface LocalModule<K> {
  readonly arena: WasmArena;
  /** Bytes per element. */
  readonly es: number;
  readonly kernels: K;
}

export type ModuleBuild = (opts: ImportedMemory & { dtype: WasmDType }) => Uint8Array;

/**
 * A per-dtype lookup of the module `build` generates, compiled on its first call and cached, with
 * `kernels` picking the functions out of its exports. null without WASM SIMD or where compiling fails:
 * the callers then run their JS loops.
 */
export function localModules<K>(
  build: ModuleBuild,
  kernels: (exports: Record<string, unknown>) => K,
): (dtype: WasmDType) => LocalModule<K> | null {
  const cache: Record<WasmDType, LocalModule<K> | null | undefined> = {
    float32: undefined,
    float64: undefined,
  };
  return (dtype) => {
    const cached = cache[dtype];
    if (cached !== undefined) return cached;
    return (cache[dtype] = compile(dtype, build, kernels));
  };
}

function compile<K>(
  dtype: WasmDType,
  build: ModuleBuild,
  kernels: (exports: Record<string, unknown>) => K,
): LocalModule<K> | null {
  const rt = wasmRuntime();
  if (rt === null) return null;
  const arena = rt.local;
  try {
    const bytes = build({ dtype, shared: arena.shared, maxPages: arena.maxPages });
    const { exports } = new rt.api.Instance(new rt.api.Module(bytes), { env: { memory: arena.memory } });
    return { arena, es: dtype === "float32" ? 4 : 8, kernels: kernels(exports) };
  } catch {
    return null;
  }
}

/** `bytes` rounded up to whole 64-byte lines: one array's scratch slot. */
export function slotBytes(bytes: number): number {
  return (bytes + 63) & ~63;
}

/** Makes room for `bytes` of scratch from HEAP_BASE; false when the memory cannot grow that far. */
export function reserveScratch(m: LocalModule<unknown>, bytes: number): boolean {
  return ensureCapacity(m.arena, HEAP_BASE + bytes);
}

/** The arena seen as the module's dtype; read it after reserving (growth replaces the views). */
export function viewOf(m: LocalModule<unknown>): FloatArray {
  return m.es === 4 ? m.arena.f32 : m.arena.f64;
}

/** Copies src[start, start + len) to byte address `addr` of the view (elements of `es` bytes). */
export function copyIn(
  view: FloatArray,
  src: NumericArray,
  start: number,
  len: number,
  addr: number,
  es: number,
): void {
  view.set(start === 0 && len === src.length ? src : src.subarray(start, start + len), addr / es);
}

/** Copies `len` elements from byte address `addr` of the view to dst[start...]. */
export function copyOut(
  view: FloatArray,
  dst: NumericArray,
  start: number,
  len: number,
  addr: number,
  es: number,
): void {
  const at = addr / es;
  dst.set(view.subarray(at, at + len), start);
}
