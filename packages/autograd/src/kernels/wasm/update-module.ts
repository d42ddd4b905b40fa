import { FunctionBuilder, I32, type Local, V128, type ValType } from "./assembler.js";
import {
  type ImportedMemory,
  isaFor,
  type LaneOps,
  moduleWithMemory,
  type WasmDType,
  whileBelow,
} from "./codegen.js";

/**
 * Generates the optimiser-update module: fused, in-place SGD and Adam/AdamW steps over arrays in the
 * imported memory, in f32x4 (float32) or f64x2 (float64) lanes with a scalar loop for the elements
 * left over. Each formula is written once (see the bodies below) and emitted for both the vector and
 * the scalar loop, in the same operation order as the JS reference loops in ../update.ts, so float64
 * results are bit-identical to JS (no fused multiply-add in SIMD128; sqrt and division are correctly
 * rounded in both). float32 computes in f32 lanes with the scalars rounded to f32, as PyTorch's
 * float32 optimisers do, where the JS loops compute in double and round at each store.
 *
 * Addresses are byte addresses, `n` is an element count; arrays must not overlap.
 */

/** `shared` is normally false: the update runs on the calling thread. */
export interface UpdateModuleOptions extends ImportedMemory {
  dtype: WasmDType;
}

/** The exported functions (of the module's dtype), by these names. */
export interface UpdateKernels {
  /** p -= lr·g */
  sgd(p: number, g: number, n: number, lr: number): void;
  /** p -= lr·(g + wd·p) */
  sgdDecay(p: number, g: number, n: number, lr: number, wd: number): void;
  /**
   * d = g + wd·p; b = first ? d : mu·b + keep·d; p -= lr·(nesterov ? d + mu·b : b). The flags are
   * i32 (0 or 1).
   */
  sgdMomentum(
    p: number,
    g: number,
    buf: number,
    n: number,
    first: number,
    nesterov: number,
    lr: number,
    wd: number,
    mu: number,
    keep: number,
  ): void;
  /**
   * p ← p·shrink; d = g + l2·p; m ← b1·m + c1·d; v ← b2·v + (c2·d)·d; with amsgrad (i32 flag)
   * v ← vMax ← pmax(v, vMax) (v itself is stored unmaxed); p ← p − (stepSize·m)/(√v/sqrtBc2 + eps).
   */
  adam(
    p: number,
    g: number,
    m: number,
    v: number,
    vMax: number,
    n: number,
    amsgrad: number,
    stepSize: number,
    sqrtBc2: number,
    b1: number,
    c1: number,
    b2: number,
    c2: number,
    eps: number,
    l2: number,
    shrink: number,
  ): void;
}

const KERNEL_NAMES = ["sgd", "sgdDecay", "sgdMomentum", "adam"] as const;
type KernelName = (typeof KERNEL_NAMES)[number];

/** What a formula body sees: its arrays at the current element, its constants, fresh temporaries. */
interface Emit {
  readonly f: FunctionBuilder;
  readonly L: LaneOps;
  /** Pushes the address of the current element(s) of an array. */
  at(array: string): FunctionBuilder;
  /** Pushes the current element(s) of an array. */
  load(array: string): FunctionBuilder;
  /** Pushes a constant (splatted in the vector loop). */
  k(name: string): FunctionBuilder;
  /** A new local of the mode's type. */
  temp(): Local;
  /** Pushes `a < b ? b : a` (JS's comparison semantics for NaN). */
  max(a: Local, b: Local): FunctionBuilder;
}

type Body = (e: Emit, flags: Record<string, boolean>) => void;

interface KernelSpec {
  arrays: string[];
  flags: string[];
  consts: string[];
  body: Body;
}

/**
 * Builds kernel(arrays..., n, flags..., consts...): for each combination of the i32 flags, a vector
 * loop over the whole vectors of n elements then a scalar loop over the rest, selected by branches
 * outside the loops (so the loop bodies have no branches).
 */
function buildKernel(dtype: WasmDType, spec: KernelSpec): FunctionBuilder {
  const { es, vec, scalar } = isaFor(dtype);
  const params: ValType[] = [
    ...spec.arrays.map((): ValType => I32),
    I32,
    ...spec.flags.map((): ValType => I32),
    ...spec.consts.map(() => scalar.type),
  ];
  const f = new FunctionBuilder(params, []);
  const ptr: Record<string, Local> = {};
  spec.arrays.forEach((name, i) => {
    ptr[name] = f.params[i]!;
  });
  const n = f.params[spec.arrays.length]!;
  const flagParams = spec.flags.map((_, i) => f.params[spec.arrays.length + 1 + i]!);
  const constParams: Record<string, Local> = {};
  spec.consts.forEach((name, i) => {
    constParams[name] = f.params[spec.arrays.length + 1 + spec.flags.length + i]!;
  });
  const off = f.local(I32);
  const vecEnd = f.local(I32);
  const end = f.local(I32);

  const splat: Record<string, Local> = {};
  for (const name of spec.consts) {
    splat[name] = f.local(V128);
    vec.splat(f.get(constParams[name]!)).set(splat[name]!);
  }
  // Byte offsets: whole vectors end at vecEnd, all elements at end.
  f.get(n)
    .i32Const(-(16 / es))
    .i32And()
    .i32Const(es)
    .i32Mul()
    .set(vecEnd);
  f.get(n).i32Const(es).i32Mul().set(end);

  const emitFor = (L: LaneOps, consts: Record<string, Local>): Emit => ({
    f,
    L,
    at: (array) => f.get(ptr[array]!).get(off).i32Add(),
    load: (array) => L.load(f.get(ptr[array]!).get(off).i32Add()),
    k: (name) => f.get(consts[name]!),
    temp: () => f.local(L.type),
    // pmax on lanes; on scalars a select, as wasm has no scalar pmax.
    max: (a, b) => (L === vec ? vec.pmax(f.get(a).get(b)) : L.lt(f.get(b).get(a).get(a).get(b)).select()),
  });
  // Unrolling the bottom-tested loops gained nothing more.
  const loop = (L: LaneOps, limit: Local, consts: Record<string, Local>, flags: Record<string, boolean>) =>
    whileBelow(f, off, limit, L.bytes, () => spec.body(emitFor(L, consts), flags));
  const loops = (flags: Record<string, boolean>): void => {
    f.i32Const(0).set(off);
    loop(vec, vecEnd, splat, flags);
    loop(scalar, end, constParams, flags);
  };
  // One if/else level per flag, loops at the leaves.
  const branch = (i: number, flags: Record<string, boolean>): void => {
    if (i === spec.flags.length) {
      loops(flags);
      return;
    }
    f.get(flagParams[i]!).if();
    branch(i + 1, { ...flags, [spec.flags[i]!]: true });
    f.else();
    branch(i + 1, { ...flags, [spec.flags[i]!]: false });
    f.end();
  };
  branch(0, {});
  return f;
}

