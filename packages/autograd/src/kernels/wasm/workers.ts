import { TapegradError } from "../../errors.js";
import type { WasmDType } from "./codegen.js";
import { buildConvModule } from "./conv-module.js";
import { nodeBuiltin } from "./platform.js";
import { CONTROL_BYTES, type WasmRuntime } from "./runtime.js";

/**
 * Helper threads for large GEMMs: Node worker_threads that instantiate the same modules on the same
 * shared memory and wait on a control block with Atomics. The calling thread writes a job, notifies,
 * does its own share, then blocks in Atomics.wait until every helper is done, so the kernel API stays
 * synchronous. Helpers are started lazily, unref()'d (they never keep a process alive), and used only
 * once they report ready; where worker_threads or shared memory are missing, everything runs on one thread.
 */

/** Int32 slots of one helper's control block (each helper has its own, SLOT_STRIDE apart). */
const SEQ = 0; // job number, bumped by the caller before it marks the job POSTED
const DONE = 1; // last finished job number, set by the helper
const READY = 2; // 1 once the helper has instantiated the modules
const STATUS = 3; // 0 ok, 1 the last job threw
const STATE = 4; // POSTED -> CLAIMED (by the helper) or CANCELLED (by the caller), whoever is first
const HELPER_SLEEPS = 5; // 1 while the helper is (about to be) in Atomics.wait for a job
const CALLER_SLEEPS = 6; // 1 while the caller is (about to be) in Atomics.wait for this helper
const JOB = 8; // the job's fields, laid out by JOB_FIELDS
const SLOT_STRIDE = 64; // int32 slots per helper (256 bytes); block 0 holds the shared counters
/** How long an idle helper keeps polling for the next job before it sleeps. */
const SPIN_MS = 0.2;
const POSTED = 1;
const CLAIMED = 2;
const CANCELLED = 3;
export const MAX_HELPERS = CONTROL_BYTES / (SLOT_STRIDE * 4) - 1;

/** Int32 indices (in control block 0) of the counters the threads of one product share. */
const SHARED_NEXT = 0; // next chunk of the shared operand to pack
const SHARED_DONE = 1; // chunks of the shared operand packed so far
const CHUNK_NEXT = 2; // first tile of C no thread has taken yet
const SHARED_SLEEPERS = 3; // threads in Atomics.wait for SHARED_DONE

/*
 * Waking a sleeping thread (Atomics.notify) costs a system call and, on a busy machine, can cost the
 * notifier its time slice; so every sleeper first raises a flag (or count) and then sleeps, and a
 * notifier calls notify only when it sees one. With sequentially consistent atomics either the
 * notifier sees the flag, or the sleeper's Atomics.wait sees the new value and does not sleep.
 */

/**
 * One thread's part in a product split across threads, in two phases, both by chunks drawn from
 * shared counters so a thread slowed down by other load on the machine simply takes fewer chunks:
 * 1. pack the shared operand (the one not split: B when splitting rows of C, A when splitting
 *    columns) by chunks of `sharedChunkTiles` strips, then wait until every chunk of it is packed;
 * 2. compute C by bands of tiles of the split dimension, packing that band's strips of the split
 *    operand first: a thread takes 1/(2·threads) of the tiles left, at least `chunkTiles`.
 *    `first` >= 0 hands this thread band [first·chunkTiles, (first+1)·chunkTiles) up front.
 */
export interface ShareJob {
  dtype: 0 | 1; // 0 float32, 1 float64
  splitRows: boolean;
  tiles: number;
  chunkTiles: number;
  first: number;
  sharedTiles: number;
  sharedChunkTiles: number;
  /** packA (splitRows) or packB args (8); the strip range is filled in per chunk. */
  pack: number[];
  /** packB (splitRows) or packA args (8) for the shared operand; the strip range is filled in per chunk. */
  sharedPack: number[];
  /** compute args (10); the split range is filled in per chunk. */
  compute: number[];
  /** Threads taking part (sets the guided chunk sizes). */
  threads: number;
  /** The split operand is packed already (a convolution's columns written packed): bands only compute. */
  splitPrepacked: boolean;
}

