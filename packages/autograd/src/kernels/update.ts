import { DTypeError, ShapeError, ValueError } from "../errors.js";
import { getKernelBackend, recordUpdate, wasmAvailable } from "./backend.js";
import type { FloatArray } from "./types.js";
import {
  copyIn,
  copyOut,
  type LocalModule,
  localModules,
  reserveScratch,
  slotBytes,
  viewOf,
} from "./wasm/local-module.js";
import { HEAP_BASE } from "./wasm/runtime.js";
import { buildUpdateModule, type UpdateKernels } from "./wasm/update-module.js";

/**
 * Optimiser updates over plain typed arrays, in place: the SGD and Adam/AdamW steps with PyTorch's
 * formulas. The JS loops are the reference; the WASM SIMD kernels (wasm/update-module.ts) copy the
 * arrays into the unshared wasm memory, update them there and copy the results back, which pays from
 * about a hundred elements on (see WASM_MIN_ELEMENTS).
 */

/** One SGD step: g ← ∇ + wd·θ; with momentum μ, b ← μb + (1 − dampening)g (b = g on the first step). */
export interface SgdStep {
  lr: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Momentum μ (default 0: plain SGD, no buffer). */
  momentum?: number;
  /** Dampening of the gradient in the momentum buffer (default 0). */
  dampening?: number;
  /** Nesterov momentum: θ ← θ − lr·(g + μb) instead of θ − lr·b (default false). */
  nesterov?: boolean;
  /** The momentum buffer b (same length as the parameter); required when momentum ≠ 0. */
  buffer?: FloatArray | null;
  /** True on the first step: b is set to g instead of being decayed (default false). */
  firstStep?: boolean;
}

/**
 * One Adam step, t = `step`: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²,
 * θ ← θ − lr/(1 − β₁ᵗ) · m / (√v̂/√(1 − β₂ᵗ) + ε), v̂ = v, or max(v̂ so far, v) with amsgrad.
 */
export interface AdamStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** L2 penalty added to g (Adam), or decoupled decay θ ← θ(1 − lr·weightDecay) first (AdamW). */
  weightDecay: number;
  /** AdamW's decoupled weight decay. */
  decoupled: boolean;
  /** This step's number t, counting from 1. */
  step: number;
  /** First-moment estimate m, updated in place. */
  m: FloatArray;
  /** Second-moment estimate v, updated in place. */
  v: FloatArray;
  /** AMSGrad's running maximum of v (updated in place); null or absent for plain Adam. */
  vMax?: FloatArray | null;
}

/**
 * At and above this many elements 'auto' runs the WASM kernels. Measured on the project's 2-core
 * machine (Node 20, AMD EPYC), float32, median µs per call of the JS loop against the WASM kernel
 * (copies included), with `node_modules/.bin/tsx --conditions=@tapegrad/source bench/kernels/update.ts
 * --crossover`: SGD 0.20 vs 0.26 µs at 64 elements and 0.34 vs 0.27 at 128 (momentum alike); Adam
 * 0.73 vs 0.68 at 64, 1.23 vs 0.75 at 128. The WASM call's fixed cost is about 0.25 µs (SGD) to
 * 0.6 µs (Adam).
 */
export const WASM_MIN_ELEMENTS = 128;

/**
 * Bytes of each array per chunk of a WASM call: bounds the scratch memory (at most 5 arrays: 320 KB)
 * and keeps a chunk's arrays in cache between copy-in, update and copy-out. Measured with the
 * benchmark's --chunk option: 4-32 K float32 elements per chunk ran alike, and one chunk for all of
 * W2's 200,704 elements ran about 30% slower.
 */
const CHUNK_BYTES = 65_536;
let chunkOverride = 0;

/**
 * @internal Elements per chunk (0 restores the default, CHUNK_BYTES per array); tests cover the
 * chunk loop with small chunks, the benchmark measures chunk sizes.
 */
export function setUpdateChunkElements(n: number): void {
  if (!Number.isInteger(n) || n < 0) {
    throw new ValueError(`setUpdateChunkElements: expected an integer >= 0, got ${n}`);
  }
  chunkOverride = n;
}

function chunkElements(n: number, es: number): number {
  return Math.min(n, chunkOverride > 0 ? chunkOverride : CHUNK_BYTES / es);
}

// ---------------------------------------------------------------------------------------------------
// JS reference loops (the optimisers' original loops, unchanged).

/** SGD on the JS loops; see SgdStep. */
export function sgdUpdateJs(p: FloatArray, grad: FloatArray, o: SgdStep): void {
  const lr = o.lr;
  const wd = o.weightDecay ?? 0;
  const mu = o.momentum ?? 0;
  const n = p.length;
  if (mu === 0) {
    if (wd === 0) for (let i = 0; i < n; i++) p[i] -= lr * grad[i];
    else for (let i = 0; i < n; i++) p[i] -= lr * (grad[i] + wd * p[i]);
    return;
  }
  const buf = o.buffer!;
  const keep = 1 - (o.dampening ?? 0);
  const first = o.firstStep === true;
  const nesterov = o.nesterov === true;
  for (let i = 0; i < n; i++) {
    const g = grad[i] + wd * p[i];
    const b = first ? g : mu * buf[i] + keep * g;
    buf[i] = b;
    p[i] -= lr * (nesterov ? g + mu * b : b);
  }
}

