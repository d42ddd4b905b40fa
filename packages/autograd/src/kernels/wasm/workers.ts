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
const SEQ = 0; // job number, bumped by the caller
const DONE = 1; // last finished job number, set by the helper
const READY = 2; // 1 once the helper has instantiated the modules
const STATUS = 3; // 0 ok, 1 the last job threw
const JOB = 8; // the job's fields, laid out by JOB_FIELDS
const SLOT_STRIDE = 64; // int32 slots per helper (256 bytes); block 0 holds the shared chunk counter
export const MAX_HELPERS = CONTROL_BYTES / (SLOT_STRIDE * 4) - 1;
/** Int32 indices (in control block 0) of the counter chunks are drawn from and of the barrier. */
export const CHUNK_COUNTER = 0;
export const BARRIER = 1;

/**
 * One thread's share of a split product, in two phases.
 * 1. Each thread packs its own range of strips of the shared operand (the one not split: B when
 *    splitting rows of C, A when splitting columns), then all meet at a barrier.
 * 2. The split dimension (row or column tiles) is cut into chunks of `chunkTiles` tiles; a thread
 *    starts with chunk `first`, then draws chunk numbers from the shared counter until they run out,
 *    so a thread slowed down by other load on the machine simply takes fewer chunks. Per chunk it packs
 *    its strips of the split operand and computes that band of C.
 */
export interface ChunkJob {
  dtype: 0 | 1; // 0 float32, 1 float64
  splitRows: boolean;
  chunkTiles: number;
  tiles: number;
  first: number;
  /** packA (splitRows) or packB args (8); the strip range is filled in per chunk. */
  pack: number[];
  /** compute args (9); the split range is filled in per chunk. */
  compute: number[];
  /** packB (splitRows) or packA args (8) for the shared operand, with this thread's strip range. */
  sharedPack: number[];
  /** Threads taking part (the barrier's count). */
  threads: number;
}

/** Job fields as int32 slots: dtype, splitRows, chunkTiles, tiles, first, pack[8], compute[9], sharedPack[8], threads. */
const JOB_FIELDS = 5 + 8 + 9 + 8 + 1;

interface PackFns {
  packA: (...args: number[]) => void;
  packB: (...args: number[]) => void;
  compute: (...args: number[]) => void;
}

/** Waits (spinning briefly, then sleeping) until `threads` threads have arrived at the barrier. */
function barrier(counter: Int32Array, threads: number): void {
  if (Atomics.add(counter, BARRIER, 1) + 1 === threads) {
    Atomics.notify(counter, BARRIER);
    return;
  }
  for (let spin = 0; spin < 4000; spin++) if (Atomics.load(counter, BARRIER) >= threads) return;
  for (let v = Atomics.load(counter, BARRIER); v < threads; v = Atomics.load(counter, BARRIER)) {
    Atomics.wait(counter, BARRIER, v, 5);
  }
}

/** Runs one share on the calling thread; HELPER_SOURCE below is the same code in plain JS. */
export function runShare(fns: PackFns, counter: Int32Array, job: ChunkJob): void {
  const sharedPack = job.splitRows ? fns.packB : fns.packA;
  if (job.sharedPack[7]! > job.sharedPack[6]!) sharedPack(...job.sharedPack);
  barrier(counter, job.threads);
  const pack = job.splitRows ? fns.packA : fns.packB;
  const p = job.pack.slice();
  const c = job.compute.slice();
  const chunks = Math.ceil(job.tiles / job.chunkTiles);
  for (let chunk = job.first; chunk < chunks; chunk = Atomics.add(counter, CHUNK_COUNTER, 1)) {
    const t0 = chunk * job.chunkTiles;
    const t1 = Math.min(t0 + job.chunkTiles, job.tiles);
    p[6] = t0;
    p[7] = t1;
    pack(...p);
    c[job.splitRows ? 5 : 7] = t0;
    c[job.splitRows ? 6 : 8] = t1;
    fns.compute(...c);
  }
}