/** Job fields as int32 slots: the 7 scalars above, then pack[8], sharedPack[8], compute[10], threads, splitPrepacked. */
const JOB_FIELDS = 7 + 8 + 8 + 10 + 2;

/**
 * A convolution's im2col or col2im split by samples (conv-module.ts WindowKernel: both x and the
 * columns of different samples are disjoint): every thread takes chunks of `chunk` samples from a
 * shared counter; `first` >= 0 hands this thread chunk `first` up front (as for ShareJob).
 */
export interface WindowJob {
  dtype: 0 | 1;
  /** col2im (true) or im2col. */
  add: boolean;
  samples: number;
  chunk: number;
  first: number;
  threads: number;
  /** The kernel's 20 arguments; the last two (b0, b1) are filled in per chunk. */
  args: number[];
}

/** Where a WindowJob's fields go in a control block: the kind flag after ShareJob's fields, then its own. */
const KIND = JOB_FIELDS; // 0: ShareJob, 1: WindowJob
const WINDOW_ARGS = KIND + 1; // 20 slots: the kernel's arguments
const WINDOW_FIELDS = 20;

/** The module list every helper instantiates: GEMM f32, GEMM f64, conv f32, conv f64 (by this index). */
const CONV_MODULE = { float32: 2, float64: 3 } as const;

export interface KernelFns {
  packA: (...args: number[]) => void;
  packB: (...args: number[]) => void;
  compute: (...args: number[]) => void;
}

/** Resets the shared counters before a split product; tiles below `firstTiles` are handed out up front. */
function resetCounters(rt: WasmRuntime, firstTiles: number): void {
  Atomics.store(rt.i32, SHARED_NEXT, 0);
  Atomics.store(rt.i32, SHARED_DONE, 0);
  Atomics.store(rt.i32, CHUNK_NEXT, firstTiles);
  Atomics.store(rt.i32, SHARED_SLEEPERS, 0);
}

/** Until counters[SHARED_DONE] reaches target: spin a little, then sleep (counted in SHARED_SLEEPERS). */
function waitSharedDone(counters: Int32Array, target: number): void {
  let spin = 0;
  for (let v = Atomics.load(counters, SHARED_DONE); v < target; v = Atomics.load(counters, SHARED_DONE)) {
    if (++spin < 4000) continue;
    Atomics.add(counters, SHARED_SLEEPERS, 1);
    Atomics.wait(counters, SHARED_DONE, v, 10);
    Atomics.sub(counters, SHARED_SLEEPERS, 1);
  }
}

/**
 * The job of a product C[m, n] = op(A)·op(B) split over `threads` threads: the longer tile dimension of C
 * is split into chunks, the other operand is shared; packA/packB are the packing calls' 8 arguments with
 * the strip range left for the threads to fill in.
 */
export function productJob(
  isF32: boolean,
  mTiles: number,
  nTiles: number,
  packA: number[],
  packB: number[],
  compute: number[],
  threads: number,
): ShareJob {
  const splitRows = mTiles >= nTiles;
  const tiles = splitRows ? mTiles : nTiles;
  const sharedTiles = splitRows ? nTiles : mTiles;
  return {
    dtype: isF32 ? 0 : 1,
    splitRows,
    tiles,
    chunkTiles: Math.max(1, Math.ceil(tiles / (16 * threads))),
    first: mustJoin ? 0 : -1,
    sharedTiles,
    sharedChunkTiles: Math.max(1, Math.ceil(sharedTiles / (4 * threads))),
    pack: splitRows ? packA : packB,
    sharedPack: splitRows ? packB : packA,
    compute,
    threads,
    splitPrepacked: false,
  };
}

/**
 * Runs `job` on its threads: posts it to the helpers, runs `meanwhile` (work that overlaps theirs), does
 * this thread's part, then waits for (or cancels) theirs. Returns how many threads took part.
 */
export function runJob(rt: WasmRuntime, fns: KernelFns, job: ShareJob, meanwhile?: () => void): number {
  const joinAll = job.first >= 0;
  resetCounters(rt, joinAll ? Math.min(job.tiles, job.threads * job.chunkTiles) : 0);
  for (let t = 1; t < job.threads; t++) postJob(rt, t - 1, { ...job, first: joinAll ? t : -1 });
  meanwhile?.();
  runShare(fns, rt.i32, job);
  let joined = 1;
  for (let t = 1; t < job.threads; t++) if (finishJob(rt, t - 1)) joined++;
  return joined;
}