/** Adam/AdamW on the JS loops; see AdamStep. */
export function adamUpdateJs(p: FloatArray, grad: FloatArray, o: AdamStep): void {
  const { beta1: b1, beta2: b2, eps, m, v, step: t } = o;
  const stepSize = o.lr / (1 - b1 ** t);
  const sqrtBc2 = Math.sqrt(1 - b2 ** t);
  const l2 = o.decoupled ? 0 : o.weightDecay;
  if (o.decoupled && o.weightDecay !== 0) {
    const shrink = 1 - o.lr * o.weightDecay;
    for (let i = 0; i < p.length; i++) p[i] *= shrink;
  }
  const vMax = o.vMax ?? null;
  for (let i = 0; i < p.length; i++) {
    const g = grad[i] + l2 * p[i];
    const mi = b1 * m[i] + (1 - b1) * g;
    let vi = b2 * v[i] + (1 - b2) * g * g;
    m[i] = mi;
    v[i] = vi;
    if (vMax !== null) {
      if (vi < vMax[i]) vi = vMax[i];
      else vMax[i] = vi;
    }
    p[i] -= (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps);
  }
}

// ---------------------------------------------------------------------------------------------------
// WASM kernels.

/** One module per dtype, about 2 KB each, compiled when the dtype is first updated. */
const updateModule = localModules(buildUpdateModule, (exports) => exports as unknown as UpdateKernels);

type UpdateModule = LocalModule<UpdateKernels>;

/** The module for p's dtype; null without WASM SIMD (the callers then run the JS loops). */
function moduleFor(p: FloatArray): UpdateModule | null {
  return updateModule(p instanceof Float32Array ? "float32" : "float64");
}

/**
 * Makes room for `arrays` chunks of `len` elements from HEAP_BASE; returns the byte stride between
 * them, or 0 when the memory cannot grow that far.
 */
function scratch(m: UpdateModule, arrays: number, len: number): number {
  const stride = slotBytes(Math.max(len, 1) * m.es);
  return reserveScratch(m, arrays * stride) ? stride : 0;
}

/** SGD on the WASM kernels; false (nothing changed) when the scratch memory cannot grow. */
export function sgdUpdateWasm(p: FloatArray, grad: FloatArray, o: SgdStep): boolean {
  const mod = moduleFor(p);
  if (mod === null) return false;
  const { es, kernels: k } = mod;
  const n = p.length;
  const lr = o.lr;
  const wd = o.weightDecay ?? 0;
  const mu = o.momentum ?? 0;
  const chunk = chunkElements(n, es);
  const stride = scratch(mod, mu === 0 ? 2 : 3, chunk);
  if (stride === 0) return false;
  const view = viewOf(mod);
  const pAt = HEAP_BASE;
  const gAt = pAt + stride;
  const bAt = gAt + stride;
  const buf = o.buffer!;
  const first = o.firstStep === true ? 1 : 0;
  const nesterov = o.nesterov === true ? 1 : 0;
  const keep = 1 - (o.dampening ?? 0);
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    copyIn(view, p, start, len, pAt, es);
    copyIn(view, grad, start, len, gAt, es);
    if (mu === 0) {
      if (wd === 0) k.sgd(pAt, gAt, len, lr);
      else k.sgdDecay(pAt, gAt, len, lr, wd);
    } else {
      // The first step overwrites the buffer without reading it.
      if (first === 0) copyIn(view, buf, start, len, bAt, es);
      k.sgdMomentum(pAt, gAt, bAt, len, first, nesterov, lr, wd, mu, keep);
      copyOut(view, buf, start, len, bAt, es);
    }
    copyOut(view, p, start, len, pAt, es);
  }
  return true;
}

