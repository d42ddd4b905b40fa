/**
 * A small WebAssembly binary assembler: enough of the module format, the scalar ISA and SIMD128
 * to emit the kernels from TypeScript at run time, so no compiler or build step is needed.
 * Reference: the WebAssembly core specification 2.0 (binary format) and the SIMD proposal.
 */

/** Value types, as their binary encodings. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

/** Unsigned LEB128, as used for indices, sizes and memory offsets. */
export function uleb(value: number, out: number[] = []): number[] {
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 for 32-bit constants. */
export function sleb(value: number, out: number[] = []): number[] {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** Names here are ASCII (export and import names we choose), so UTF-8 is one byte per character. */
function utf8(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code > 0x7f) throw new RangeError(`assembler: non-ASCII name '${s}'`);
    out.push(code);
  }
  return out;
}

function vec(items: number[][]): number[] {
  const out = uleb(items.length);
  for (const item of items) out.push(...item);
  return out;
}

function name(s: string): number[] {
  const bytes = utf8(s);
  return [...uleb(bytes.length), ...bytes];
}

/** log2 of an access width in bytes: the natural alignment hint of a memarg. */
function alignOf(bytes: number): number {
  return Math.log2(bytes);
}

/** A local variable handle; the index is what the instructions encode. */
export interface Local {
  readonly index: number;
  readonly type: ValType;
}