/** One thread's part of a WindowJob on the calling thread; HELPER_SOURCE has the same code in plain JS. */
function runWindows(kernel: (...args: number[]) => void, counters: Int32Array, job: WindowJob): void {
  const args = job.args.slice();
  const part = (b0: number): void => {
    args[18] = b0;
    args[19] = Math.min(job.samples, b0 + job.chunk);
    kernel(...args);
  };
  if (job.first >= 0 && job.first * job.chunk < job.samples) part(job.first * job.chunk);
  for (
    let b0 = Atomics.add(counters, CHUNK_NEXT, job.chunk);
    b0 < job.samples;
    b0 = Atomics.add(counters, CHUNK_NEXT, job.chunk)
  ) {
    part(b0);
  }
}

/** Runs a WindowJob on its threads: posts it, does this thread's part, then waits for (or cancels) theirs. */
export function runWindowJob(rt: WasmRuntime, kernel: (...args: number[]) => void, job: WindowJob): void {
  const joinAll = job.first >= 0;
  resetCounters(rt, joinAll ? Math.min(job.samples, job.threads * job.chunk) : 0);
  for (let t = 1; t < job.threads; t++) postWindowJob(rt, t - 1, { ...job, first: joinAll ? t : -1 });
  runWindows(kernel, rt.i32, job);
  for (let t = 1; t < job.threads; t++) finishJob(rt, t - 1);
}

/** Runs one part on the calling thread; HELPER_SOURCE below is the same code in plain JS. */
function runShare(fns: KernelFns, counters: Int32Array, job: ShareJob): void {
  const sharedPack = job.splitRows ? fns.packB : fns.packA;
  const sp = job.sharedPack.slice();
  const sharedChunks = Math.ceil(job.sharedTiles / job.sharedChunkTiles);
  for (
    let i = Atomics.add(counters, SHARED_NEXT, 1);
    i < sharedChunks;
    i = Atomics.add(counters, SHARED_NEXT, 1)
  ) {
    sp[6] = i * job.sharedChunkTiles;
    sp[7] = Math.min(sp[6] + job.sharedChunkTiles, job.sharedTiles);
    sharedPack(...sp);
    const done = Atomics.add(counters, SHARED_DONE, 1) + 1;
    if (done === sharedChunks && Atomics.load(counters, SHARED_SLEEPERS) > 0)
      Atomics.notify(counters, SHARED_DONE);
  }
  waitSharedDone(counters, sharedChunks);
  const pack = job.splitRows ? fns.packA : fns.packB;
  const p = job.pack.slice();
  const c = job.compute.slice();
  const band = (t0: number, t1: number): void => {
    p[6] = t0;
    p[7] = t1;
    if (!job.splitPrepacked) pack(...p);
    c[job.splitRows ? 5 : 7] = t0;
    c[job.splitRows ? 6 : 8] = t1;
    fns.compute(...c);
  };
  if (job.first >= 0) {
    const t0 = job.first * job.chunkTiles;
    band(Math.min(t0, job.tiles), Math.min(t0 + job.chunkTiles, job.tiles));
  }
  // Guided self-scheduling: take a share of what is left (at least chunkTiles), so chunks are large
  // at first and small at the end, where a late thread would otherwise hold up the others.
  for (;;) {
    const t0 = Atomics.load(counters, CHUNK_NEXT);
    if (t0 >= job.tiles) break;
    const size = Math.max(job.chunkTiles, Math.ceil((job.tiles - t0) / (2 * job.threads)));
    const t1 = Math.min(job.tiles, t0 + size);
    if (Atomics.compareExchange(counters, CHUNK_NEXT, t0, t1) === t0) band(t0, t1);
  }
}

