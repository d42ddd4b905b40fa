import { helpersMustJoin } from "./workers.js";

/**
 * Whether a product should be split over helper threads. On an idle 2-core machine a second thread
 * nearly doubles the speed from about a million multiply-adds up; on a machine whose other cores
 * are busy (other processes, a CI runner) it makes products slower, because the helper is not
 * scheduled in time or is preempted mid-chunk. Neither a fixed threshold nor a one-off calibration
 * fits both, so the choice is measured as it goes: for each size class (a power of two of m·n·k, per kind of product)
 * the policy keeps a running average of the achieved rate (multiply-adds per ms) with and without
 * helpers, uses the faster, and every EXPLORE_EVERY-th product of the class tries the other one so
 * the estimate follows the machine's load (every 4·EXPLORE_EVERY-th when one choice is clearly faster).
 */

/** Below these sizes (multiply-adds) a helper's wake-up and the serial copies never pay off. */
const MIN_MACS = { float32: 1 << 20, float64: 1 << 19 };
/** Products from this size are timed (the smaller of the two minimums). */
export const POLICY_MIN_MACS = MIN_MACS.float64;
const EXPLORE_EVERY = 8;
/** A rate ratio beyond which the choice is clear and re-checked only every 4·EXPLORE_EVERY products. */
const CLEAR_WIN = 1.3;
/** Weight of the newest observation in the running averages. */
const ALPHA = 0.3;

interface SizeClass {
  single: number;
  multi: number;
  calls: number;
}

const classes = new Map<number, SizeClass>();

/**
 * What kind of product: the serial work around the split part differs (a convolution's forward on one
 * thread writes its columns straight into the packed layout, its input gradient ends in a serial
 * col2im), so the same size can favour helpers for one kind and not another. Each keeps its own estimates.
 */
export type ThreadedKind = "matmul" | "convForward" | "convInputGrad" | "convWeightGrad";
const KIND_INDEX: Record<ThreadedKind, number> = {
  matmul: 0,
  convForward: 1,
  convInputGrad: 2,
  convWeightGrad: 3,
};

function sizeClass(macs: number, isF32: boolean, kind: ThreadedKind): SizeClass {
  const key = (Math.round(Math.log2(macs)) * 2 + (isF32 ? 0 : 1)) * 4 + KIND_INDEX[kind];
  let cls = classes.get(key);
  if (cls === undefined) {
    cls = { single: 0, multi: 0, calls: 0 };
    classes.set(key, cls);
  }
  return cls;
}

/** Threads to request for a product of `macs` multiply-adds, given at most `maxThreads`. */
export function chooseThreads(
  macs: number,
  isF32: boolean,
  maxThreads: number,
  kind: ThreadedKind = "matmul",
): number {
  if (maxThreads <= 1 || macs < (isF32 ? MIN_MACS.float32 : MIN_MACS.float64)) return 1;
  if (helpersMustJoin()) return maxThreads;
  const cls = sizeClass(macs, isF32, kind);
  cls.calls++;
  if (cls.multi === 0) return maxThreads; // no estimate yet: try helpers first
  if (cls.single === 0) return 1;
  const best = cls.multi > cls.single ? maxThreads : 1;
  // Re-check the other choice now and then; rarely when the last estimates were far apart.
  const ratio = Math.max(cls.multi, cls.single) / Math.min(cls.multi, cls.single);
  const every = ratio > CLEAR_WIN ? EXPLORE_EVERY * 4 : EXPLORE_EVERY;
  if (cls.calls % every === 0) return best === 1 ? maxThreads : 1;
  return best;
}

/**
 * Records how a product went: it was run with `requested` threads (as chooseThreads said) and took
 * `ms` milliseconds. A request for helpers that they missed counts against helpers: that is what
 * asking for them achieved.
 */
export function recordRun(
  macs: number,
  isF32: boolean,
  requested: number,
  ms: number,
  kind: ThreadedKind = "matmul",
): void {
  if (macs < (isF32 ? MIN_MACS.float32 : MIN_MACS.float64)) return;
  const rate = macs / Math.max(ms, 1e-3);
  const cls = sizeClass(macs, isF32, kind);
  // A run of the choice that is not preferred now (an exploration) replaces its estimate: that one was
  // last measured many products ago, so averaging a fresh look into it would let one bad early sample
  // (a helper still waking up) keep the class on the slower choice for dozens of products.
  const multiPreferred = cls.multi > cls.single;
  const explored = requested > 1 ? !multiPreferred : multiPreferred;
  const alpha = explored ? 1 : ALPHA;
  if (requested > 1) cls.multi = cls.multi === 0 ? rate : cls.multi + alpha * (rate - cls.multi);
  else cls.single = cls.single === 0 ? rate : cls.single + alpha * (rate - cls.single);
}

/** Forgets all measurements (tests). */
export function resetThreadPolicy(): void {
  classes.clear();
}