/**
 * Pushes a·array + b·x, or a·array + (b·x)·x with `squared`: the moving averages (momentum buffer, m,
 * v) in the JS loops' order. a and b name constants.
 */
function average(e: Emit, a: string, array: string, b: string, x: Local, squared = false): void {
  const { f, L } = e;
  e.k(a);
  e.load(array);
  L.mul(f);
  e.k(b).get(x);
  L.mul(f);
  if (squared) L.mul(f.get(x));
  L.add(f);
}

/** p -= lr·g, or p -= lr·(g + wd·p) with decay: the JS loops' expressions, in their order. */
const sgdBody =
  (decay: boolean): Body =>
  ({ f, L, at, load, k, temp }) => {
    const p = temp();
    load("p").set(p);
    at("p").get(p);
    k("lr");
    load("g");
    if (decay) {
      k("wd").get(p);
      L.mul(f);
      L.add(f);
    }
    L.mul(f);
    L.sub(f);
    L.store(f);
  };

/** d = g + wd·p; b = first ? d : mu·b + keep·d; p -= lr·(nesterov ? d + mu·b : b). */
const sgdMomentumBody: Body = (e, { first, nesterov }) => {
  const { f, L, at, load, k, temp } = e;
  const p = temp();
  const d = temp();
  const b = temp();
  load("p").set(p);
  load("g");
  k("wd").get(p);
  L.mul(f);
  L.add(f).set(d);
  if (first) {
    f.get(d).set(b);
  } else {
    average(e, "mu", "buf", "keep", d);
    f.set(b);
  }
  at("buf").get(b);
  L.store(f);
  at("p").get(p);
  k("lr");
  if (nesterov) {
    f.get(d);
    k("mu").get(b);
    L.mul(f);
    L.add(f);
  } else {
    f.get(b);
  }
  L.mul(f);
  L.sub(f);
  L.store(f);
};

/**
 * p ← p·shrink; d = g + l2·p; m ← b1·m + c1·d; v ← b2·v + (c2·d)·d; (amsgrad: v ← vMax ← pmax(v, vMax));
 * p ← p − (stepSize·m)/(√v/sqrtBc2 + eps).
 */
const adamBody: Body = (e, { amsgrad }) => {
  const { f, L, at, load, k, temp, max } = e;
  const p = temp();
  const d = temp();
  const m = temp();
  const v = temp();
  load("p");
  k("shrink");
  L.mul(f).set(p);
  load("g");
  k("l2").get(p);
  L.mul(f);
  L.add(f).set(d);
  at("m");
  average(e, "b1", "m", "c1", d);
  L.store(f.tee(m));
  at("v");
  average(e, "b2", "v", "c2", d, true);
  L.store(f.tee(v));
  if (amsgrad) {
    const old = temp();
    load("vMax").set(old);
    at("vMax");
    max(v, old).tee(v);
    L.store(f);
  }
  at("p").get(p);
  k("stepSize").get(m);
  L.mul(f).get(v);
  L.sqrt(f);
  k("sqrtBc2");
  L.div(f);
  k("eps");
  L.add(f);
  L.div(f);
  L.sub(f);
  L.store(f);
};

const SPECS: Record<KernelName, KernelSpec> = {
  sgd: { arrays: ["p", "g"], flags: [], consts: ["lr"], body: sgdBody(false) },
  sgdDecay: { arrays: ["p", "g"], flags: [], consts: ["lr", "wd"], body: sgdBody(true) },
  sgdMomentum: {
    arrays: ["p", "g", "buf"],
    flags: ["first", "nesterov"],
    consts: ["lr", "wd", "mu", "keep"],
    body: sgdMomentumBody,
  },
  adam: {
    arrays: ["p", "g", "m", "v", "vMax"],
    flags: ["amsgrad"],
    consts: ["stepSize", "sqrtBc2", "b1", "c1", "b2", "c2", "eps", "l2", "shrink"],
    body: adamBody,
  },
};

/**
 * One module per dtype, each about 2 KB: a dtype's kernels are compiled only once it is used, and
 * each module stays under the 4 KB that browsers allow to compile synchronously on the main thread.
 */
export function buildUpdateModule(opts: UpdateModuleOptions): Uint8Array {
  const mb = moduleWithMemory(opts);
  for (const name of KERNEL_NAMES) mb.addFunction(buildKernel(opts.dtype, SPECS[name]), name);
  return mb.encode();
}
