import { F32, FunctionBuilder, ModuleBuilder } from "./assembler.js";
import { envVar, nodeBuiltin, wasmApi } from "./platform.js";

/**
 * Fused multiply-add for the GEMM micro-kernel, from WebAssembly's relaxed-SIMD proposal
 * (`f32x4.relaxed_madd`, `f64x2.relaxed_madd`: a·b + c, rounded once where the CPU has FMA, twice
 * where it does not). It ships on by default in V8 11.4+ (Chrome 114, Node 22); Node 20's V8 11.3 has it
 * behind `--experimental-wasm-relaxed-simd`, which this module turns on (v8.setFlagsFromString) before
 * the kernels are compiled. On an x86 core whose multiplies and adds share ports (Intel since Skylake),
 * one fused op per multiply-add instead of two is 1.15-1.2x on the products here.
 *
 * TAPEGRAD_RELAXED_SIMD=0 keeps the separate multiply and add everywhere (and never touches V8's flags);
 * `wasmFeatures()` says what the kernels use.
 */

export type RelaxedSimdSource = "runtime" | "flag" | "off" | "unsupported";

let decided: RelaxedSimdSource | undefined;

const V8_FLAG = "--experimental-wasm-relaxed-simd";

/** A module whose function computes a·b + c on f32 lanes with relaxed_madd (lane 0 returned). */
function probeModule(): Uint8Array {
  const f = new FunctionBuilder([F32, F32, F32], [F32]);
  const [a, b, c] = f.params;
  f.get(a!).f32x4Splat().get(b!).f32x4Splat().get(c!).f32x4Splat().f32x4RelaxedMadd().f32x4ExtractLane(0);
  const m = new ModuleBuilder();
  m.addFunction(f, "madd");
  return m.encode();
}

/** Whether relaxed_madd validates, compiles and computes a·b + c here. */
function probe(): boolean {
  const api = wasmApi();
  if (!api) return false;
  try {
    const bytes = probeModule();
    if (!api.validate(bytes)) return false;
    const madd = new api.Instance(new api.Module(bytes), {}).exports.madd as (
      a: number,
      b: number,
      c: number,
    ) => number;
    return madd(3, 5, 7) === 22;
  } catch {
    return false;
  }
}

/**
 * How the kernels get relaxed SIMD, decided once on first use: 'runtime' (the engine has it on),
 * 'flag' (Node 20: turned on through V8's flag here), 'off' (TAPEGRAD_RELAXED_SIMD=0), 'unsupported'.
 */
export function relaxedSimdSource(): RelaxedSimdSource {
  if (decided !== undefined) return decided;
  if (envVar("TAPEGRAD_RELAXED_SIMD") === "0") return (decided = "off");
  if (probe()) return (decided = "runtime");
  const v8 = nodeBuiltin<{ setFlagsFromString(flags: string): void }>("node:v8");
  if (v8 !== undefined) {
    try {
      v8.setFlagsFromString(V8_FLAG);
      if (probe()) return (decided = "flag");
    } catch {
      // an engine that refuses the flag: stay with multiply and add
    }
  }
  return (decided = "unsupported");
}

/** True when the GEMM kernels compiled from now on use fused multiply-adds. */
export function relaxedSimdEnabled(): boolean {
  const source = relaxedSimdSource();
  return source === "runtime" || source === "flag";
}