/** The helper's program, run with eval so it needs no file on disk (sources and dist alike). */
const HELPER_SOURCE = `
"use strict";
const { workerData } = require("node:worker_threads");
const { memory, modules, base } = workerData;
const fns = modules.map((m) => new WebAssembly.Instance(m, { env: { memory } }).exports);
const ctl = new Int32Array(memory.buffer, base, ${SLOT_STRIDE});
const counter = new Int32Array(memory.buffer, 0, 2);
function barrier(threads) {
  if (Atomics.add(counter, ${BARRIER}, 1) + 1 === threads) { Atomics.notify(counter, ${BARRIER}); return; }
  for (let spin = 0; spin < 4000; spin++) if (Atomics.load(counter, ${BARRIER}) >= threads) return;
  for (let v = Atomics.load(counter, ${BARRIER}); v < threads; v = Atomics.load(counter, ${BARRIER})) {
    Atomics.wait(counter, ${BARRIER}, v, 5);
  }
}
Atomics.store(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${SEQ}, seen);
  const seq = Atomics.load(ctl, ${SEQ});
  if (seq === seen) continue;
  seen = seq;
  try {
    const j = Array.from(ctl.subarray(${JOB}, ${JOB} + ${JOB_FIELDS}));
    const f = fns[j[0]];
    const splitRows = j[1] === 1, chunkTiles = j[2], tiles = j[3];
    const p = j.slice(5, 13), c = j.slice(13, 22), sp = j.slice(22, 30);
    if (sp[7] > sp[6]) (splitRows ? f.packB : f.packA)(...sp);
    barrier(j[30]);
    const pack = splitRows ? f.packA : f.packB;
    const chunks = Math.ceil(tiles / chunkTiles);
    for (let chunk = j[4]; chunk < chunks; chunk = Atomics.add(counter, ${CHUNK_COUNTER}, 1)) {
      const t0 = chunk * chunkTiles, t1 = Math.min(t0 + chunkTiles, tiles);
      p[6] = t0; p[7] = t1;
      pack(...p);
      c[splitRows ? 5 : 7] = t0; c[splitRows ? 6 : 8] = t1;
      f.compute(...c);
    }
    ctl[${STATUS}] = 0;
  } catch (e) {
    ctl[${STATUS}] = 1;
  }
  Atomics.store(ctl, ${DONE}, seq);
  Atomics.notify(ctl, ${DONE});
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
    const modules = [rt.engines.float32.module, rt.engines.float64.module];
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

/** Hands a job to helper `index` (which must be ready) without waiting for it. */
export function postJob(rt: WasmRuntime, index: number, job: ChunkJob): void {
  const h = helpers[index]!;
  const ctl = rt.i32;
  const at = h.base + JOB;
  ctl[at] = job.dtype;
  ctl[at + 1] = job.splitRows ? 1 : 0;
  ctl[at + 2] = job.chunkTiles;
  ctl[at + 3] = job.tiles;
  ctl[at + 4] = job.first;
  ctl.set(job.pack, at + 5);
  ctl.set(job.compute, at + 13);
  ctl.set(job.sharedPack, at + 22);
  ctl[at + 30] = job.threads;
  h.seq++;
  Atomics.store(ctl, h.base + SEQ, h.seq);
  Atomics.notify(ctl, h.base + SEQ);
}

/** Blocks until helper `index` has finished its last job; false when that job failed. */
export function awaitJob(rt: WasmRuntime, index: number): boolean {
  const h = helpers[index]!;
  const ctl = rt.i32;
  for (;;) {
    const done = Atomics.load(ctl, h.base + DONE);
    if (done === h.seq) break;
    Atomics.wait(ctl, h.base + DONE, done, 100);
  }
  return ctl[h.base + STATUS] === 0;
}
