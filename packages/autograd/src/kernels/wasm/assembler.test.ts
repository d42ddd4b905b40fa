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

  it("emits comparisons, bitwise selection, rounding, min/max, lane integer ops and shuffles that agree with JS", () => {
    const api = wasmApi()!;
    const mb = new ModuleBuilder().importMemory({ module: "env", field: "memory", minPages: 1 });
    // Each kernel: out(at 32) = op(a at 0, b at 16), one v128; `arity` says which operands it pushes.
    const kernels: Record<string, { arity: 1 | 2 | 3; emit: (f: FunctionBuilder) => FunctionBuilder }> = {
      f32x4Eq: { arity: 2, emit: (f) => f.f32x4Eq() },
      f32x4Ne: { arity: 2, emit: (f) => f.f32x4Ne() },
      f32x4Lt: { arity: 2, emit: (f) => f.f32x4Lt() },
      f32x4Gt: { arity: 2, emit: (f) => f.f32x4Gt() },
      f32x4Le: { arity: 2, emit: (f) => f.f32x4Le() },
      f32x4Ge: { arity: 2, emit: (f) => f.f32x4Ge() },
      f64x2Eq: { arity: 2, emit: (f) => f.f64x2Eq() },
      f64x2Ne: { arity: 2, emit: (f) => f.f64x2Ne() },
      f64x2Lt: { arity: 2, emit: (f) => f.f64x2Lt() },
      f64x2Gt: { arity: 2, emit: (f) => f.f64x2Gt() },
      f64x2Le: { arity: 2, emit: (f) => f.f64x2Le() },
      f64x2Ge: { arity: 2, emit: (f) => f.f64x2Ge() },
      f32x4Min: { arity: 2, emit: (f) => f.f32x4Min() },
      f32x4Max: { arity: 2, emit: (f) => f.f32x4Max() },
      f64x2Min: { arity: 2, emit: (f) => f.f64x2Min() },
      f64x2Max: { arity: 2, emit: (f) => f.f64x2Max() },
      f32x4Abs: { arity: 1, emit: (f) => f.f32x4Abs() },
      f32x4Neg: { arity: 1, emit: (f) => f.f32x4Neg() },
      f64x2Abs: { arity: 1, emit: (f) => f.f64x2Abs() },
      f64x2Neg: { arity: 1, emit: (f) => f.f64x2Neg() },
      f32x4Floor: { arity: 1, emit: (f) => f.f32x4Floor() },
      f32x4Nearest: { arity: 1, emit: (f) => f.f32x4Nearest() },
      f64x2Floor: { arity: 1, emit: (f) => f.f64x2Floor() },
      f64x2Nearest: { arity: 1, emit: (f) => f.f64x2Nearest() },
      v128Not: { arity: 1, emit: (f) => f.v128Not() },
      v128And: { arity: 2, emit: (f) => f.v128And() },
      v128Andnot: { arity: 2, emit: (f) => f.v128Andnot() },
      v128Or: { arity: 2, emit: (f) => f.v128Or() },
      v128Xor: { arity: 2, emit: (f) => f.v128Xor() },
      v128Bitselect: { arity: 3, emit: (f) => f.v128Bitselect() },
      i32x4Add: { arity: 2, emit: (f) => f.i32x4Add() },
      i32x4Sub: { arity: 2, emit: (f) => f.i32x4Sub() },
      i32x4Shl: { arity: 1, emit: (f) => f.i32Const(5).i32x4Shl() },
      i32x4ShrS: { arity: 1, emit: (f) => f.i32Const(7).i32x4ShrS() },
      i64x2Add: { arity: 2, emit: (f) => f.i64x2Add() },
      i64x2Shl: { arity: 1, emit: (f) => f.i32Const(52).i64x2Shl() },
      i32x4TruncSatF32x4S: { arity: 1, emit: (f) => f.i32x4TruncSatF32x4S() },
      f32x4ConvertI32x4S: { arity: 1, emit: (f) => f.f32x4ConvertI32x4S() },
      promoteDemote: {
        arity: 1,
        emit: (f) => f.f64x2PromoteLowF32x4().f64Const(2).f64x2Splat().f64x2Mul().f32x4DemoteF64x2Zero(),
      },
      i32x4Splat: { arity: 0 as 1, emit: (f) => f.i32Const(-123456).i32x4Splat() },
      transposePairs: {
        arity: 2,
        emit: (f) => f.i8x16Shuffle([0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23]),
      },
    };
    for (const [name, { arity, emit }] of Object.entries(kernels)) {
      const f = new FunctionBuilder([], []);
      f.i32Const(32);
      for (let k = 0; k < arity; k++) f.i32Const(16 * k).v128Load();
      emit(f).v128Store();
      mb.addFunction(f, name);
    }
    const scalarOps = new FunctionBuilder([I32, I32], [I32]);
    scalarOps.get(scalarOps.params[0]!).get(scalarOps.params[1]!).i32ShrS();
    scalarOps.get(scalarOps.params[0]!).get(scalarOps.params[1]!).i32ShrU().i32Or();
    mb.addFunction(scalarOps, "shrs_or_shru");
    const bytes = mb.encode();
    expect(api.validate(bytes)).toBe(true);
    const memory = new api.Memory({ initial: 1 });
    const { exports } = new api.Instance(new api.Module(bytes), { env: { memory } });
    const run = (name: string) => (exports[name] as () => void)();
    const f32 = new Float32Array(memory.buffer, 0, 12);
    const f64 = new Float64Array(memory.buffer, 0, 6);
    const i32 = new Int32Array(memory.buffer, 0, 12);
    const i64 = new BigInt64Array(memory.buffer, 0, 6);
    const mask = (c: boolean) => (c ? -1 : 0);
    const nearest = (x: number): number => {
      const fl = Math.floor(x);
      const d = x - fl;
      const r = d < 0.5 ? fl : d > 0.5 ? fl + 1 : fl % 2 === 0 ? fl : fl + 1;
      return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
    };
    const nanMin = (x: number, y: number) =>
      Number.isNaN(x) || Number.isNaN(y) ? Number.NaN : Math.min(x, y);
    const nanMax = (x: number, y: number) =>
      Number.isNaN(x) || Number.isNaN(y) ? Number.NaN : Math.max(x, y);
    const cmp: Record<string, (x: number, y: number) => boolean> = {
      Eq: (x, y) => x === y,
      Ne: (x, y) => x !== y,
      Lt: (x, y) => x < y,
      Gt: (x, y) => x > y,
      Le: (x, y) => x <= y,
      Ge: (x, y) => x >= y,
    };
    const special = fc.constantFrom(
      0,
      -0,
      0.5,
      1.5,
      2.5,
      -2.5,
      -0.4,
      1,
      Number.NaN,
      Infinity,
      -Infinity,
      1e-40,
    );
    const value = fc.oneof(special, fc.double({ min: -1e10, max: 1e10 }));
    fc.assert(
      fc.property(
        fc.array(value, { minLength: 4, maxLength: 4 }),
        fc.array(value, { minLength: 4, maxLength: 4 }),
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 12, maxLength: 12 }),
        (xs, ys, ints) => {
          for (const [lanes, view, round, p] of [
            [4, f32, Math.fround, "f32x4"],
            [2, f64, (v: number) => v, "f64x2"],
          ] as const) {
            const x = xs.slice(0, lanes).map(round);
            const y = ys.slice(0, lanes).map(round);
            const check = (
              name: string,
              ref: (i: number) => number,
              out: ArrayLike<number> = view,
              per = 1,
            ) => {
              view.set(x, 0);
              view.set(y, lanes);
              run(name);
              for (let i = 0; i < lanes; i++)
                for (let k = 0; k < per; k++)
                  expect(out[(2 * lanes + i) * per + k], `${name} lane ${i} of ${x} ${y}`).toBe(ref(i));
            };
            for (const [c, fn] of Object.entries(cmp))
              check(`${p}${c}`, (i) => mask(fn(x[i]!, y[i]!)), i32, 4 / lanes);
            check(`${p}Min`, (i) => nanMin(x[i]!, y[i]!));
            check(`${p}Max`, (i) => nanMax(x[i]!, y[i]!));
            check(`${p}Abs`, (i) => Math.abs(x[i]!));
            check(`${p}Neg`, (i) => -x[i]!);
            check(`${p}Floor`, (i) => Math.floor(x[i]!));
            check(`${p}Nearest`, (i) => nearest(x[i]!));
          }
          // Integer and bitwise lanes over random bits.
          const a = ints.slice(0, 4);
          const b = ints.slice(4, 8);
          const m = ints.slice(8, 12);
          const checkInt = (name: string, ref: (i: number) => number) => {
            i32.set([...a, ...b, ...m], 0);
            run(name);
            for (let i = 0; i < 4; i++) expect(i32[8 + i], `${name} lane ${i}`).toBe(ref(i));
          };
          checkInt("v128Not", (i) => ~a[i]!);
          checkInt("v128And", (i) => a[i]! & b[i]!);
          checkInt("v128Andnot", (i) => a[i]! & ~b[i]!);
          checkInt("v128Or", (i) => a[i]! | b[i]!);
          checkInt("v128Xor", (i) => a[i]! ^ b[i]!);
          checkInt("v128Bitselect", (i) => (a[i]! & m[i]!) | (b[i]! & ~m[i]!));
          checkInt("i32x4Add", (i) => (a[i]! + b[i]!) | 0);
          checkInt("i32x4Sub", (i) => (a[i]! - b[i]!) | 0);
          checkInt("i32x4Shl", (i) => a[i]! << 5);
          checkInt("i32x4ShrS", (i) => a[i]! >> 7);
          checkInt("i32x4Splat", () => -123456);
          checkInt("transposePairs", (i) => [a[0]!, b[0]!, a[1]!, b[1]!][i]!);
          i32.set([...a, ...b], 0);
          const a64 = [i64[0]!, i64[1]!];
          const b64 = [i64[2]!, i64[3]!];
          run("i64x2Add");
          for (let i = 0; i < 2; i++) expect(i64[4 + i]).toBe(BigInt.asIntN(64, a64[i]! + b64[i]!));
          i32.set([...a, ...b], 0);
          run("i64x2Shl");
          for (let i = 0; i < 2; i++) expect(i64[4 + i]).toBe(BigInt.asIntN(64, a64[i]! << 52n));
          // Conversions.
          f32.set(xs.map(Math.fround), 0);
          run("i32x4TruncSatF32x4S");
          for (let i = 0; i < 4; i++) {
            const v = Math.fround(xs[i]!);
            const t = Number.isNaN(v) ? 0 : Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.trunc(v))) + 0; // +0: integers have no -0
            expect(i32[8 + i]).toBe(t);
          }
          // promote lanes 0-1, double them in f64, demote: [2x0, 2x1, 0, 0]
          f32.set(xs.map(Math.fround), 0);
          run("promoteDemote");
          for (let i = 0; i < 4; i++)
            expect(f32[8 + i]).toBe(i < 2 ? Math.fround(2 * Math.fround(xs[i]!)) : 0);
          i32.set(a, 0);
          run("f32x4ConvertI32x4S");
          for (let i = 0; i < 4; i++) expect(f32[8 + i]).toBe(Math.fround(a[i]!));
          const shift = (exports.shrs_or_shru as (v: number, s: number) => number)(a[0]!, 3);
          expect(shift).toBe((a[0]! >> 3) | (a[0]! >>> 3));
        },
      ),
      { seed: 42, numRuns: 150 },
    );
    expect(() => new FunctionBuilder([], []).i8x16Shuffle([0, 1, 2])).toThrow(/16 lane indices/);
  });

  it("encodes the relaxed-SIMD multiply-adds with their two-byte LEB opcodes (0x105, 0x107)", () => {
    expect(new FunctionBuilder([], []).f32x4RelaxedMadd().code).toEqual([0xfd, 0x85, 0x02]);
    expect(new FunctionBuilder([], []).f64x2RelaxedMadd().code).toEqual([0xfd, 0x87, 0x02]);
  });

  it("rejects a shared memory import without a maximum", () => {
    expect(() =>
      new ModuleBuilder().importMemory({ module: "env", field: "m", minPages: 1, shared: true }),
    ).toThrow(/maxPages/);
  });
});