/**
 * Builds one function body. Methods append instructions in stack-machine order and return `this`,
 * so a body reads top to bottom like the wasm text format.
 */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  readonly params: Local[];

  constructor(
    readonly paramTypes: readonly ValType[],
    readonly resultTypes: readonly ValType[],
  ) {
    this.params = paramTypes.map((type, index) => ({ index, type }));
  }

  /** Declares a new local of the given type. */
  local(type: ValType): Local {
    const local = { index: this.paramTypes.length + this.localTypes.length, type };
    this.localTypes.push(type);
    return local;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private memOp(opcode: number[], widthBytes: number, offset: number): this {
    return this.op(...opcode, ...uleb(alignOf(widthBytes)), ...uleb(offset));
  }

  private simd(opcode: number): this {
    return this.op(0xfd, ...uleb(opcode));
  }

  // Control flow.
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if(): this {
    return this.op(0x04, 0x40);
  }
  else(): this {
    return this.op(0x05);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    return this.op(0x0c, ...uleb(depth));
  }
  brIf(depth: number): this {
    return this.op(0x0d, ...uleb(depth));
  }
  return(): this {
    return this.op(0x0f);
  }
  call(funcIndex: number): this {
    return this.op(0x10, ...uleb(funcIndex));
  }
  drop(): this {
    return this.op(0x1a);
  }
  select(): this {
    return this.op(0x1b);
  }

  // Locals.
  get(l: Local): this {
    return this.op(0x20, ...uleb(l.index));
  }
  set(l: Local): this {
    return this.op(0x21, ...uleb(l.index));
  }
  tee(l: Local): this {
    return this.op(0x22, ...uleb(l.index));
  }

  // Scalar memory access; offsets are static byte offsets added to the address on the stack.
  i32Load(offset = 0): this {
    return this.memOp([0x28], 4, offset);
  }
  f32Load(offset = 0): this {
    return this.memOp([0x2a], 4, offset);
  }
  f64Load(offset = 0): this {
    return this.memOp([0x2b], 8, offset);
  }
  i32Store(offset = 0): this {
    return this.memOp([0x36], 4, offset);
  }
  f32Store(offset = 0): this {
    return this.memOp([0x38], 4, offset);
  }
  f64Store(offset = 0): this {
    return this.memOp([0x39], 8, offset);
  }

  // Scalar arithmetic.
  i32Const(v: number): this {
    return this.op(0x41, ...sleb(v));
  }
  f32Const(v: number): this {
    const bytes = new Uint8Array(new Float32Array([v]).buffer);
    return this.op(0x43, ...bytes);
  }
  f64Const(v: number): this {
    const bytes = new Uint8Array(new Float64Array([v]).buffer);
    return this.op(0x44, ...bytes);
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32Eq(): this {
    return this.op(0x46);
  }
  i32Ne(): this {
    return this.op(0x47);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32GtS(): this {
    return this.op(0x4a);
  }
  i32LeS(): this {
    return this.op(0x4c);
  }
  i32GeS(): this {
    return this.op(0x4e);
  }
  i32GeU(): this {
    return this.op(0x4f);
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Shl(): this {
    return this.op(0x74);
  }
  f32Lt(): this {
    return this.op(0x5d);
  }
  f64Lt(): this {
    return this.op(0x63);
  }
  f32Ne(): this {
    return this.op(0x5c);
  }
  f64Ne(): this {
    return this.op(0x62);
  }
  f32Sqrt(): this {
    return this.op(0x91);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f32Sub(): this {
    return this.op(0x93);
  }
  f32Mul(): this {
    return this.op(0x94);
  }
  f32Div(): this {
    return this.op(0x95);
  }
  i32TruncF32S(): this {
    return this.op(0xa8);
  }
  f32ConvertI32S(): this {
    return this.op(0xb2);
  }
  f64Sqrt(): this {
    return this.op(0x9f);
  }
  f64Add(): this {
    return this.op(0xa0);
  }
  f64Sub(): this {
    return this.op(0xa1);
  }
  f64Mul(): this {
    return this.op(0xa2);
  }
  f64Div(): this {
    return this.op(0xa3);
  }

  // Bulk memory (part of wasm 2.0; Node 20 supports it).
  memoryCopy(): this {
    return this.op(0xfc, ...uleb(10), 0x00, 0x00);
  }
  memoryFill(): this {
    return this.op(0xfc, ...uleb(11), 0x00);
  }

  // SIMD128.
  v128Load(offset = 0): this {
    return this.op(0xfd, ...uleb(0x00), ...uleb(4), ...uleb(offset));
  }
  v128Load32Splat(offset = 0): this {
    return this.op(0xfd, ...uleb(0x09), ...uleb(2), ...uleb(offset));
  }
  v128Load64Splat(offset = 0): this {
    return this.op(0xfd, ...uleb(0x0a), ...uleb(3), ...uleb(offset));
  }
  v128Store(offset = 0): this {
    return this.op(0xfd, ...uleb(0x0b), ...uleb(4), ...uleb(offset));
  }
  v128Const(bytes: readonly number[]): this {
    if (bytes.length !== 16) throw new RangeError(`v128.const: expected 16 bytes, got ${bytes.length}`);
    return this.simd(0x0c).op(...bytes);
  }
  v128Zero(): this {
    return this.v128Const(new Array<number>(16).fill(0));
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f64x2Splat(): this {
    return this.simd(0x14);
  }
  f32x4ExtractLane(lane: number): this {
    return this.simd(0x1f).op(lane);
  }
  f64x2ExtractLane(lane: number): this {
    return this.simd(0x21).op(lane);
  }
  f32x4Sqrt(): this {
    return this.simd(0xe3);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  f32x4Div(): this {
    return this.simd(0xe7);
  }
  /** Pseudo-maximum: b where a < b, else a (no NaN propagation from b; JS `a < b ? b : a`). */
  f32x4Pmax(): this {
    return this.simd(0xeb);
  }
  /** Relaxed SIMD: a·b + c, fused or not as the hardware does (the relaxed-simd proposal). */
  f32x4RelaxedMadd(): this {
    return this.simd(0x105);
  }
  /** Relaxed SIMD: a·b + c for two f64 lanes, fused or not as the hardware does. */
  f64x2RelaxedMadd(): this {
    return this.simd(0x107);
  }
  f64x2Sqrt(): this {
    return this.simd(0xef);
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2Sub(): this {
    return this.simd(0xf1);
  }
  f64x2Mul(): this {
    return this.simd(0xf2);
  }
  f64x2Div(): this {
    return this.simd(0xf3);
  }
  /** Pseudo-maximum, as f32x4Pmax. */
  f64x2Pmax(): this {
    return this.simd(0xf7);
  }

  // Elementwise block: comparisons (all-ones / all-zeros lane masks), bitwise selection, rounding,
  // lane integer arithmetic for exponent-bit tricks, min/max/abs/neg and shuffles. Opcodes from the
  // SIMD proposal's final binary encoding.
  /** i8x16.shuffle: byte i of the result is byte lanes[i] of a‖b (0-15 from a, 16-31 from b). */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) {
      throw new RangeError(`i8x16.shuffle: expected 16 lane indices in 0..31, got [${lanes.join(", ")}]`);
    }
    return this.simd(0x0d).op(...lanes);
  }
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  f32x4Eq(): this {
    return this.simd(0x41);
  }
  f32x4Ne(): this {
    return this.simd(0x42);
  }
  f32x4Lt(): this {
    return this.simd(0x43);
  }
  f32x4Gt(): this {
    return this.simd(0x44);
  }
  f32x4Le(): this {
    return this.simd(0x45);
  }
  f32x4Ge(): this {
    return this.simd(0x46);
  }
  f64x2Eq(): this {
    return this.simd(0x47);
  }
  f64x2Ne(): this {
    return this.simd(0x48);
  }
  f64x2Lt(): this {
    return this.simd(0x49);
  }
  f64x2Gt(): this {
    return this.simd(0x4a);
  }
  f64x2Le(): this {
    return this.simd(0x4b);
  }
  f64x2Ge(): this {
    return this.simd(0x4c);
  }
  v128Not(): this {
    return this.simd(0x4d);
  }
  v128And(): this {
    return this.simd(0x4e);
  }
  /** a & ~b */
  v128Andnot(): this {
    return this.simd(0x4f);
  }
  v128Or(): this {
    return this.simd(0x50);
  }
  v128Xor(): this {
    return this.simd(0x51);
  }
  /** (a & mask) | (b & ~mask), operands pushed a, b, mask. */
  v128Bitselect(): this {
    return this.simd(0x52);
  }
  f32x4Floor(): this {
    return this.simd(0x68);
  }
  /** Round to nearest, ties to even. */
  f32x4Nearest(): this {
    return this.simd(0x6a);
  }
  f64x2Floor(): this {
    return this.simd(0x75);
  }
  f64x2Nearest(): this {
    return this.simd(0x94);
  }
  i32x4Shl(): this {
    return this.simd(0xab);
  }
  i32x4ShrS(): this {
    return this.simd(0xac);
  }
  i32x4Add(): this {
    return this.simd(0xae);
  }
  i32x4Sub(): this {
    return this.simd(0xb1);
  }
  i64x2Shl(): this {
    return this.simd(0xcb);
  }
  i64x2Add(): this {
    return this.simd(0xce);
  }
  f32x4Abs(): this {
    return this.simd(0xe0);
  }
  f32x4Neg(): this {
    return this.simd(0xe1);
  }
  /** NaN-propagating minimum (either operand NaN gives NaN; -0 < +0). */
  f32x4Min(): this {
    return this.simd(0xe8);
  }
  f32x4Max(): this {
    return this.simd(0xe9);
  }
  f64x2Abs(): this {
    return this.simd(0xec);
  }
  f64x2Neg(): this {
    return this.simd(0xed);
  }
  f64x2Min(): this {
    return this.simd(0xf4);
  }
  f64x2Max(): this {
    return this.simd(0xf5);
  }
  /** Lanes 0-1 of the f32x4 widened to f64x2. */
  f64x2PromoteLowF32x4(): this {
    return this.simd(0x5f);
  }
  /** The f64x2 rounded to f32 in lanes 0-1, lanes 2-3 zero. */
  f32x4DemoteF64x2Zero(): this {
    return this.simd(0x5e);
  }
  i32x4TruncSatF32x4S(): this {
    return this.simd(0xf8);
  }
  f32x4ConvertI32x4S(): this {
    return this.simd(0xfa);
  }
  i32ShrS(): this {
    return this.op(0x75);
  }
  i32ShrU(): this {
    return this.op(0x76);
  }
  i32Or(): this {
    return this.op(0x72);
  }

  /** The code section entry: locals (run-length grouped by type) then the body and its `end`. */
  encode(): number[] {
    const groups: number[][] = [];
    for (let i = 0; i < this.localTypes.length; ) {
      let j = i;
      while (j < this.localTypes.length && this.localTypes[j] === this.localTypes[i]) j++;
      groups.push([...uleb(j - i), this.localTypes[i]!]);
      i = j;
    }
    const body = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

export interface MemoryImport {
  module: string;
  field: string;
  minPages: number;
  maxPages?: number;
  shared?: boolean;
}

/** Collects functions and exports and encodes the module's sections. */
export class ModuleBuilder {
  private readonly functions: { builder: FunctionBuilder; exportName?: string }[] = [];
  private memory: MemoryImport | undefined;

  importMemory(memory: MemoryImport): this {
    if (memory.shared && memory.maxPages === undefined) {
      throw new RangeError("importMemory: a shared memory needs maxPages");
    }
    this.memory = memory;
    return this;
  }

  /** Adds a function; the returned index is what `call` takes (no function imports, so it starts at 0). */
  addFunction(builder: FunctionBuilder, exportName?: string): number {
    this.functions.push(exportName === undefined ? { builder } : { builder, exportName });
    return this.functions.length - 1;
  }

  encode(): Uint8Array {
    const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
    const types = this.functions.map(({ builder }) => [
      0x60,
      ...vec(builder.paramTypes.map((t) => [t])),
      ...vec(builder.resultTypes.map((t) => [t])),
    ]);
    const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    bytes.push(...section(1, vec(types)));
    if (this.memory) {
      const m = this.memory;
      const limits =
        m.maxPages === undefined
          ? [0x00, ...uleb(m.minPages)]
          : [m.shared ? 0x03 : 0x01, ...uleb(m.minPages), ...uleb(m.maxPages)];
      bytes.push(...section(2, vec([[...name(m.module), ...name(m.field), 0x02, ...limits]])));
    }
    bytes.push(...section(3, vec(this.functions.map((_, i) => uleb(i)))));
    const exports = this.functions.flatMap(({ exportName }, i) =>
      exportName === undefined ? [] : [[...name(exportName), 0x00, ...uleb(i)]],
    );
    bytes.push(...section(7, vec(exports)));
    bytes.push(...section(10, vec(this.functions.map(({ builder }) => builder.encode()))));
    return new Uint8Array(bytes);
  }
}
