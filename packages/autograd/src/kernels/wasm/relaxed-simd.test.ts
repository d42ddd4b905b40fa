import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { wasmFeatures } from "../backend.js";
import { gemmJs } from "../gemm-js.js";
import { buildGemmModule, DEFAULT_SHAPES, type GemmExports, type WasmDType } from "./gemm-module.js";
import { HEAP_BASE, wasmRuntime } from "./runtime.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../..");

/** x86-64 Linux hosts say in /proc/cpuinfo whether the cores have FMA3 (then relaxed_madd is fused). */
const hostHasFma =
  process.arch === "x64" &&
  existsSync("/proc/cpuinfo") &&
  / fma( |$)/m.test(readFileSync("/proc/cpuinfo", "utf8"));

/** C = A·B (row-major, no transposes) with a GEMM module compiled for `fma` on a memory of its own. */
function product(dtype: WasmDType, fma: boolean, a: number[], b: number[], m: number, n: number, k: number) {
  const shape = { ...DEFAULT_SHAPES[dtype], fma };
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4 });
  const bytes = buildGemmModule({ shape, shared: false, maxPages: 4 });
  const fns = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), {
    env: { memory },
  }).exports as unknown as GemmExports;
  const Arr = dtype === "float32" ? Float32Array : Float64Array;
  const es = Arr.BYTES_PER_ELEMENT;
  const view = new Arr(memory.buffer);
  const [aPtr, bPtr, apPtr, bpPtr, cPtr] = [0, 1, 2, 3, 4].map((i) => HEAP_BASE + i * 16384);
  view.set(a, aPtr / es);
  view.set(b, bPtr / es);
  const mTiles = Math.ceil(m / shape.mr);
  const nTiles = Math.ceil(n / shape.nr);
  fns.packA(aPtr, k * es, es, m, k, apPtr, 0, mTiles);
  fns.packB(bPtr, es, n * es, n, k, bpPtr, 0, nTiles);
  fns.compute(apPtr, bpPtr, cPtr, n * es, k, 0, mTiles, 0, nTiles, n);
  return Array.from(view.subarray(cPtr / es, cPtr / es + m * n));
}

describe("relaxed SIMD (fused multiply-add in the GEMM micro-kernel)", () => {
  it("is on by default on Node 20 (through V8's flag) and the runtime's products use it", () => {
    const features = wasmFeatures();
    expect(features.simd).toBe(true);
    expect(["runtime", "flag"]).toContain(features.relaxedSimd);
    expect(features.fusedMultiplyAdd).toBe(true);
    const rt = wasmRuntime()!;
    expect(rt.engines.float32.shape.fma).toBe(true);
    expect(rt.local.engines.float64.shape.fma).toBe(true);
  });

  // [1, 1+e]·[-(1+2e); 1+e] = -(1+2e) + (1+2e+e²) = e² exactly. Rounded separately, (1+e)² loses e² (it
  // is half an ulp of 1 or less) and the sum is 0; fused, the product is not rounded and the sum is e².
  const cases: [WasmDType, number][] = [
    ["float32", 2 ** -12],
    ["float64", 2 ** -27],
  ];
  for (const [dtype, e] of cases) {
    it(`${dtype}: the fused kernel rounds once, the plain one twice`, () => {
      const a = [1, 1 + e];
      const b = [-(1 + 2 * e), 1 + e];
      expect(product(dtype, false, a, b, 1, 1, 2)).toEqual([0]);
      const fused = product(dtype, true, a, b, 1, 1, 2)[0];
      // relaxed_madd may round twice where the CPU has no FMA; x86-64 cores with FMA3 fuse it.
      if (hostHasFma) expect(fused).toBe(e * e);
      else expect([0, e * e]).toContain(fused);
    });

    it(`${dtype}: fused and plain kernels agree with the JS reference on ragged shapes`, () => {
      const [m, n, k] = [7, 13, 37];
      let s = 17;
      const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
      const a = Array.from({ length: m * k }, next);
      const b = Array.from({ length: k * n }, next);
      const Arr = dtype === "float32" ? Float32Array : Float64Array;
      const expected = new Arr(m * n);
      gemmJs(Arr.from(a), 0, Arr.from(b), 0, expected, 0, m, n, k, false, false);
      const tol = dtype === "float32" ? 1e-5 : 1e-13;
      for (const fma of [false, true]) {
        const got = product(dtype, fma, Array.from(Arr.from(a)), Array.from(Arr.from(b)), m, n, k);
        for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(tol * k);
      }
    });
  }

  it("TAPEGRAD_RELAXED_SIMD=0 keeps multiply and add and leaves V8's flags alone", () => {
    const script = [
      'const v8 = await import("node:v8");',
      'const { wasmFeatures } = await import("@tapegrad/autograd");',
      "const f = wasmFeatures();",
      // With the flag untouched, a relaxed-SIMD module still does not validate on Node 20.
      "const probe = new Uint8Array([0,97,115,109,1,0,0,0,1,8,1,96,3,123,123,123,1,123,3,2,1,0,10,13,1,11,0,32,0,32,1,32,2,253,133,2,11]);",
      "console.log(JSON.stringify({ ...f, validates: WebAssembly.validate(probe), node: process.versions.node }));",
      "void v8;",
    ].join("\n");
    const run = spawnSync(
      process.execPath,
      ["--import", "tsx", "--conditions=@tapegrad/source", "--input-type=module", "-e", script],
      { cwd: root, env: { ...process.env, TAPEGRAD_RELAXED_SIMD: "0" }, encoding: "utf8" },
    );
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split("\n").pop()!);
    expect(out.simd).toBe(true);
    expect(out.relaxedSimd).toBe("off");
    expect(out.fusedMultiplyAdd).toBe(false);
    if (Number(String(out.node).split(".")[0]) < 22) expect(out.validates).toBe(false);
  });
});
