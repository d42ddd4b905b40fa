import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { F32, F64, FunctionBuilder, I32, type Local, ModuleBuilder, sleb, uleb } from "./assembler.js";
import { wasmApi } from "./platform.js";
import { wasmSimdSupported } from "./runtime.js";

function decodeUleb(bytes: number[]): number {
  let result = 0;
  let shift = 0;
  for (const byte of bytes) {
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  }
  return result;
}

function decodeSleb(bytes: number[]): number {
  let result = 0;
  let shift = 0;
  for (const byte of bytes) {
    result |= (byte & 0x7f) << shift;
    shift += 7;
  }
  const last = bytes[bytes.length - 1]!;
  if (shift < 32 && (last & 0x40) !== 0) result |= -1 << shift;
  return result;
}

describe("LEB128", () => {
  it("round-trips unsigned and signed 32-bit values with minimal length", () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([127]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (v) => decodeUleb(uleb(v)) === v),
      { seed: 42, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => decodeSleb(sleb(v)) === v),
      { seed: 42, numRuns: 300 },
    );
  });
});

describe("assembler", () => {
  it("reports SIMD support on this Node", () => {
    expect(wasmSimdSupported()).toBe(true);
  });

  it("emits a SIMD kernel that adds float64 vectors in an imported shared memory", () => {
    const api = wasmApi()!;
    // add2(x, y, out, count): out[i] = x[i] + y[i], two lanes at a time.
    const f = new FunctionBuilder([I32, I32, I32, I32], []);
    const [x, y, out, count] = f.params as [Local, Local, Local, Local];
    f.loop();
    f.get(out).get(x).v128Load().get(y).v128Load().f64x2Add().v128Store();
    for (const p of [x, y, out]) f.get(p).i32Const(16).i32Add().set(p);
    f.get(count).i32Const(2).i32Sub().tee(count).i32Const(0).i32GtS().brIf(0);
    f.end();
    const scale = new FunctionBuilder([F64], [F64]);
    scale.get(scale.params[0]!).f64Const(0.5).f64Mul();
    const mb = new ModuleBuilder().importMemory({
      module: "env",
      field: "memory",
      minPages: 1,
      maxPages: 4,
      shared: true,
    });
    mb.addFunction(f, "add2");
    mb.addFunction(scale, "half");
    const bytes = mb.encode();
    expect(api.validate(bytes)).toBe(true);
    const memory = new api.Memory({ initial: 1, maximum: 4, shared: true });
    const { exports } = new api.Instance(new api.Module(bytes), { env: { memory } });
    const view = new Float64Array(memory.buffer);
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 2, maxLength: 64 }),
        (xs) => {
          const len = xs.length & ~1;
          view.set(xs.slice(0, len), 0);
          view.set(
            xs.slice(0, len).map((v) => v * 3),
            64,
          );
          (exports.add2 as (x: number, y: number, out: number, count: number) => void)(0, 512, 1024, len);
          for (let i = 0; i < len; i++) expect(view[128 + i]).toBe(xs[i]! + xs[i]! * 3);
        },
      ),
      { seed: 42, numRuns: 50 },
    );
    expect((exports.half as (v: number) => number)(3)).toBe(1.5);
  });

  it("emits sub, div, sqrt, pmax and lt that agree with JS, in SIMD lanes and as scalars", () => {
    const api = wasmApi()!;
    type Op = "add" | "sub" | "mul" | "div" | "sqrt" | "pmax" | "lt";
    const ops: Op[] = ["add", "sub", "mul", "div", "sqrt", "pmax", "lt"];
    const mb = new ModuleBuilder().importMemory({ module: "env", field: "memory", minPages: 1 });
    for (const dtype of ["f32", "f64"] as const) {
      const vec = {
        add: (f: FunctionBuilder) => (dtype === "f32" ? f.f32x4Add() : f.f64x2Add()),
        sub: (f: FunctionBuilder) => (dtype === "f32" ? f.f32x4Sub() : f.f64x2Sub()),
        mul: (f: FunctionBuilder) => (dtype === "f32" ? f.f32x4Mul() : f.f64x2Mul()),
        div: (f: FunctionBuilder) => (dtype === "f32" ? f.f32x4Div() : f.f64x2Div()),
        sqrt: (f: FunctionBuilder) => (dtype === "f32" ? f.f32x4Sqrt() : f.f64x2Sqrt()),
        pmax: (f: FunctionBuilder) => (dtype === "f32" ? f.f32x4Pmax() : f.f64x2Pmax()),
      };
      const scalar = {
        add: (f: FunctionBuilder) => (dtype === "f32" ? f.f32Add() : f.f64Add()),
        sub: (f: FunctionBuilder) => (dtype === "f32" ? f.f32Sub() : f.f64Sub()),
        mul: (f: FunctionBuilder) => (dtype === "f32" ? f.f32Mul() : f.f64Mul()),
        div: (f: FunctionBuilder) => (dtype === "f32" ? f.f32Div() : f.f64Div()),
        sqrt: (f: FunctionBuilder) => (dtype === "f32" ? f.f32Sqrt() : f.f64Sqrt()),
        lt: (f: FunctionBuilder) => (dtype === "f32" ? f.f32Lt() : f.f64Lt()),
      };
      for (const [name, emit] of Object.entries(vec)) {
        // v_<op>(a, b, out): out = op(a, b) lane-wise over one v128 (sqrt ignores b).
        const f = new FunctionBuilder([I32, I32, I32], []);
        const [a, b, out] = f.params as [Local, Local, Local];
        f.get(out).get(a).v128Load();
        if (name !== "sqrt") f.get(b).v128Load();
        emit(f).v128Store();
        mb.addFunction(f, `v_${name}_${dtype}`);
      }
      for (const [name, emit] of Object.entries(scalar)) {
        const t = dtype === "f32" ? F32 : F64;
        const f = new FunctionBuilder([t, t], [name === "lt" ? I32 : t]);
        f.get(f.params[0]!);
        if (name !== "sqrt") f.get(f.params[1]!);
        emit(f);
        mb.addFunction(f, `s_${name}_${dtype}`);
      }
    }
    const bytes = mb.encode();
    expect(api.validate(bytes)).toBe(true);
    const memory = new api.Memory({ initial: 1 });
    const { exports } = new api.Instance(new api.Module(bytes), { env: { memory } });
    const reference = (op: Op, x: number, y: number, round: (v: number) => number): number => {
      switch (op) {
        case "add":
          return round(x + y);
        case "sub":
          return round(x - y);
        case "mul":
          return round(x * y);
        case "div":
          return round(x / y);
        case "sqrt":
          return round(Math.sqrt(x));
        case "pmax":
          return x < y ? y : x;
        case "lt":
          return x < y ? 1 : 0;
      }
    };
    const special = fc.constantFrom(0, -0, 1, -1, Number.NaN, Infinity, -Infinity, 1e-40, 3.5);
    const value = fc.oneof(special, fc.double({ min: -1e30, max: 1e30 }));
    for (const dtype of ["f32", "f64"] as const) {
      const lanes = dtype === "f32" ? 4 : 2;
      const round = dtype === "f32" ? Math.fround : (v: number) => v;
      const view = dtype === "f32" ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer);
      fc.assert(
        fc.property(
          fc.array(value, { minLength: lanes, maxLength: lanes }),
          fc.array(value, { minLength: lanes, maxLength: lanes }),
          (xs, ys) => {
            view.set(xs, 0);
            view.set(ys, lanes);
            const x = Array.from(view.subarray(0, lanes));
            const y = Array.from(view.subarray(lanes, 2 * lanes));
            for (const op of ops) {
              if (op !== "lt") {
                const vf = exports[`v_${op}_${dtype}`] as (a: number, b: number, out: number) => void;
                vf(0, 16, 32);
                for (let i = 0; i < lanes; i++) {
                  expect(view[2 * lanes + i], `${op} ${dtype} lane ${i}`).toBe(
                    reference(op, x[i]!, y[i]!, round),
                  );
                }
              }
              if (op !== "pmax") {
                const sf = exports[`s_${op}_${dtype}`] as (a: number, b: number) => number;
                expect(sf(x[0]!, y[0]!), `${op} ${dtype} scalar`).toBe(reference(op, x[0]!, y[0]!, round));
              }
            }
          },
        ),
        { seed: 42, numRuns: 200 },
      );
    }
  });

  it("rejects a shared memory import without a maximum", () => {
    expect(() =>
      new ModuleBuilder().importMemory({ module: "env", field: "m", minPages: 1, shared: true }),
    ).toThrow(/maxPages/);
  });
});