/** The helper's program, run with eval so it needs no file on disk (sources and dist alike). */
const HELPER_SOURCE = `
"use strict";
const { workerData } = require("node:worker_threads");
const { memory, modules, base } = workerData;
const fns = modules.map((m) => new WebAssembly.Instance(m, { env: { memory } }).exports);
const ctl = new Int32Array(memory.buffer, base, ${SLOT_STRIDE});
const counters = new Int32Array(memory.buffer, 0, 4);
function waitSharedDone(target) {
  let spin = 0;
  for (let v = Atomics.load(counters, ${SHARED_DONE}); v < target; v = Atomics.load(counters, ${SHARED_DONE})) {
    if (++spin < 4000) continue;
    Atomics.add(counters, ${SHARED_SLEEPERS}, 1);
    Atomics.wait(counters, ${SHARED_DONE}, v, 10);
    Atomics.sub(counters, ${SHARED_SLEEPERS}, 1);
  }
}
function runShare(j) {
  const f = fns[j[0]];
  const splitRows = j[1] === 1, tiles = j[2], chunkTiles = j[3], first = j[4];
  const sharedTiles = j[5], sharedChunkTiles = j[6];
  const p = j.slice(7, 15), sp = j.slice(15, 23), c = j.slice(23, 33), threads = j[33], prepacked = j[34] === 1;
  const sharedPack = splitRows ? f.packB : f.packA;
  const sharedChunks = Math.ceil(sharedTiles / sharedChunkTiles);
  for (let i = Atomics.add(counters, ${SHARED_NEXT}, 1); i < sharedChunks; i = Atomics.add(counters, ${SHARED_NEXT}, 1)) {
    sp[6] = i * sharedChunkTiles;
    sp[7] = Math.min(sp[6] + sharedChunkTiles, sharedTiles);
    sharedPack(...sp);
    const done = Atomics.add(counters, ${SHARED_DONE}, 1) + 1;
    if (done === sharedChunks && Atomics.load(counters, ${SHARED_SLEEPERS}) > 0) Atomics.notify(counters, ${SHARED_DONE});
  }
  waitSharedDone(sharedChunks);
  const pack = splitRows ? f.packA : f.packB;
  const band = (t0, t1) => {
    p[6] = t0; p[7] = t1;
    if (!prepacked) pack(...p);
    c[splitRows ? 5 : 7] = t0; c[splitRows ? 6 : 8] = t1;
    f.compute(...c);
  };
  if (first >= 0) {
    const t0 = first * chunkTiles;
    band(Math.min(t0, tiles), Math.min(t0 + chunkTiles, tiles));
  }
  for (;;) {
    const t0 = Atomics.load(counters, ${CHUNK_NEXT});
    if (t0 >= tiles) break;
    const t1 = Math.min(tiles, t0 + Math.max(chunkTiles, Math.ceil((tiles - t0) / (2 * threads))));
    if (Atomics.compareExchange(counters, ${CHUNK_NEXT}, t0, t1) === t0) band(t0, t1);
  }
}
function runWindows(j) {
  const conv = fns[j[0] === 0 ? ${CONV_MODULE.float32} : ${CONV_MODULE.float64}];
  const kernel = j[1] === 1 ? conv.col2im : conv.im2col;
  const samples = j[2], chunk = j[3], first = j[4];
  const args = j.slice(${WINDOW_ARGS}, ${WINDOW_ARGS + WINDOW_FIELDS});
  const part = (b0) => { args[18] = b0; args[19] = Math.min(samples, b0 + chunk); kernel(...args); };
  if (first >= 0 && first * chunk < samples) part(first * chunk);
  for (let b0 = Atomics.add(counters, ${CHUNK_NEXT}, chunk); b0 < samples; b0 = Atomics.add(counters, ${CHUNK_NEXT}, chunk)) part(b0);
}
Atomics.store(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  // Products often come back to back (a forward pass, then its backward): watch for the next job
  // for a short while before sleeping, which saves the wake-up latency of a sleeping thread.
  const until = performance.now() + ${SPIN_MS};
  while (Atomics.load(ctl, ${SEQ}) === seen && performance.now() < until) {}
  Atomics.store(ctl, ${HELPER_SLEEPS}, 1);
  Atomics.wait(ctl, ${SEQ}, seen);
  Atomics.store(ctl, ${HELPER_SLEEPS}, 0);
  seen = Atomics.load(ctl, ${SEQ});
  // A job the caller already finished by itself is CANCELLED: leave it.
  if (Atomics.compareExchange(ctl, ${STATE}, ${POSTED}, ${CLAIMED}) !== ${POSTED}) continue;
  const seq = Atomics.load(ctl, ${SEQ});
  seen = seq;
  try {
    const job = Array.from(ctl.subarray(${JOB}, ${JOB + WINDOW_ARGS + WINDOW_FIELDS}));
    if (job[${KIND}] === 1) runWindows(job);
    else runShare(job);
    ctl[${STATUS}] = 0;
  } catch (e) {
    ctl[${STATUS}] = 1;
  }
  Atomics.store(ctl, ${DONE}, seq);
  if (Atomics.load(ctl, ${CALLER_SLEEPS}) === 1) Atomics.notify(ctl, ${DONE});
}
`;

