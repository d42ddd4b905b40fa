/**
 * The ceiling for any WASM SIMD128 float32 kernel on this machine and Node version: GFLOP/s of a loop
 * that does nothing but f32x4 multiplies and adds on independent registers (no loads, no stores), on
 * one thread; and the same with relaxed SIMD's fused f32x4.relaxed_madd, which tapegrad's products use
 * where the runtime has it (kernels/wasm/relaxed-simd.ts). A GEMM also loads and packs, so it cannot
 * reach this; issue 5's W3 targets are judged against it in docs/performance.md.
 *
 *   node_modules/.bin/tsx --conditions=@tapegrad/source bench/kernels/simd-peak.ts [--samples N]
 */
import {
  F32,
  FunctionBuilder,
  I32,
  type Local,
  ModuleBuilder,
  V128,
} from "../../packages/autograd/src/kernels/wasm/assembler.js";
import { wasmApi } from "../../packages/autograd/src/kernels/wasm/platform.js";
import { relaxedSimdEnabled } from "../../packages/autograd/src/kernels/wasm/relaxed-simd.js";

/**
 * Independent accumulator chains to try: a chain's mul then add take ~6 cycles, so it takes about 12
 * in flight to keep two multipliers and two adders busy; 14 v128 locals no longer fit the 16 SIMD
 * registers V8 allocates and spill (measured here: 8 chains 36, 12 chains 46, 14 chains 24 GFLOP/s).
 */
const CHAIN_COUNTS = [8, 10, 12];

/**
 * peak(iterations) -> f32: each iteration does `chains` f32x4 muls and `chains` f32x4 adds, as
 * separate instructions or (fma) as `chains` relaxed multiply-adds.
 */
function buildPeakModule(chains: number, fma: boolean): Uint8Array {
  const f = new FunctionBuilder([I32], [F32]);
  const [count] = f.params as [Local];
  const acc: Local[] = [];
  for (let i = 0; i < chains; i++) acc.push(f.local(V128));
  const scale = f.local(V128);
  const shift = f.local(V128);
  f.f32Const(0.999).f32x4Splat().set(scale);
  f.f32Const(0.001).f32x4Splat().set(shift);
  for (let i = 0; i < chains; i++)
    f.f32Const(i + 1)
      .f32x4Splat()
      .set(acc[i]!);
  f.loop();
  for (let i = 0; i < chains; i++) {
    if (fma) f.get(acc[i]!).get(scale).get(shift).f32x4RelaxedMadd().set(acc[i]!);
    else f.get(acc[i]!).get(scale).f32x4Mul().get(shift).f32x4Add().set(acc[i]!);
  }
  f.get(count).i32Const(1).i32Sub().tee(count).brIf(0);
  f.end();
  // Sum the chains so none of the work can be dropped.
  f.get(acc[0]!);
  for (let i = 1; i < chains; i++) f.get(acc[i]!).f32x4Add();
  f.f32x4ExtractLane(0);
  const m = new ModuleBuilder();
  m.addFunction(f, "peak");
  return m.encode();
}

/** Whether the fused variant can run here (turns relaxed SIMD on where tapegrad would). */
export function fusedPeakAvailable(): boolean {
  return relaxedSimdEnabled();
}

/**
 * The compiled loop: run(iterations) does flopsPerIteration·iterations float32 operations. With fma
 * (check fusedPeakAvailable first) each multiply-add is one relaxed_madd.
 */
export function simdPeakKernel(
  chains = 12,
  fma = false,
): {
  run: (iterations: number) => number;
  flopsPerIteration: number;
} {
  const api = wasmApi();
  if (api === undefined) throw new Error("simd-peak: this runtime has no WebAssembly");
  const instance = new api.Instance(new api.Module(buildPeakModule(chains, fma)), {});
  return { run: instance.exports.peak as (iterations: number) => number, flopsPerIteration: chains * 2 * 4 };
}

function medianRate(chains: number, samples: number, fma: boolean): number {
  const { run: peak, flopsPerIteration } = simdPeakKernel(chains, fma);
  const iterations = 20_000_000;
  peak(1_000_000); // tier up
  const rates: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    peak(iterations);
    const seconds = (performance.now() - t0) / 1000;
    rates.push((iterations * flopsPerIteration) / seconds / 1e9);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

function main(): void {
  const samplesArg = process.argv.indexOf("--samples");
  const samples = samplesArg > 0 ? Number(process.argv[samplesArg + 1]) : 9;
  for (const fma of fusedPeakAvailable() ? [false, true] : [false]) {
    const what = fma ? "f32x4 relaxed_madd" : "f32x4 mul+add";
    let best = 0;
    for (const chains of CHAIN_COUNTS) {
      const rate = medianRate(chains, samples, fma);
      best = Math.max(best, rate);
      console.log(`${what}, ${chains} chains: median ${rate.toFixed(1)} GFLOP/s`);
    }
    console.log(`${what} peak, one thread: ${best.toFixed(1)} GFLOP/s (best median of ${samples} samples)`);
  }
}

if (import.meta.url === new URL(process.argv[1] ?? "", "file://").href) main();