/** Adam/AdamW on the WASM kernels; false (nothing changed) when the scratch memory cannot grow. */
export function adamUpdateWasm(p: FloatArray, grad: FloatArray, o: AdamStep): boolean {
  const mod = moduleFor(p);
  if (mod === null) return false;
  const { es, kernels: k } = mod;
  const n = p.length;
  const vMax = o.vMax ?? null;
  const chunk = chunkElements(n, es);
  const stride = scratch(mod, vMax === null ? 4 : 5, chunk);
  if (stride === 0) return false;
  const view = viewOf(mod);
  const pAt = HEAP_BASE;
  const gAt = pAt + stride;
  const mAt = gAt + stride;
  const vAt = mAt + stride;
  const vMaxAt = vAt + stride;
  const { beta1: b1, beta2: b2, eps, m, v, step: t } = o;
  const stepSize = o.lr / (1 - b1 ** t);
  const sqrtBc2 = Math.sqrt(1 - b2 ** t);
  const l2 = o.decoupled ? 0 : o.weightDecay;
  // θ·1 is θ exactly, so plain Adam runs the same kernel as AdamW.
  const shrink = o.decoupled && o.weightDecay !== 0 ? 1 - o.lr * o.weightDecay : 1;
  const amsgrad = vMax === null ? 0 : 1;
  for (let start = 0; start < n; start += chunk) {
    const len = Math.min(chunk, n - start);
    copyIn(view, p, start, len, pAt, es);
    copyIn(view, grad, start, len, gAt, es);
    copyIn(view, m, start, len, mAt, es);
    copyIn(view, v, start, len, vAt, es);
    if (vMax !== null) copyIn(view, vMax, start, len, vMaxAt, es);
    k.adam(
      pAt,
      gAt,
      mAt,
      vAt,
      vMaxAt,
      len,
      amsgrad,
      stepSize,
      sqrtBc2,
      b1,
      1 - b1,
      b2,
      1 - b2,
      eps,
      l2,
      shrink,
    );
    copyOut(view, p, start, len, pAt, es);
    copyOut(view, m, start, len, mAt, es);
    copyOut(view, v, start, len, vAt, es);
    if (vMax !== null) copyOut(view, vMax, start, len, vMaxAt, es);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Entry points.

function checkArrays(
  op: string,
  p: FloatArray,
  grad: FloatArray,
  state: [string, FloatArray | null | undefined][],
): void {
  if (!(p instanceof Float32Array || p instanceof Float64Array)) {
    throw new DTypeError(`${op}: the parameter must be a Float32Array or Float64Array`);
  }
  if (!(grad instanceof Float32Array || grad instanceof Float64Array)) {
    throw new DTypeError(`${op}: the gradient must be a Float32Array or Float64Array`);
  }
  if (grad.length !== p.length) {
    throw new ShapeError(`${op}: the gradient has ${grad.length} elements, the parameter ${p.length}`);
  }
  for (const [name, a] of state) {
    if (a === null || a === undefined) continue;
    if (a.constructor !== p.constructor) {
      throw new DTypeError(
        `${op}: ${name} is a ${a.constructor.name}, the parameter a ${p.constructor.name}`,
      );
    }
    if (a.length !== p.length) {
      throw new ShapeError(`${op}: ${name} has ${a.length} elements, the parameter ${p.length}`);
    }
  }
}

/** True when this call should run on WASM: backend 'wasm', or 'auto' from WASM_MIN_ELEMENTS on. */
function wantWasm(op: string, n: number): boolean {
  const backend = getKernelBackend();
  if (backend === "js") return false;
  if (backend === "wasm") {
    if (!wasmAvailable())
      throw new ValueError(`${op}: the 'wasm' kernel backend is unavailable in this runtime`);
    return true;
  }
  return n >= WASM_MIN_ELEMENTS && wasmAvailable();
}

/**
 * One SGD step over a parameter's values, in place: PyTorch's formulas (see SgdStep). Updates the
 * momentum buffer in place too. Runs on WASM SIMD above a size threshold (see getKernelBackend).
 */
export function sgdUpdate(param: FloatArray, grad: FloatArray, o: SgdStep): void {
  const momentum = o.momentum ?? 0;
  checkArrays("sgdUpdate", param, grad, [["buffer", o.buffer]]);
  if (momentum !== 0 && (o.buffer === null || o.buffer === undefined)) {
    throw new ValueError(`sgdUpdate: momentum ${momentum} needs a momentum buffer`);
  }
  if (wantWasm("sgdUpdate", param.length) && sgdUpdateWasm(param, grad, o)) {
    recordUpdate("wasm");
    return;
  }
  sgdUpdateJs(param, grad, o);
  recordUpdate("js");
}

/**
 * One Adam (or, with `decoupled`, AdamW) step over a parameter's values, in place: PyTorch's formulas
 * (see AdamStep). Updates m, v (and vMax for AMSGrad) in place too. Runs on WASM SIMD above a size
 * threshold (see getKernelBackend).
 */
export function adamUpdate(param: FloatArray, grad: FloatArray, o: AdamStep): void {
  checkArrays("adamUpdate", param, grad, [
    ["m", o.m],
    ["v", o.v],
    ["vMax", o.vMax],
  ]);
  if (!(Number.isInteger(o.step) && o.step >= 1)) {
    throw new ValueError(`adamUpdate: step must be an integer >= 1, got ${o.step}`);
  }
  if (wantWasm("adamUpdate", param.length) && adamUpdateWasm(param, grad, o)) {
    recordUpdate("wasm");
    return;
  }
  adamUpdateJs(param, grad, o);
  recordUpdate("js");
}