interface WorkerLike {
  unref(): void;
  on(event: "error" | "exit", listener: (arg: unknown) => void): void;
}
interface WorkerThreadsModule {
  Worker: new (
    source: string,
    opts: { eval: true; workerData: unknown; stdout?: boolean; stderr?: boolean },
  ) => WorkerLike;
}

interface Helper {
  worker: WorkerLike;
  /** Index of the first int32 slot of this helper's control block in rt.i32. */
  base: number;
  seq: number;
  broken: boolean;
}

const helpers: Helper[] = [];
let mustJoin = false;

/**
 * With `on`, a split product waits for every helper it posted to, and each helper computes at least
 * one chunk. Off (the default) a helper the OS has not scheduled by the time the caller is done is
 * cancelled instead. Tests turn it on so the helper's part is always exercised.
 */
export function setHelpersMustJoin(on: boolean): void {
  mustJoin = on;
}

export function helpersMustJoin(): boolean {
  return mustJoin;
}
let workerThreads: WorkerThreadsModule | null | undefined;

function workerThreadsModule(): WorkerThreadsModule | null {
  if (workerThreads === undefined) {
    workerThreads = nodeBuiltin<WorkerThreadsModule>("node:worker_threads") ?? null;
  }
  return workerThreads;
}

/** Whether helper threads can exist at all here (Node with worker_threads and a shared memory). */
export function threadsSupported(rt: WasmRuntime): boolean {
  return rt.shared && workerThreadsModule() !== null;
}

/** Starts helpers up to `count` (lazily, once each); returns how many exist and are not broken. */
export function startHelpers(rt: WasmRuntime, count: number): number {
  const wt = workerThreadsModule();
  if (!wt || !rt.shared) return 0;
  const want = Math.min(count, MAX_HELPERS);
  while (helpers.length < want) {
    const index = helpers.length;
    const base = (index + 1) * SLOT_STRIDE;
    rt.i32.fill(0, base, base + SLOT_STRIDE);
    const modules = [
      rt.engines.float32.module,
      rt.engines.float64.module,
      sharedConvModule(rt, "float32"),
      sharedConvModule(rt, "float64"),
    ];
    const worker = new wt.Worker(HELPER_SOURCE, {
      eval: true,
      workerData: { memory: rt.memory, modules, base: base * 4 },
    });
    const helper: Helper = { worker, base, seq: 0, broken: false };
    worker.on("error", () => {
      helper.broken = true;
    });
    worker.on("exit", () => {
      helper.broken = true;
    });
    worker.unref();
    helpers.push(helper);
  }
  return helpers.slice(0, want).filter((h) => !h.broken).length;
}

/** Helpers that have finished starting and can take a job now (never blocks). */
export function readyHelpers(rt: WasmRuntime, count: number): number {
  let ready = 0;
  for (let i = 0; i < Math.min(count, helpers.length); i++) {
    const h = helpers[i]!;
    if (h.broken || Atomics.load(rt.i32, h.base + READY) !== 1) break;
    ready++;
  }
  return ready;
}

/** Blocks until `count` helpers are ready or `timeoutMs` passes; returns how many are ready. */
export function waitForHelpers(rt: WasmRuntime, count: number, timeoutMs: number): number {
  const started = startHelpers(rt, count);
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < started; i++) {
    const h = helpers[i]!;
    while (Atomics.load(rt.i32, h.base + READY) !== 1 && !h.broken) {
      const left = deadline - Date.now();
      if (left <= 0) return readyHelpers(rt, count);
      Atomics.wait(rt.i32, h.base + READY, 0, Math.min(left, 50));
    }
  }
  return readyHelpers(rt, count);
}

