/**
 * The few host APIs the WASM backend touches, typed locally and looked up on globalThis, so the
 * package needs neither DOM nor Node type definitions and never imports Node-only modules statically.
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
}

interface HostProcess {
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}

export function wasmApi(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

export function hostProcess(): HostProcess | undefined {
  const p = (globalThis as { process?: HostProcess }).process;
  return typeof p === "object" && p !== null ? p : undefined;
}

export function envVar(key: string): string | undefined {
  return hostProcess()?.env?.[key];
}

/** A Node built-in module when running on Node >= 20.16 (process.getBuiltinModule), else undefined. */
export function nodeBuiltin<T>(id: string): T | undefined {
  const get = hostProcess()?.getBuiltinModule;
  if (typeof get !== "function") return undefined;
  try {
    return get(id) as T | undefined;
  } catch {
    return undefined;
  }
}

/** Number of cores the host reports (1 when unknown). */
export function availableCores(): number {
  const os = nodeBuiltin<{ availableParallelism?: () => number; cpus: () => unknown[] }>("node:os");
  if (os) return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}

/** A monotonic clock in milliseconds (performance.now where present). */
export function nowMs(): number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  return perf ? perf.now() : Date.now();
}
