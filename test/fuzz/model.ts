/**
 * An independent reference model of the public ops: result shapes by NumPy's rules, dtype promotion
 * as the design states it (numbers take their tensor's dtype, float64 > float32 > int32), which
 * arguments are invalid, and values computed in plain JS doubles (rounded to the result dtype).
 * Written from the API contract, not from the library's shape or kernel code, so that a shared
 * mistake is unlikely. `Invalid` means the call must fail with a tapegrad error naming the op.
 */

export type DType = "float32" | "float64" | "int32";

export interface Ref {
  shape: number[];
  dtype: DType;
  data: number[];
  /** Per element: an absolute error the value may carry from summation order (Σ|terms|), 0 if omitted. */
  scale?: number[];
}

export class Invalid extends Error {}

export function invalid(why: string): never {
  throw new Invalid(why);
}

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

export function count(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function round(dtype: DType, v: number): number {
  if (dtype === "float32") return Math.fround(v);
  if (dtype === "int32") return v | 0;
  return v;
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + idx[d];
  return flat;
}

/** NumPy broadcasting of two shapes, or Invalid. */
export function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) invalid(`cannot broadcast [${a}] with [${b}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** The element of `r` seen at index `idx` of a broadcast result. */
function pick(r: Ref, idx: readonly number[]): number {
  const lead = idx.length - r.shape.length;
  return r.data[
    ravel(
      r.shape.map((d, i) => (d === 1 ? 0 : idx[lead + i])),
      r.shape,
    )
  ];
}

export function promote(a: DType, b: DType): DType {
  if (a === "float64" || b === "float64") return "float64";
  if (a === "float32" || b === "float32") return "float32";
  return "int32";
}

export function castRef(r: Ref, dtype: DType): Ref {
  if (dtype === r.dtype) return r;
  if (dtype === "int32") {
    for (const v of r.data) {
      // Issue 9.5: NaN, ±Inf and values outside int32 cannot be cast; fractions truncate (NumPy's astype).
      if (!Number.isFinite(v) || Math.trunc(v) < INT32_MIN || Math.trunc(v) > INT32_MAX) {
        invalid(`cast: ${v} does not fit int32`);
      }
    }
    return { shape: r.shape, dtype, data: r.data.map((v) => Math.trunc(v) | 0) };
  }
  return { shape: r.shape, dtype, data: r.data.map((v) => round(dtype, v)) };
}

// ---- elementwise ------------------------------------------------------------------------------

export type Operand = { num: number } | { ref: Ref };

function isNumberOperand(o: Operand): o is { num: number } {
  return "num" in o;
}

/** A number takes its tensor partner's dtype; int32 takes only integers that fit (else Invalid). */
function numberAs(v: unknown, dtype: DType): Ref {
  if (typeof v !== "number") invalid(`operand of type ${typeof v}`);
  if (dtype === "int32" && (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX)) {
    invalid(`${v} is not an int32`);
  }
  return { shape: [], dtype, data: [round(dtype, v)] };
}

export function coerce(a: Operand, b: Operand): [Ref, Ref] {
  if (isNumberOperand(a) && isNumberOperand(b)) invalid("two numbers");
  if (isNumberOperand(a)) {
    const rb = (b as { ref: Ref }).ref;
    return [numberAs(a.num, rb.dtype), rb];
  }
  if (isNumberOperand(b)) return [a.ref, numberAs(b.num, a.ref.dtype)];
  const dtype = promote(a.ref.dtype, b.ref.dtype);
  return [castRef(a.ref, dtype), castRef(b.ref, dtype)];
}

function mapRefs(refs: Ref[], dtype: DType, f: (...v: number[]) => number): Ref {
  let shape: number[] = [];
  for (const r of refs) shape = broadcast(shape, r.shape);
  const n = count(shape);
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    data[i] = round(dtype, f(...refs.map((r) => pick(r, idx))));
  }
  return { shape, dtype, data };
}

const binaryFns: Record<string, (a: number, b: number, dtype: DType) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b, dt) => (dt === "int32" ? Math.imul(a, b) : a * b),
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: (a, b) => Math.max(a, b), // NaN if either is NaN
  minimum: (a, b) => Math.min(a, b),
  greater: (a, b) => (a > b ? 1 : 0),
  greaterEqual: (a, b) => (a >= b ? 1 : 0),
  less: (a, b) => (a < b ? 1 : 0),
  lessEqual: (a, b) => (a <= b ? 1 : 0),
  equal: (a, b) => (a === b ? 1 : 0),
  notEqual: (a, b) => (a !== b ? 1 : 0),
};
export const BINARY_OPS = Object.keys(binaryFns);

export function binaryRef(op: string, a: Operand, b: Operand): Ref {
  const [ra, rb] = coerce(a, b);
  if ((op === "div" || op === "pow") && ra.dtype === "int32") invalid(`${op} of int32`);
  const f = binaryFns[op];
  return mapRefs([ra, rb], ra.dtype, (x, y) => f(x, y, ra.dtype));
}

/** erf to ~1e-15: Maclaurin series below 1.5, Lentz's continued fraction for erfc above. */
export function erfRef(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax < 1.5) {
    let term = x;
    let s = x;
    for (let n = 1; n < 80; n++) {
      term *= (-x * x) / n;
      s += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * s;
  }
  if (ax > 6.5) return Math.sign(x);
  // erfc(a) = exp(-a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), modified Lentz.
  const tiny = 1e-300;
  let f = ax;
  let c = ax;
  let d = 0;
  for (let k = 1; k < 300; k++) {
    const an = k / 2;
    d = ax + an * d;
    d = d === 0 ? tiny : d;
    c = ax + an / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

const sigmoidRef = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));

export const unaryFns: Record<string, (v: number) => number> = {
  neg: (v) => -v,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  square: (v) => v * v,
  tanh: Math.tanh,
  sigmoid: sigmoidRef,
  relu: (v) => Math.max(v, 0), // NaN stays NaN
  softplus: (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))),
  erf: erfRef,
  gelu: (v) => 0.5 * v * (1 + erfRef(v * Math.SQRT1_2)),
};
export const UNARY_OPS = Object.keys(unaryFns);

/** A unary float op: int32 is Invalid. In float32 the argument of erf in gelu is rounded first, as any float32 op would. */
export function unaryRef(op: string, x: Ref): Ref {
  if (x.dtype === "int32") invalid(`${op} of int32`);
  let f = unaryFns[op];
  if (op === "gelu" && x.dtype === "float32")
    f = (v) => 0.5 * v * (1 + erfRef(Math.fround(v * Math.SQRT1_2)));
  const out = mapRefs([x], x.dtype, f);
  // gelu and erf: the library's erf and this one differ by ~1e-15 absolute, gelu by that times |x|
  // (only while erf is not exactly ±1, so |x| is capped: a huge x must still come out as x).
  if (op === "gelu" || op === "erf")
    out.scale = x.data.map((v) => (op === "gelu" ? Math.min(Math.abs(v), 40) : 1));
  return out;
}

export function signRef(x: Ref): Ref {
  return mapRefs([x], x.dtype, (v) => (v > 0 ? 1 : v < 0 ? -1 : v));
}

export function leakyReluRef(x: Ref, alpha: unknown): Ref {
  if (x.dtype === "int32") invalid("leakyRelu of int32");
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) invalid(`alpha ${String(alpha)}`);
  return mapRefs([x], x.dtype, (v) => (v > 0 ? v : round(x.dtype, v * alpha)));
}

export function clampRef(x: Ref, lo: unknown, hi: unknown): Ref {
  if (typeof lo !== "number" || typeof hi !== "number") invalid("clamp bounds must be numbers");
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) invalid("clamp: min > max or NaN");
  if (x.dtype === "int32" && (!Number.isInteger(lo) || !Number.isInteger(hi))) {
    // The bounds become int32 values: like a number operand, only integers that fit.
    invalid("clamp: non-integer bounds for int32");
  }
  if (x.dtype === "int32" && (lo < INT32_MIN || hi > INT32_MAX)) invalid("clamp: bounds outside int32");
  return mapRefs([x], x.dtype, (v) => (v < lo ? lo : v > hi ? hi : v));
}

export function whereRef(cond: Ref, a: Operand, b: Operand): Ref {
  let ra: Ref;
  let rb: Ref;
  if (isNumberOperand(a) && isNumberOperand(b)) {
    const dtype: DType = cond.dtype === "int32" ? "float32" : cond.dtype;
    ra = numberAs(a.num, dtype);
    rb = numberAs(b.num, dtype);
  } else [ra, rb] = coerce(a, b);
  return mapRefs([cond, ra, rb], ra.dtype, (c, x, y) => (c !== 0 ? x : y));
}

// ---- reductions -------------------------------------------------------------------------------

function normAxis(axis: unknown, ndim: number): number {
  if (!isInt(axis) || axis < -ndim || axis >= ndim) invalid(`axis ${String(axis)} for ndim ${ndim}`);
  return axis < 0 ? axis + ndim : axis;
}

export function normAxes(axis: unknown, ndim: number): number[] {
  if (axis === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axis === "number" ? [axis] : Array.isArray(axis) ? axis : invalid("axis type");
  const out = list.map((a: unknown) => normAxis(a, ndim));
  if (new Set(out).size !== out.length) invalid("repeated axis");
  return out.sort((p: number, q: number) => p - q);
}

/** Groups x's elements by output position (in increasing flat order) for a reduction over `axes`. */
function groups(x: Ref, axes: number[], keepdims: boolean): { shape: number[]; members: number[][] } {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const shape = keepdims ? kept : x.shape.filter((_, i) => !axes.includes(i));
  const members: number[][] = Array.from({ length: count(kept) }, () => []);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape).map((v, d) => (axes.includes(d) ? 0 : v));
    members[ravel(idx, kept)].push(i);
  }
  return { shape, members };
}

export function reduceRef(op: string, x: Ref, axis: unknown, keepdims: unknown): Ref {
  if (keepdims !== undefined && typeof keepdims !== "boolean") invalid("keepdims must be a boolean");
  if ((op === "mean" || op === "logsumexp") && x.dtype === "int32") invalid(`${op} of int32`);
  const axes = normAxes(axis, x.shape.length);
  const { shape, members } = groups(x, axes, keepdims === true);
  const reducedCount = axes.reduce((n, a) => n * x.shape[a], 1);
  const outSize = count(shape);
  if (op === "mean" && reducedCount === 0) invalid("mean of nothing");
  if ((op === "max" || op === "min") && reducedCount === 0 && outSize > 0) invalid(`${op} of nothing`);
  const data: number[] = [];
  const scale: number[] = [];
  for (const m of members) {
    const vals = m.map((i) => x.data[i]);
    const absSum = vals.reduce((s, v) => s + Math.abs(v), 0);
    let v: number;
    let sc = 0;
    if (op === "sum" || op === "mean") {
      v = 0;
      for (const t of vals) v += t;
      if (x.dtype === "int32") v = v | 0; // wraps like int32 arithmetic (the sum of doubles is exact here)
      if (op === "mean") v /= reducedCount;
      sc = op === "mean" ? absSum / reducedCount : absSum;
    } else if (op === "max" || op === "min") {
      v = op === "max" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
      for (const t of vals) {
        if (Number.isNaN(t)) {
          v = t;
          break;
        }
        if (op === "max" ? t > v : t < v) v = t;
      }
    } else {
      // logsumexp, shifted by a finite max
      let mx = Number.NEGATIVE_INFINITY;
      for (const t of vals) mx = Math.max(mx, t);
      // Each step rounded to the dtype, as the composite's ops are: in float32 exp(x - shift) can
      // overflow where it would not in float64.
      const r = (u: number): number => round(x.dtype, u);
      const shift = Number.isFinite(mx) ? mx : 0;
      let s = 0;
      for (const t of vals) s += r(Math.exp(r(t - shift)));
      v = r(Math.log(r(s))) + shift;
      sc = Math.max(Math.abs(shift), 1) * vals.length;
    }
    data.push(round(x.dtype, v));
    scale.push(sc);
  }
  return { shape, dtype: x.dtype, data, scale };
}

export function argRef(op: "argmax" | "argmin", x: Ref, axis: unknown): Ref {
  if (axis === undefined) {
    if (x.data.length === 0) invalid(`${op} of nothing`);
    return { shape: [], dtype: "int32", data: [bestIndex(op, x.data)] };
  }
  const ax = normAxis(axis, x.shape.length);
  const { shape, members } = groups(x, [ax], false);
  if (x.shape[ax] === 0 && count(shape) > 0) invalid(`${op} along an empty axis`);
  return {
    shape,
    dtype: "int32",
    data: members.map((m) =>
      bestIndex(
        op,
        m.map((i) => x.data[i]),
      ),
    ),
  };
}

function bestIndex(op: "argmax" | "argmin", vals: number[]): number {
  let best = 0;
  for (let i = 0; i < vals.length; i++) {
    if (Number.isNaN(vals[i])) return i;
    if (op === "argmax" ? vals[i] > vals[best] : vals[i] < vals[best]) best = i;
  }
  return best;
}

/** softmax / logSoftmax along one axis, shifted by the (finite) max; a slice holding +Inf is NaN. */
export function softmaxRef(op: "softmax" | "logSoftmax", x: Ref, axis: unknown): Ref {
  if (x.dtype === "int32") invalid(`${op} of int32`);
  const ax = normAxis(axis === undefined ? -1 : axis, x.shape.length);
  const { members } = groups(x, [ax], true);
  const data = new Array<number>(x.data.length);
  const scale = new Array<number>(x.data.length).fill(0);
  for (const m of members) {
    let mx = Number.NEGATIVE_INFINITY;
    for (const i of m) mx = Math.max(mx, x.data[i]);
    if (mx === Number.POSITIVE_INFINITY) {
      for (const i of m) data[i] = Number.NaN; // as torch: a +Inf logit makes the whole slice NaN
      continue;
    }
    const shift = Number.isFinite(mx) ? mx : 0;
    const r = (u: number): number => round(x.dtype, u); // each step in the dtype, as in logsumexp
    let s = 0;
    for (const i of m) s += r(Math.exp(r(x.data[i] - shift)));
    s = r(s);
    for (const i of m) {
      const z = r(x.data[i] - shift);
      data[i] = r(op === "softmax" ? r(Math.exp(z)) / s : z - r(Math.log(s)));
      scale[i] = op === "softmax" ? 0 : Math.abs(z) + Math.log(m.length + 1) + 1;
    }
  }
  return { shape: x.shape.slice(), dtype: x.dtype, data, scale };
}

// ---- matmul -----------------------------------------------------------------------------------

export function matmulRef(a: Ref, b: Ref, opts: unknown): Ref {
  [a, b] = coerce({ ref: a }, { ref: b });
  if (a.dtype === "int32") invalid("matmul of int32");
  if (a.shape.length === 0 || b.shape.length === 0) invalid("matmul of a 0-d tensor");
  if (opts === null || (opts !== undefined && typeof opts !== "object")) invalid("options must be an object");
  const o = (opts ?? {}) as Record<string, unknown>;
  const flag = (name: string, r: Ref): boolean => {
    const v = o[name] ?? false;
    if (typeof v !== "boolean") invalid(`${name} must be boolean`);
    if (v && r.shape.length < 2) invalid(`${name} on a 1-D operand`);
    return v;
  };
  const ta = flag("transposeA", a);
  const tb = flag("transposeB", b);
  const a2 = a.shape.length === 1 ? [1, a.shape[0]] : a.shape.slice();
  const b2 = b.shape.length === 1 ? [b.shape[0], 1] : b.shape.slice();
  const [m, k] = ta ? [a2.at(-1) ?? 0, a2.at(-2) ?? 0] : [a2.at(-2) ?? 0, a2.at(-1) ?? 0];
  const [k2, n] = tb ? [b2.at(-1) ?? 0, b2.at(-2) ?? 0] : [b2.at(-2) ?? 0, b2.at(-1) ?? 0];
  if (k !== k2) invalid("inner dimensions differ");
  const batch = broadcast(a2.slice(0, -2), b2.slice(0, -2));
  const full = [...batch, m, n];
  const data: number[] = [];
  const scale: number[] = [];
  const aAt = (bi: number[], i: number, p: number): number => {
    const idx = ta ? [p, i] : [i, p];
    return pickBatched(a.data, a2, bi, idx);
  };
  const bAt = (bi: number[], p: number, j: number): number => {
    const idx = tb ? [j, p] : [p, j];
    return pickBatched(b.data, b2, bi, idx);
  };
  for (let f = 0; f < count(full); f++) {
    const idx = unravel(f, full);
    const bi = idx.slice(0, -2);
    const [i, j] = idx.slice(-2);
    let s = 0;
    let sc = 0;
    for (let p = 0; p < k; p++) {
      const t = aAt(bi, i, p) * bAt(bi, p, j);
      s += t;
      sc += Math.abs(t);
    }
    data.push(round(a.dtype, s));
    scale.push(sc);
  }
  let shape = full;
  if (a.shape.length === 1) shape = [...shape.slice(0, -2), shape[shape.length - 1]];
  if (b.shape.length === 1) shape = shape.slice(0, -1);
  return { shape, dtype: a.dtype, data, scale };
}

function pickBatched(data: number[], shape: number[], batchIdx: number[], mat: number[]): number {
  const batchShape = shape.slice(0, -2);
  const lead = batchIdx.length - batchShape.length;
  const own = batchShape.map((d, i) => (d === 1 ? 0 : batchIdx[lead + i]));
  return data[ravel([...own, ...mat], shape)];
}

// ---- layout -----------------------------------------------------------------------------------

function checkDims(shape: unknown): number[] {
  if (!Array.isArray(shape)) invalid("shape must be an array");
  for (const d of shape) if (!isInt(d) || d < 0) invalid(`bad dimension ${String(d)}`);
  return shape.slice() as number[];
}

export function reshapeRef(x: Ref, shape: unknown): Ref {
  if (!Array.isArray(shape)) invalid("shape must be an array");
  const target = shape.slice() as unknown[];
  const free = target.filter((d) => d === -1).length;
  if (free > 1) invalid("two -1");
  if (free === 1) {
    const rest = target.filter((d) => d !== -1);
    checkDims(rest);
    const known = count(rest as number[]);
    if (known === 0 || x.data.length % known !== 0) invalid("cannot infer -1");
    target[target.indexOf(-1)] = x.data.length / known;
  }
  const dims = checkDims(target);
  if (count(dims) !== x.data.length) invalid("size differs");
  return { shape: dims, dtype: x.dtype, data: x.data.slice() };
}

export function transposeRef(x: Ref, axes: unknown): Ref {
  const nd = x.shape.length;
  let perm: number[];
  if (axes === undefined) perm = Array.from({ length: nd }, (_, i) => nd - 1 - i);
  else {
    if (!Array.isArray(axes)) invalid("axes must be an array");
    perm = axes.map((a: unknown) => normAxis(a, nd));
  }
  if (perm.length !== nd || new Set(perm).size !== nd) invalid("not a permutation");
  const shape = perm.map((p) => x.shape[p]);
  const data = new Array<number>(x.data.length);
  for (let f = 0; f < data.length; f++) {
    const idx = unravel(f, shape);
    const src = new Array<number>(nd);
    perm.forEach((p, i) => {
      src[p] = idx[i];
    });
    data[f] = x.data[ravel(src, x.shape)];
  }
  return { shape, dtype: x.dtype, data };
}

export function broadcastToRef(x: Ref, shape: unknown): Ref {
  const target = checkDims(shape);
  if (target.length < x.shape.length) invalid("fewer dims");
  const b = broadcast(x.shape, target);
  if (b.join() !== target.join()) invalid("not broadcastable to target");
  return mapRefs(
    [x, { shape: target, dtype: x.dtype, data: new Array(count(target)).fill(0) }],
    x.dtype,
    (v) => v,
  );
}

export function squeezeRef(x: Ref, axis: unknown): Ref {
  if (axis === undefined) return { ...x, shape: x.shape.filter((d) => d !== 1), data: x.data.slice() };
  const ax = normAxis(axis, x.shape.length);
  if (x.shape[ax] !== 1) invalid("squeeze of a dim that is not 1");
  return { ...x, shape: x.shape.filter((_, i) => i !== ax), data: x.data.slice() };
}

export function unsqueezeRef(x: Ref, axis: unknown): Ref {
  const ax = normAxis(axis, x.shape.length + 1);
  const shape = x.shape.slice();
  shape.splice(ax, 0, 1);
  return { ...x, shape, data: x.data.slice() };
}

/** Copies x's elements whose index along `axis` maps (by `from`) into an output with `len` there. */
function alongAxis(x: Ref, axis: number, len: number, from: (j: number) => number | null): Ref {
  const shape = x.shape.slice();
  shape[axis] = len;
  const data = new Array<number>(count(shape));
  for (let f = 0; f < data.length; f++) {
    const idx = unravel(f, shape);
    const src = from(idx[axis]);
    if (src === null) data[f] = 0;
    else {
      idx[axis] = src;
      data[f] = x.data[ravel(idx, x.shape)];
    }
  }
  return { shape, dtype: x.dtype, data };
}

export function sliceRef(x: Ref, axis: unknown, start: unknown, end: unknown): Ref {
  const ax = normAxis(axis, x.shape.length);
  if (!isInt(start) || (end !== undefined && !isInt(end))) invalid("slice bounds must be integers");
  const n = x.shape[ax];
  const fix = (i: number): number => Math.min(n, Math.max(0, i < 0 ? i + n : i));
  const s = fix(start);
  const e = Math.max(s, end === undefined ? n : fix(end as number));
  return alongAxis(x, ax, e - s, (j) => s + j);
}

export function padRef(x: Ref, axis: unknown, before: unknown, after: unknown): Ref {
  const ax = normAxis(axis, x.shape.length);
  if (!isInt(before) || !isInt(after) || before < 0 || after < 0) invalid("pad widths");
  const n = x.shape[ax];
  return alongAxis(x, ax, n + before + after, (j) => (j >= before && j < before + n ? j - before : null));
}

export function concatRef(xs: Ref[], axis: unknown): Ref {
  const first = xs[0];
  const ax = normAxis(axis, first.shape.length);
  let dtype = first.dtype;
  for (const r of xs) dtype = promote(dtype, r.dtype);
  for (const r of xs) {
    if (r.shape.length !== first.shape.length || r.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      invalid("concat shapes differ");
    }
  }
  const cast = xs.map((r) => castRef(r, dtype));
  const offsets: number[] = [];
  let total = 0;
  for (const r of cast) {
    offsets.push(total);
    total += r.shape[ax];
  }
  const shape = first.shape.slice();
  shape[ax] = total;
  const data = new Array<number>(count(shape));
  for (let f = 0; f < data.length; f++) {
    const idx = unravel(f, shape);
    let t = 0;
    while (t + 1 < cast.length && idx[ax] >= offsets[t + 1]) t++;
    idx[ax] -= offsets[t];
    data[f] = cast[t].data[ravel(idx, cast[t].shape)];
  }
  return { shape, dtype, data };
}

export function stackRef(xs: Ref[], axis: unknown): Ref {
  for (const r of xs)
    if (r.shape.join() !== xs[0].shape.join() || r.shape.length !== xs[0].shape.length)
      invalid("stack shapes differ");
  const ax = normAxis(axis, xs[0].shape.length + 1);
  return concatRef(
    xs.map((r) => unsqueezeRef(r, ax)),
    ax,
  );
}

/** Indices as the library takes them: an int32 1-D tensor or an array of integers. */
export type Indices = { ref: Ref } | { list: unknown };

function indexList(ind: Indices): number[] {
  if ("ref" in ind) {
    if (ind.ref.dtype !== "int32") invalid("indices must be int32");
    if (ind.ref.shape.length !== 1) invalid("indices must be 1-D");
    return ind.ref.data;
  }
  if (!Array.isArray(ind.list)) invalid("indices must be an array");
  for (const v of ind.list) if (!isInt(v)) invalid(`index ${String(v)}`);
  return ind.list as number[];
}

export function gatherRef(x: Ref, ind: Indices, axis: unknown): Ref {
  const ax = normAxis(axis === undefined ? 0 : axis, x.shape.length);
  const list = indexList(ind);
  const n = x.shape[ax];
  for (const v of list) if (v < -n || v >= n) invalid(`index ${v} out of range`);
  return alongAxis(x, ax, list.length, (j) => (list[j] < 0 ? list[j] + n : list[j]));
}

export function scatterAddRef(x: Ref, ind: Indices, axis: unknown, size: unknown): Ref {
  const ax = normAxis(axis, x.shape.length);
  const list = indexList(ind);
  if (!isInt(size) || size < 0) invalid(`size ${String(size)}`); // issue 9.8
  for (const v of list) if (v < -size || v >= size) invalid(`index ${v} out of range`);
  if (list.length !== x.shape[ax]) invalid("one index per slice");
  const shape = x.shape.slice();
  shape[ax] = size;
  const data = new Array<number>(count(shape)).fill(0);
  for (let f = 0; f < x.data.length; f++) {
    const idx = unravel(f, x.shape);
    const v = list[idx[ax]];
    idx[ax] = v < 0 ? v + size : v;
    const o = ravel(idx, shape);
    data[o] = round(x.dtype, data[o] + x.data[f]);
  }
  return { shape, dtype: x.dtype, data };
}

export function castOpRef(x: Ref, dtype: unknown): Ref {
  if (dtype !== "float32" && dtype !== "float64" && dtype !== "int32") invalid(`dtype ${String(dtype)}`);
  return castRef(x, dtype);
}
