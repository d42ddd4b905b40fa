import type { WasmDType } from "./gemm-module.js";
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
const DTYPE = 4; // 0 float32, 1 float64
const PACK_A = 8; // 8 args of packA
const PACK_B = 16; // 8 args of packB
const COMPUTE = 24; // 9 args of compute
const SLOT_STRIDE = 64; // int32 slots per helper (256 bytes)
export const MAX_HELPERS = CONTROL_BYTES / (SLOT_STRIDE * 4) - 1;

/** The helper's program, run with eval so it needs no file on disk (sources and dist alike). */
const HELPER_SOURCE = `
"use strict";
const { workerData } = require("node:worker_threads");
const { memory, modules, base } = workerData;
const fns = modules.map((m) => new WebAssembly.Instance(m, { env: { memory } }).exports);
const ctl = new Int32Array(memory.buffer, base, ${SLOT_STRIDE});
const arg = (at, n) => Array.from(ctl.subarray(at, at + n));
Atomics.store(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${SEQ}, seen);
  const seq = Atomics.load(ctl, ${SEQ});
  if (seq === seen) continue;
  seen = seq;
  try {
    const f = fns[ctl[${DTYPE}]];
    f.packA(...arg(${PACK_A}, 8));
    f.packB(...arg(${PACK_B}, 8));
    f.compute(...arg(${COMPUTE}, 9));
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

export interface HelperJob {
  dtype: WasmDType;
  packA: readonly number[];
  packB: readonly number[];
  compute: readonly number[];
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
export function postJob(rt: WasmRuntime, index: number, job: HelperJob): void {
  const h = helpers[index]!;
  const ctl = rt.i32;
  ctl[h.base + DTYPE] = job.dtype === "float32" ? 0 : 1;
  ctl.set(job.packA, h.base + PACK_A);
  ctl.set(job.packB, h.base + PACK_B);
  ctl.set(job.compute, h.base + COMPUTE);
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