const convModules = new Map<WasmRuntime, Record<WasmDType, object>>();

/**
 * The convolution module compiled for the shared memory, once per runtime: helpers instantiate it when
 * they start (window jobs), and the calling thread instantiates the same module for its own part.
 */
export function sharedConvModule(rt: WasmRuntime, dtype: WasmDType): object {
  let modules = convModules.get(rt);
  if (modules === undefined) {
    const compile = (d: WasmDType) =>
      new rt.api.Module(buildConvModule({ dtype: d, shared: rt.shared, maxPages: rt.maxPages }));
    modules = { float32: compile("float32"), float64: compile("float64") };
    convModules.set(rt, modules);
  }
  return modules[dtype];
}

/** Hands a job to helper `index` (which must be ready) without waiting for it. */
function postJob(rt: WasmRuntime, index: number, job: ShareJob): void {
  const h = helpers[index]!;
  const ctl = rt.i32;
  const at = h.base + JOB;
  ctl[at] = job.dtype;
  ctl[at + 1] = job.splitRows ? 1 : 0;
  ctl[at + 2] = job.tiles;
  ctl[at + 3] = job.chunkTiles;
  ctl[at + 4] = job.first;
  ctl[at + 5] = job.sharedTiles;
  ctl[at + 6] = job.sharedChunkTiles;
  ctl.set(job.pack, at + 7);
  ctl.set(job.sharedPack, at + 15);
  ctl.set(job.compute, at + 23);
  ctl[at + 33] = job.threads;
  ctl[at + 34] = job.splitPrepacked ? 1 : 0;
  ctl[at + KIND] = 0;
  publish(rt, h);
}

/** Hands a WindowJob to helper `index` (which must be ready) without waiting for it. */
function postWindowJob(rt: WasmRuntime, index: number, job: WindowJob): void {
  const h = helpers[index]!;
  const ctl = rt.i32;
  const at = h.base + JOB;
  ctl[at] = job.dtype;
  ctl[at + 1] = job.add ? 1 : 0;
  ctl[at + 2] = job.samples;
  ctl[at + 3] = job.chunk;
  ctl[at + 4] = job.first;
  ctl[at + KIND] = 1;
  ctl.set(job.args, at + WINDOW_ARGS);
  publish(rt, h);
}

/** Makes the job just written in helper `index`'s block visible to it, and wakes it if it sleeps. */
function publish(rt: WasmRuntime, h: Helper): void {
  const ctl = rt.i32;
  h.seq++;
  // SEQ before STATE: a helper that claims the job then reads this job's number.
  Atomics.store(ctl, h.base + SEQ, h.seq);
  Atomics.store(ctl, h.base + STATE, POSTED);
  if (Atomics.load(ctl, h.base + HELPER_SLEEPS) === 1) Atomics.notify(ctl, h.base + SEQ);
}

/**
 * Ends helper `index`'s part in the last job once the caller has finished its own: a job the helper
 * has not claimed yet is cancelled (the caller did all the work, nobody waits for a thread the OS has
 * not scheduled); a claimed one is waited for. With `mustJoin`, never cancels (deterministic tests).
 * Returns whether the helper took part; throws if its part failed.
 */
export function finishJob(rt: WasmRuntime, index: number): boolean {
  const h = helpers[index]!;
  const ctl = rt.i32;
  if (!mustJoin && Atomics.compareExchange(ctl, h.base + STATE, POSTED, CANCELLED) === POSTED) return false;
  let spin = 0;
  for (let done = Atomics.load(ctl, h.base + DONE); done !== h.seq; done = Atomics.load(ctl, h.base + DONE)) {
    if (++spin < 4000) continue;
    Atomics.store(ctl, h.base + CALLER_SLEEPS, 1);
    Atomics.wait(ctl, h.base + DONE, done, 10);
    Atomics.store(ctl, h.base + CALLER_SLEEPS, 0);
  }
  if (ctl[h.base + STATUS] !== 0) {
    throw new TapegradError("gemm (wasm): a helper thread failed while computing its share of C");
  }
  return true;
}
