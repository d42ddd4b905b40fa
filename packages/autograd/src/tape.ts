import { batchedApply, batchHooks, isBatched, storageOf } from "./batched.js";
import { allocate } from "./dtype.js";
import { AllocationError, GraphError, ShapeError, TapegradError, ValueError } from "./errors.js";
import type { TapeNode } from "./graph.js";
import { type RecordedOp, Tape } from "./graph-tape.js";
import { binary } from "./kernels/binary.js";
import { customRules } from "./ops/custom.js";
import { jvpRules } from "./ops/jvp-rules.js";
import type { NonDifferentiableOp, NonDifferentiableParams } from "./ops/non-differentiable.js";
import type { Primitive, PrimitiveParams, Rule } from "./ops/primitive.js";
import { shapeRules } from "./ops/shape.js";
import { formatShape, shapesEqual } from "./shape.js";
import { Tensor } from "./tensor.js";
import { WalkBuffers } from "./walk-buffers.js";

/** A scope frame: scopes form a linked list so tagging a node costs one pointer. */
export interface ScopeFrame {
  readonly label: string;
  readonly id: number;
  readonly parent: ScopeFrame | null;
}

/**
 * One recorded op application: f_index = rule(inputs). Held by its output tensor (as PyTorch does),
 * so a graph nobody differentiates is garbage-collected with its tensors.
 */
export class Node {
  /** @internal cotangent accumulated during a backward walk */
  cotangent: Tensor | null = null;
  /** @internal whether `cotangent` is a buffer this walk allocated (and may therefore add into in place) */
  cotangentOwned = false;
  /** @internal backward-walk bookkeeping */
  visitMark = 0;
  needed = false;
  released = false;

  constructor(
    readonly index: number,
    readonly rule: Rule<Primitive>,
    public inputs: readonly Tensor[],
    public output: Tensor | null,
    public params: unknown,
    readonly scope: ScopeFrame | null,
  ) {}

  get op(): string {
    return this.rule.name === "custom" ? (this.params as PrimitiveParams["custom"]).name : this.rule.name;
  }

  /** Drops the saved tensors (inputs and output) once backward no longer needs them. */
  release(): void {
    this.released = true;
    this.inputs = [];
    this.output = null;
    this.params = null;
  }
}

// ---- global recording state ------------------------------------------------------------------

const state = {
  /** Whether ops record nodes (false inside noGrad and during a plain backward). */
  gradEnabled: true,
  /** Index of the next node: the i of f_i, increasing in creation order. */
  nextIndex: 0,
  scope: null as ScopeFrame | null,
  nextScopeId: 1,
  recorders: [] as Recorder[],
  anomaly: false,
  walkEpoch: 0,
  /** Marks (walkEpoch values) of the backward walks in progress. */
  activeWalks: new Set<number>(),
  /** How many functional transforms are evaluating their function right now (nesting depth). */
  transformDepth: 0,
  /**
   * The jvps in progress, outermost first. Each level keeps its own tangents (a dual number per level,
   * as JAX's nested traces), so a nested jvp never mistakes an outer perturbation for its own.
   */
  jvpLevels: [] as JvpLevel[],
  nextJvpLevel: 1,
  /**
   * Active substitutions, outermost first (substitute(), functionalCall, checkpoint's recomputation):
   * a tensor an op reads is replaced by its substitute, map after map.
   */
  substitute: [] as Map<Tensor, Tensor>[],
  /** checkpoint's first forward: collects the tensors that require grad read by any op. */
  capture: null as Set<Tensor> | null,
};

/** One jvp in progress (an identity: a tangent belongs to the level object that set it). */
export interface JvpLevel {
  readonly id: number;
}

/**
 * A tensor's tangent at one jvp level, in a short list on the tensor (one entry per level that reached
 * it, usually one). A level that has finished is never active again, so entries it left on tensors that
 * outlive it are never read.
 */
export interface Dual {
  readonly level: JvpLevel;
  readonly tangent: Tensor;
  readonly next: Dual | null;
}

function tangentAt(x: Tensor, level: JvpLevel): Tensor | undefined {
  for (let d = x._duals; d !== null; d = d.next) if (d.level === level) return d.tangent;
  return undefined;
}

function setTangent(x: Tensor, level: JvpLevel, tangent: Tensor): void {
  x._duals = { level, tangent, next: x._duals };
}

export function isGradEnabled(): boolean {
  return state.gradEnabled;
}

function withGradEnabled<T>(enabled: boolean, fn: () => T): T {
  const prev = state.gradEnabled;
  state.gradEnabled = enabled;
  try {
    return fn();
  } finally {
    state.gradEnabled = prev;
  }
}

/**
 * The scoped helpers restore their state when fn returns, before any of its awaits resume, so an
 * async fn would run its later ops outside the state it asked for: refuse it with a clear error.
 */
function synchronous<T>(value: T, op: string): T {
  if (typeof (value as { then?: unknown } | null)?.then === "function") {
    (value as unknown as Promise<unknown>).then(undefined, () => {}); // its own error is superseded by ours
    throw new TapegradError(
      `${op}: fn returned a Promise; ${op} switches its state back when fn returns, before any await resumes. Keep fn synchronous (await outside it)`,
    );
  }
  return value;
}

/** The function arguments of noGrad, grads, ...: anything else is an error naming the caller. */
function checkFunction(fn: unknown, op: string): void {
  if (typeof fn !== "function") {
    throw new ValueError(`${op}: expected a function, got ${fn === null ? "null" : typeof fn}`);
  }
}

/** Runs fn without recording the graph and returns its result. */
export function noGrad<T>(fn: () => T): T {
  checkFunction(fn, "noGrad");
  return synchronous(withGradEnabled(false, fn), "noGrad");
}

/** Runs fn as one opaque step: nothing recorded, not even for pictures (the forward of a custom op). */
export function opaque<T>(fn: () => T): T {
  const recorders = state.recorders;
  state.recorders = [];
  try {
    return withGradEnabled(false, fn);
  } finally {
    state.recorders = recorders;
  }
}

/** Runs fn with recording on (e.g. inside noGrad), returning its result. */
export function enableGrad<T>(fn: () => T): T {
  checkFunction(fn, "enableGrad");
  return synchronous(withGradEnabled(true, fn), "enableGrad");
}

/** Tags every node created inside fn with `label` (scopes nest), for pictures of the graph. */
export function scope<T>(label: string, fn: () => T): T {
  checkFunction(fn, "scope");
  const prev = state.scope;
  state.scope = { label, id: state.nextScopeId++, parent: prev };
  let value: T;
  try {
    value = fn();
  } finally {
    state.scope = prev;
  }
  return synchronous(value, "scope");
}

/**
 * Turns anomaly detection on or off. Then a NaN in any op output or backward cotangent throws, and so
 * does ±Infinity when the op made it from finite values (an overflow, log(0), 1/0). An infinity that an
 * input already held is passed on, not reported: a −∞ attention mask is meant (see checkFinite).
 */
export function setAnomalyMode(on: boolean): void {
  state.anomaly = on;
}

export function isAnomalyModeEnabled(): boolean {
  return state.anomaly;
}

/** Runs fn with anomaly detection on. */
export function withAnomalyMode<T>(fn: () => T): T {
  const prev = state.anomaly;
  state.anomaly = true;
  let value: T;
  try {
    value = fn();
  } finally {
    state.anomaly = prev;
  }
  return synchronous(value, "withAnomalyMode");
}

// ---- applying primitives -------------------------------------------------------------------------

/** The op name an error from this primitive should carry (a custom op by its own name). */
function opLabel(rule: { readonly name: Primitive }, params: unknown): string {
  return rule.name === "custom" ? `customOp "${(params as { name: string }).name}"` : rule.name;
}

/**
 * Runs a primitive: the forward computes the output with kernels; when recording and any input
 * requires grad, the output gets a node holding the rule's vjp. This is the only place nodes are made.
 */
export function apply<P extends Primitive>(
  rule: Rule<P>,
  inputs: readonly Tensor[],
  params: PrimitiveParams[P],
): Tensor {
  if (state.substitute.length > 0) for (const m of state.substitute) inputs = substituted(inputs, m);
  if (state.capture !== null) for (const x of inputs) if (x._requiresGrad) state.capture.add(x);
  let out: Tensor;
  try {
    // Inside vmap, a batched input sends the primitive through its batching rule (vmap.ts).
    out = batchedApply(rule, inputs, params) ?? rule.forward(inputs, params);
  } catch (e) {
    // Storage does not know the op: name it here (a composite names the op the user called).
    if (e instanceof AllocationError) throw e.naming(opLabel(rule, params));
    throw e;
  }
  // int32 outputs (casts, custom roundings) are constants: int32 never requires grad.
  if (state.gradEnabled && out.dtype !== "int32") {
    for (let i = 0; i < inputs.length; i++) {
      if (inputs[i]._requiresGrad) {
        out._node = new Node(
          state.nextIndex++,
          rule as unknown as Rule<Primitive>,
          inputs,
          out,
          params,
          state.scope,
        );
        out._requiresGrad = true;
        break;
      }
    }
  }
  if (state.recorders.length > 0)
    for (const r of state.recorders)
      r.add({ kind: "primitive", primitive: rule.name, params } as RecordedOp, inputs, out);
  // A batched result was checked as it was computed, by the primitives of its batching rule.
  if (state.anomaly && !isBatched(out)) checkFinite(out, `forward of ${rule.name}`, out._node, inputs);
  if (state.jvpLevels.length > 0 && out.dtype !== "int32") pushTangents(rule, inputs, params, out);
  return out;
}

function substituted(inputs: readonly Tensor[], map: Map<Tensor, Tensor>): readonly Tensor[] {
  let out: Tensor[] | null = null;
  for (let i = 0; i < inputs.length; i++) {
    const s = map.get(inputs[i]);
    if (s === undefined) continue;
    out ??= inputs.slice();
    out[i] = s;
  }
  return out ?? inputs;
}

/**
 * Forward mode: for each jvp level whose tangents reach this op, the output's tangent from the jvp rule.
 * Levels go outermost first, and each rule runs with only the levels outside its own active: its ops
 * then carry the outer tangents of the inner tangent (jvp of jvp), and the output's outer tangents are
 * already set when an inner rule reads the output. Tangent ops record reverse-mode nodes like any op,
 * so forward mode composes with grad either way round.
 */
const NO_LEVELS: JvpLevel[] = [];

function pushTangents<P extends Primitive>(
  rule: Rule<P>,
  inputs: readonly Tensor[],
  params: PrimitiveParams[P],
  out: Tensor,
): void {
  let anyDual = false;
  for (let i = 0; i < inputs.length; i++) if (inputs[i]._duals !== null) anyDual = true;
  if (!anyDual) return;
  const levels = state.jvpLevels;
  for (let k = 0; k < levels.length; k++) {
    const level = levels[k];
    let tangents: (Tensor | null)[] | null = null;
    for (let i = 0; i < inputs.length; i++) {
      const t = tangentAt(inputs[i], level);
      if (t === undefined) continue;
      tangents ??= new Array<Tensor | null>(inputs.length).fill(null);
      tangents[i] = t;
    }
    if (tangents === null) continue;
    state.jvpLevels = k === 0 ? NO_LEVELS : levels.slice(0, k);
    let t: Tensor | null;
    try {
      const jvpRule = jvpRules()[rule.name] as unknown as (
        ts: readonly (Tensor | null)[],
        ctx: { inputs: readonly Tensor[]; output: Tensor; params: PrimitiveParams[P] },
      ) => Tensor | null;
      t = jvpRule(tangents, { inputs, output: out, params });
    } catch (e) {
      if (e instanceof TapegradError && !e.message.startsWith("in the jvp of")) {
        e.message = `in the jvp of ${rule.name === "custom" ? (params as PrimitiveParams["custom"]).name : rule.name}: ${e.message}`;
      }
      throw e;
    } finally {
      state.jvpLevels = levels;
    }
    if (t === null) continue;
    if (!shapesEqual(t.shape, out.shape)) {
      throw new ShapeError(
        `jvp: the jvp rule of ${rule.name} returned a tangent of shape ${formatShape(t.shape)} for an output of shape ${formatShape(out.shape)}`,
      );
    }
    setTangent(out, level, t.dtype === out.dtype ? t : t.cast(out.dtype));
  }
}

/** Whether any jvp is running (forward mode is active). */
export function forwardModeActive(): boolean {
  return state.jvpLevels.length > 0;
}

/** Gives `to` the tangents `from` has at every active jvp level (a new tensor standing for the same value). */
export function copyTangents(from: Tensor, to: Tensor): void {
  for (const level of state.jvpLevels) {
    const t = tangentAt(from, level);
    if (t !== undefined) setTangent(to, level, t);
  }
}

/** x.detach() that keeps x's tangents: cut from the reverse-mode graph only. */
function detachKeepTangents(x: Tensor): Tensor {
  const d = x.detach();
  copyTangents(x, d);
  return d;
}

/**
 * A new tensor object with x's value (sharing its buffer), x upstream: connected to x's graph when
 * recording and x requires grad, carrying x's tangents at the active jvp levels.
 */
function alias(x: Tensor): Tensor {
  return apply(shapeRules.reshape, [x], { shape: x.shape.slice() });
}

/**
 * Anomaly check of an op's result. NaN is always an anomaly. ±Infinity is one only when every tensor
 * the op read (`sources`) is finite, so the op itself overflowed or divided by zero; when a source
 * already holds an infinity (a −∞ mask, a deliberate +∞ bound) the infinity is data being carried, and
 * checking each op against its own inputs still catches the op where a wrong infinity first appears.
 * Sources are scanned only when the result holds an infinity.
 */
function checkFinite(t: Tensor, what: string, node: Node | null, sources: readonly Tensor[]): void {
  const d = t.data;
  let infinity = -1;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v - v === 0) continue; // finite
    if (Number.isNaN(v)) throw anomaly(t, what, node, i, "");
    if (infinity < 0) infinity = i;
  }
  if (infinity < 0) return;
  for (const s of sources) if (!allFinite(s)) return;
  throw anomaly(t, what, node, infinity, " from finite inputs");
}

function allFinite(t: Tensor): boolean {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v - v !== 0) return false;
  }
  return true;
}

function anomaly(t: Tensor, what: string, node: Node | null, i: number, why: string): ValueError {
  const where = node ? ` (f_${node.index})` : "";
  return new ValueError(
    `anomaly: ${what}${where} produced ${t.data[i]}${why} at flat index ${i} of a tensor of shape ${formatShape(t.shape)}`,
  );
}

// ---- backward ------------------------------------------------------------------------------------

export interface BackwardOptions {
  retainGraph?: boolean;
  createGraph?: boolean;
}

/** y.backward(seed?, opts?): accumulates d(seed·y)/dleaf into every leaf's .grad. */
export function backward(y: Tensor, seed?: Tensor | number, opts: BackwardOptions = {}): void {
  if (isBatched(y)) {
    // .grad would receive batched tensors that die with the vmap: per-example gradients come from grad.
    throw new GraphError(
      `backward: called on a batched tensor inside vmap (per-example shape ${formatShape(y.shape)}); .grad cannot hold per-example gradients. Use grad or grads inside vmap instead (vmap(grad(f)))`,
    );
  }
  if (!y._requiresGrad) {
    throw new GraphError(
      `backward: the tensor of shape ${formatShape(y.shape)} does not require grad (no input of the ops that made it requires grad, or it was made under noGrad)`,
    );
  }
  const seedTensor = makeSeed(y, seed, "backward");
  const createGraph = opts.createGraph === true;
  // As in PyTorch, a recorded backward keeps the forward graph unless told otherwise.
  const retainGraph = opts.retainGraph ?? createGraph;
  const leafGrads = runBackward(y, seedTensor, null, retainGraph, createGraph);
  withGradEnabled(opts.createGraph === true, () => {
    // .grad is the user's to update in place (optimisers, clipping): no two leaves may share a buffer,
    // nor one with the seed, though vjps hand one cotangent to several inputs (add) or share data (reshape).
    const taken = new Set<unknown>();
    if (seed instanceof Tensor) taken.add(storageOf(seed));
    for (const [leaf, g] of leafGrads) {
      if (leaf.grad !== null) {
        leaf.grad = leaf.grad.add(g);
        continue;
      }
      const own = taken.has(storageOf(g)) ? g.add(0) : g;
      taken.add(storageOf(own));
      leaf.grad = own;
    }
  });
}

function makeSeed(y: Tensor, seed: Tensor | number | undefined, op: string): Tensor {
  if (seed === undefined) {
    if (y.size !== 1) {
      throw new GraphError(
        `${op}: the output has shape ${formatShape(y.shape)}; a seed (cotangent) of that shape is required unless the output has exactly one element`,
      );
    }
    return onesLike(y);
  }
  if (typeof seed === "number") {
    const t = onesLike(y);
    t.data.fill(seed);
    return t;
  }
  if (!shapesEqual(seed.shape, y.shape)) {
    throw new ShapeError(
      `${op}: seed shape ${formatShape(seed.shape)} differs from the output shape ${formatShape(y.shape)}`,
    );
  }
  return seed.dtype === y.dtype ? seed : seed.cast(y.dtype);
}

function onesLike(y: Tensor): Tensor {
  const data = new (y.dtype === "float64" ? Float64Array : y.dtype === "float32" ? Float32Array : Int32Array)(
    y.size,
  );
  data.fill(1);
  return new Tensor(data, y.shape);
}

/** A node an outer walk still needs, with its slots as that walk left them. */
interface Borrowed {
  node: Node;
  visitMark: number;
  cotangent: Tensor | null;
  cotangentOwned: boolean;
  needed: boolean;
}

/** Sets a node's walk slots aside (see runBackward); the caller gives them back with giveBack. */
function borrow(node: Node): Borrowed {
  const b = {
    node,
    visitMark: node.visitMark,
    cotangent: node.cotangent,
    cotangentOwned: node.cotangentOwned,
    needed: node.needed,
  };
  node.cotangent = null;
  node.cotangentOwned = false;
  node.needed = false;
  return b;
}

function giveBack(b: Borrowed): void {
  b.node.visitMark = b.visitMark;
  b.node.cotangent = b.cotangent;
  b.node.cotangentOwned = b.cotangentOwned;
  b.node.needed = b.needed;
}

/**
 * Collects the nodes reachable from `root` (iterative DFS) and returns them in decreasing index order.
 * Nodes numbered below `minIndex` are older than the differentiated inputs, so on no path from them: a
 * functional transform neither walks nor frees the graphs its function merely closes over. Nodes that
 * a walk still in progress also collected (this walk runs inside its custom vjp) go to `borrowed`.
 */
function collectNodes(root: Node, minIndex: number, borrowed: Borrowed[]): Node[] {
  const mark = ++state.walkEpoch;
  const nodes: Node[] = [];
  const stack: Node[] = [root];
  // Only a walk started while another runs (inside a custom vjp) can meet nodes it must borrow.
  const nested = state.activeWalks.size > 0;
  if (nested && state.activeWalks.has(root.visitMark)) borrowed.push(borrow(root));
  root.visitMark = mark;
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.released) {
      throw new GraphError(
        `backward: the graph through ${node.op} (f_${node.index}) was already freed by an earlier backward; pass { retainGraph: true } to the first backward to go through it again`,
      );
    }
    nodes.push(node);
    const inputs = node.inputs;
    for (let i = 0; i < inputs.length; i++) {
      const n = inputs[i]._node;
      if (n !== null && n.visitMark !== mark && n.index >= minIndex) {
        if (nested && state.activeWalks.has(n.visitMark)) borrowed.push(borrow(n));
        n.visitMark = mark;
        stack.push(n);
      }
    }
  }
  nodes.sort((a, b) => b.index - a.index);
  return nodes;
}

/**
 * Replays the tape backwards from `root` with cotangent `seed`. With `targets`, returns the cotangent of
 * each target (an input of the differentiated function) and visits only nodes on a path from a target;
 * without, returns the cotangents of every leaf that requires grad. Never touches `.grad`.
 */
function runBackward(
  root: Tensor,
  seed: Tensor,
  targets: readonly Tensor[] | null,
  retainGraph: boolean,
  createGraph: boolean,
  minIndex = 0,
): Map<Tensor, Tensor> {
  const result = new Map<Tensor, Tensor>();
  const rootNode = root._node;
  if (rootNode === null) {
    // The output is itself a leaf: d root / d root = seed.
    if (targets === null || targets.includes(root)) result.set(root, seed);
    return result;
  }
  if (rootNode.index < minIndex) return result; // made before the inputs: depends on none of them
  // A walk started inside a custom vjp may reach nodes the walk running that vjp still has to do: their
  // slots (a pending cotangent, `needed`) are set aside here and given back untouched at the end, and
  // they are never released, so the outer walk goes on as if nothing had happened.
  const borrowed: Borrowed[] = [];
  let nodes: Node[];
  try {
    nodes = collectNodes(rootNode, minIndex, borrowed);
  } catch (e) {
    for (const b of borrowed) giveBack(b);
    throw e;
  }
  const mark = rootNode.visitMark;
  const targetSet = targets === null ? null : new Set(targets);
  // Only this walk's nodes count: an older node may carry `needed` from an outer walk still in progress
  // (a grad called inside a custom vjp), and must not receive this walk's cotangents.
  const fromNeeded = (t: Tensor): boolean => {
    const n = t._node;
    return n?.needed === true && n.index >= minIndex;
  };
  if (targetSet !== null) {
    // A node is needed when one of its inputs is a target or comes from a needed node (ascending pass).
    for (let k = nodes.length - 1; k >= 0; k--) {
      const node = nodes[k];
      let needed = false;
      for (const input of node.inputs) {
        if (targetSet.has(input) || fromNeeded(input)) {
          needed = true;
          break;
        }
      }
      node.needed = needed;
    }
  }
  rootNode.cotangent = seed;
  rootNode.cotangentOwned = false;
  const leafOwned = new Set<Tensor>();
  // Cotangents are summed with tensor ops, never in place, and kept out of the pool, when the walk is
  // recorded (createGraph builds a graph out of them) or a jvp is running (their tangents are computed
  // from them and keyed by them).
  const functional = createGraph || state.jvpLevels.length > 0;
  // Buffers this walk allocates go back to the pool as soon as nothing holds them (walk-buffers.ts).
  const buffers = functional ? null : WalkBuffers.open();
  state.activeWalks.add(mark);
  /** prev + gt for one slot, moving the slot's hold to a new buffer when the sum needed one. */
  const accumulate = (prev: Tensor, prevOwned: boolean, gt: Tensor): Tensor => {
    const sum = addCotangents(prev, prevOwned, gt, functional);
    if (sum !== prev) {
      buffers?.hold(sum);
      buffers?.drop(prev);
    }
    return sum;
  };
  const placeResult = (input: Tensor, gt: Tensor): void => {
    const prev = result.get(input);
    if (prev === undefined) {
      result.set(input, gt);
      buffers?.hold(gt);
      return;
    }
    result.set(input, accumulate(prev, leafOwned.has(input), gt));
    if (!functional) leafOwned.add(input);
  };
  try {
    withGradEnabled(createGraph, () => {
      for (const node of nodes) {
        const g = node.cotangent;
        if (g === null) continue;
        node.cotangent = null; // freed as soon as the walk passes it
        if (targetSet?.has(node.output!)) placeResult(node.output!, g);
        if (targetSet === null || node.needed) processNode(node, g);
        buffers?.drop(g);
        buffers?.releaseUnheld(); // what the vjp allocated and no slot took: its temporaries
      }
    });
  } finally {
    buffers?.close();
    state.activeWalks.delete(mark);
    const lent = borrowed.length === 0 ? null : new Set(borrowed.map((b) => b.node));
    for (const node of nodes) {
      if (lent?.has(node)) continue;
      node.cotangent = null;
      node.cotangentOwned = false;
      node.needed = false;
      if (!retainGraph) node.release();
    }
    for (const b of borrowed) giveBack(b);
  }
  return result;

  function processNode(node: Node, g: Tensor): void {
    const output = node.output!;
    const inputs = node.inputs;
    const needs = new Array<boolean>(inputs.length);
    let any = false;
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i];
      const need = input._requiresGrad && (targetSet === null || targetSet.has(input) || fromNeeded(input));
      needs[i] = need;
      any ||= need;
    }
    if (!any) return;
    let cotangents: (Tensor | null)[];
    // A custom vjp is user code that may keep what it computes: it allocates outside the pool.
    const outsidePool = buffers !== null && node.rule.name === "custom";
    if (outsidePool) buffers.suspend();
    try {
      cotangents = node.rule.vjp(g, { inputs, output, params: node.params as never }, needs);
    } catch (e) {
      if (e instanceof TapegradError) {
        e.message = `in the backward of ${node.op} (f_${node.index}): ${e.message}`;
      }
      throw e;
    } finally {
      if (outsidePool) buffers.resume();
    }
    for (let i = 0; i < inputs.length; i++) {
      const gi = cotangents[i];
      if (!needs[i] || gi === null || gi === undefined) continue;
      const input = inputs[i];
      if (!shapesEqual(gi.shape, input.shape)) {
        throw new ShapeError(
          `backward: the vjp of ${node.op} (f_${node.index}) returned a cotangent of shape ${formatShape(gi.shape)} for input ${i} of shape ${formatShape(input.shape)}`,
        );
      }
      if (state.anomaly)
        checkFinite(gi, `backward of ${node.op}, cotangent of input ${i},`, node, [g, ...inputs, output]);
      const gt = gi.dtype === input.dtype ? gi : gi.cast(input.dtype);
      const inNode = input._node;
      if (inNode !== null) {
        if (inNode.cotangent === null) {
          inNode.cotangent = gt;
          inNode.cotangentOwned = false;
          buffers?.hold(gt);
        } else {
          inNode.cotangent = accumulate(inNode.cotangent, inNode.cotangentOwned, gt);
          inNode.cotangentOwned = !functional;
        }
      } else if (targetSet === null || targetSet.has(input)) {
        placeResult(input, gt);
      }
    }
  }
}

/**
 * prev + g for two cotangents of one tensor. A recorded backward (createGraph) adds with a
 * differentiable op; otherwise the sum goes into a buffer this walk owns, reused for later sums, since
 * vjps may hand the same tensor to several inputs and nothing may be written into a shared one.
 */
function addCotangents(prev: Tensor, prevOwned: boolean, g: Tensor, functional: boolean): Tensor {
  // Batched cotangents (a gradient inside vmap) hold no values of their own: add them with the op.
  if (functional || isBatched(prev) || isBatched(g)) return prev.add(g);
  const out = prevOwned ? prev : new Tensor(allocate(prev.dtype, prev.size), prev.shape);
  binary("add", prev.data, prev.shape, g.data, g.shape, out.data, out.shape);
  return out;
}

// ---- functional transforms --------------------------------------------------------------------------

type GradFn = (...args: Tensor[]) => Tensor;
type AnyFn = (...args: unknown[]) => unknown;

/**
 * Prepares the arguments of a differentiated function. An argument that requires grad while recording
 * is on stays connected to its graph through an identity op (so the result can be differentiated again
 * by an outer transform or backward); every other float argument becomes a fresh leaf. Both carry the
 * argument's tangents at the active jvp levels. `start` numbers every node made from here on: the walk
 * only visits those.
 */
function prepareArgs(
  xs: readonly Tensor[],
  op: string,
): { args: Tensor[]; recording: boolean; start: number } {
  const start = state.nextIndex;
  const recording = state.gradEnabled;
  const args = xs.map((x, i) => {
    if (!(x instanceof Tensor)) {
      throw new TapegradError(
        `${op}: argument ${i} is not a Tensor (got ${x === null ? "null" : typeof x}); wrap numbers with tensor()`,
      );
    }
    if (x.dtype === "int32") return x; // never differentiable: its gradient is null
    if (recording && x._requiresGrad) return alias(x);
    // A batched argument (grad inside vmap) becomes a leaf at its vmap level, sharing the batch value.
    const leaf =
      isBatched(x) && batchHooks.rewrap !== null ? batchHooks.rewrap(x) : new Tensor(x.data, x.shape);
    leaf._requiresGrad = true;
    leaf.name = x.name;
    copyTangents(x, leaf);
    return leaf;
  });
  return { args, recording, start };
}

/**
 * Whether the graph of y (nodes numbered from `start`) reads a tensor that requires grad and is not one
 * of the differentiated arguments: a parameter f closes over (a critic's weights in a gradient penalty),
 * or the graph upstream of an argument. Then the gradient depends on it, and the backward is recorded
 * so that this dependence survives (PyTorch's create_graph=True, JAX's default): a later backward through
 * the result reaches those tensors instead of silently dropping the term.
 */
function dependsOnOuter(y: Tensor, start: number, targets: ReadonlySet<Tensor>): boolean {
  const root = y._node;
  if (root === null || root.index < start) return false;
  const seen = new Set<Node>([root]);
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    for (const input of node.inputs) {
      const n = input._node;
      if (n !== null && n.index >= start) {
        if (!seen.has(n)) {
          seen.add(n);
          stack.push(n);
        }
      } else if (input._requiresGrad && !targets.has(input)) return true;
    }
  }
  return false;
}

/** Runs f with recording on, as a transform's function (counted in the nesting depth). */
function evaluate<T>(fn: () => T, op: string): T {
  state.transformDepth++;
  try {
    return synchronous(withGradEnabled(true, fn), op);
  } finally {
    state.transformDepth--;
  }
}

function checkScalar(y: unknown, op: string): Tensor {
  if (!(y instanceof Tensor))
    throw new TapegradError(`${op}: the function must return a Tensor, got ${describeValue(y)}`);
  if (y.size !== 1) {
    throw new ShapeError(
      `${op}: the function must return a size-1 tensor, got shape ${formatShape(y.shape)}`,
    );
  }
  return y;
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v;
}

/** One buffer per returned gradient, as for .grad: an add vjp hands one cotangent to both inputs. */
function distinct(gs: (Tensor | null)[]): (Tensor | null)[] {
  const taken = new Set<unknown>();
  return gs.map((g) => {
    if (g === null) return null;
    const own = taken.has(storageOf(g)) ? g.add(0) : g;
    taken.add(storageOf(own));
    return own;
  });
}

/**
 * The gradients of the scalar y with respect to args, and whether they were connected (recorded) because
 * y also depends on tensors outside the arguments that require grad.
 */
function gradientsOf(
  y: Tensor,
  args: Tensor[],
  recording: boolean,
  start: number,
): { grads: (Tensor | null)[]; connected: boolean } {
  const wrt = args.filter((a) => a._requiresGrad);
  if (!y._requiresGrad || wrt.length === 0) return { grads: args.map(() => null), connected: false };
  const connected = recording && dependsOnOuter(y, start, new Set(wrt));
  const found = runBackward(y, onesLike(y), wrt, connected, connected, start);
  return {
    grads: distinct(args.map((a) => (a._requiresGrad ? (found.get(a) ?? null) : null))),
    connected,
  };
}

/** Which arguments a transform differentiates (JAX's argnums): one index, or a list of them. */
export type Argnums = number | readonly number[];

export interface GradOptions {
  /** The argument(s) to differentiate: an index (default 0) or a list; a list gives a list of gradients. */
  argnums?: Argnums;
  /** f returns [value, aux]: aux is passed through, undifferentiated, next to the gradient. */
  hasAux?: boolean;
}

/** argnums as a list of argument indices, checked against the call's arguments. */
export function normalizeArgnums(argnums: Argnums | undefined, count: number, op: string): number[] {
  const list = argnums === undefined ? [0] : typeof argnums === "number" ? [argnums] : [...argnums];
  if (list.length === 0) throw new ValueError(`${op}: argnums is an empty list; name at least one argument`);
  const seen = new Set<number>();
  for (const i of list) {
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new ValueError(
        `${op}: argnums ${JSON.stringify(argnums)} names argument ${i}, but the function was called with ${count} argument${count === 1 ? "" : "s"}`,
      );
    }
    if (seen.has(i)) throw new ValueError(`${op}: argnums ${JSON.stringify(argnums)} repeats argument ${i}`);
    seen.add(i);
  }
  return list;
}

interface GradCall {
  value: Tensor;
  grads: (Tensor | null)[];
  aux: unknown;
}

/** The general gradient transform behind grad, grads, valueAndGrad(s) and their options. */
function gradCall(
  f: AnyFn,
  callArgs: readonly unknown[],
  nums: readonly number[],
  hasAux: boolean,
  op: string,
): GradCall {
  for (const i of nums) {
    const x = callArgs[i];
    if (!(x instanceof Tensor)) {
      throw new TapegradError(
        `${op}: argument ${i} is not a Tensor (got ${describeValue(x)}); only Tensor arguments can be differentiated (argnums)`,
      );
    }
  }
  const xs = nums.map((i) => callArgs[i] as Tensor);
  const { args, recording, start } = prepareArgs(xs, op);
  const full = callArgs.slice();
  nums.forEach((i, k) => {
    full[i] = args[k];
  });
  const out = evaluate(() => f(...full), op);
  let y: Tensor;
  let aux: unknown;
  if (hasAux) {
    if (!Array.isArray(out) || out.length !== 2) {
      throw new TapegradError(
        `${op}: with hasAux the function must return [value, aux], got ${describeValue(out)}`,
      );
    }
    y = checkScalar(out[0], op);
    aux = out[1];
  } else {
    y = checkScalar(out, op);
  }
  const { grads: gs, connected } = gradientsOf(y, args, recording, start);
  return { value: connected ? y : detachKeepTangents(y), grads: gs, aux };
}

/** valueAndGrads(f)(...xs): the value of f and its gradient with respect to every argument. */
export function valueAndGrads(f: GradFn): (...xs: Tensor[]) => { value: Tensor; grads: (Tensor | null)[] } {
  checkFunction(f, "valueAndGrads");
  return (...xs) => {
    const { value, grads: gs } = gradCall(
      f as AnyFn,
      xs,
      xs.map((_, i) => i),
      false,
      "valueAndGrads",
    );
    return { value, grads: gs };
  };
}

/** grads(f)(...xs): the gradient of the scalar f with respect to each argument (null if f does not depend on it). */
export function grads(f: GradFn): (...xs: Tensor[]) => (Tensor | null)[] {
  checkFunction(f, "grads");
  return (...xs) =>
    gradCall(
      f as AnyFn,
      xs,
      xs.map((_, i) => i),
      false,
      "grads",
    ).grads;
}

type One = { argnums?: number; hasAux?: false };
type Many = { argnums: readonly number[]; hasAux?: false };
type OneAux = { argnums?: number; hasAux: true };
type ManyAux = { argnums: readonly number[]; hasAux: true };

/**
 * grad(f)(x, ...rest): the gradient of the scalar f at x (null if f does not depend on x). Further
 * arguments reach f unchanged and are not differentiated (JAX's default argnums = 0).
 *
 * grad(f, { argnums, hasAux }) as JAX: argnums an index or a list (a list gives a list of gradients);
 * with hasAux, f returns [value, aux] and the result is [gradient(s), aux].
 */
export function grad<R extends unknown[]>(
  f: (x: Tensor, ...rest: R) => Tensor,
): (x: Tensor, ...rest: R) => Tensor | null;
export function grad<A extends unknown[]>(
  f: (...args: A) => Tensor,
  opts: One,
): (...args: A) => Tensor | null;
export function grad<A extends unknown[]>(
  f: (...args: A) => Tensor,
  opts: Many,
): (...args: A) => (Tensor | null)[];
export function grad<A extends unknown[], X>(
  f: (...args: A) => [Tensor, X],
  opts: OneAux,
): (...args: A) => [Tensor | null, X];
export function grad<A extends unknown[], X>(
  f: (...args: A) => [Tensor, X],
  opts: ManyAux,
): (...args: A) => [(Tensor | null)[], X];
export function grad(f: (...args: never[]) => unknown, opts?: GradOptions): (...args: never[]) => unknown {
  checkFunction(f, "grad");
  checkOptions(opts, "grad");
  const many = Array.isArray(opts?.argnums);
  const hasAux = opts?.hasAux === true;
  return (...args) => {
    const nums = normalizeArgnums(opts?.argnums, args.length, "grad");
    const r = gradCall(f as AnyFn, args, nums, hasAux, "grad");
    const g = many ? r.grads : r.grads[0];
    return hasAux ? [g, r.aux] : g;
  };
}

/**
 * valueAndGrad(f)(x, ...rest): the value of f and its gradient with respect to x (rest as in grad).
 * valueAndGrad(f, { argnums, hasAux }) as grad with options; the result also holds aux.
 */
export function valueAndGrad<R extends unknown[]>(
  f: (x: Tensor, ...rest: R) => Tensor,
): (x: Tensor, ...rest: R) => { value: Tensor; grad: Tensor | null };
export function valueAndGrad<A extends unknown[]>(
  f: (...args: A) => Tensor,
  opts: One,
): (...args: A) => { value: Tensor; grad: Tensor | null };
export function valueAndGrad<A extends unknown[]>(
  f: (...args: A) => Tensor,
  opts: Many,
): (...args: A) => { value: Tensor; grad: (Tensor | null)[] };
export function valueAndGrad<A extends unknown[], X>(
  f: (...args: A) => [Tensor, X],
  opts: OneAux,
): (...args: A) => { value: Tensor; grad: Tensor | null; aux: X };
export function valueAndGrad<A extends unknown[], X>(
  f: (...args: A) => [Tensor, X],
  opts: ManyAux,
): (...args: A) => { value: Tensor; grad: (Tensor | null)[]; aux: X };
export function valueAndGrad(
  f: (...args: never[]) => unknown,
  opts?: GradOptions,
): (...args: never[]) => unknown {
  checkFunction(f, "valueAndGrad");
  checkOptions(opts, "valueAndGrad");
  const many = Array.isArray(opts?.argnums);
  const hasAux = opts?.hasAux === true;
  return (...args) => {
    const nums = normalizeArgnums(opts?.argnums, args.length, "valueAndGrad");
    const r = gradCall(f as AnyFn, args, nums, hasAux, "valueAndGrad");
    const g = many ? r.grads : r.grads[0];
    return hasAux ? { value: r.value, grad: g, aux: r.aux } : { value: r.value, grad: g };
  };
}

function checkOptions(opts: GradOptions | undefined, op: string): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== "object") {
    throw new ValueError(
      `${op}: options must be an object like { argnums: [0, 1], hasAux: true }, got ${String(opts)}`,
    );
  }
  const a = opts.argnums;
  if (a !== undefined && typeof a !== "number" && !Array.isArray(a)) {
    throw new ValueError(`${op}: argnums must be an index or a list of indices, got ${String(a)}`);
  }
  if (opts.hasAux !== undefined && typeof opts.hasAux !== "boolean") {
    throw new ValueError(`${op}: hasAux must be true or false, got ${String(opts.hasAux)}`);
  }
}

// ---- vjp and jvp ----------------------------------------------------------------------------------

/** The result of vjp: f's value and its pullback, which can be called any number of times. */
export interface VjpResult<Y extends Tensor | Tensor[]> {
  value: Y;
  /** Cotangent(s) of the output (one per output for an array) -> one cotangent per argument (null: no dependence). */
  pullback: (cotangent: Y) => (Tensor | null)[];
}

/**
 * vjp(f, ...xs): evaluates f (any output shape, or an array of outputs) and returns its value with a
 * reusable pullback ct -> ctᵀ·∂f/∂x for every argument. The graph is kept for repeated pullbacks (it is
 * garbage-collected with the pullback).
 */
export function vjp<Y extends Tensor | Tensor[]>(f: (...xs: Tensor[]) => Y, ...xs: Tensor[]): VjpResult<Y> {
  if (typeof f !== "function") throw new TapegradError(`vjp: expected a function, got ${typeof f}`);
  const { args, recording, start } = prepareArgs(xs, "vjp");
  const out = evaluate(() => f(...args), "vjp");
  const outputs = checkOutputs(out, "vjp");
  const wrt = args.filter((a) => a._requiresGrad);
  const wrtSet = new Set(wrt);
  const connected = recording && outputs.some((y) => dependsOnOuter(y, start, wrtSet));
  const value = (
    Array.isArray(out)
      ? outputs.map((y) => (connected ? y : detachKeepTangents(y)))
      : connected
        ? out
        : detachKeepTangents(out as Tensor)
  ) as Y;
  const pullback = (ct: Y): (Tensor | null)[] => {
    const cts = Array.isArray(out) ? (ct as Tensor[]) : [ct as Tensor];
    if (!Array.isArray(cts) || cts.length !== outputs.length) {
      throw new ShapeError(
        `vjp: the pullback takes ${outputs.length} cotangents (one per output), got ${describeValue(ct)}`,
      );
    }
    const seeds = outputs.map((y, k) => makeSeed(y, cts[k], "vjp pullback"));
    const live = outputs.map((y, k) => [y, seeds[k]] as const).filter(([y]) => y._requiresGrad);
    if (live.length === 0 || wrt.length === 0) return args.map(() => null);
    // A cotangent that requires grad (differentiating the pullback itself) needs a recorded walk.
    const record = connected || (state.gradEnabled && live.some(([, s]) => s._requiresGrad));
    let root: Tensor;
    let seed: Tensor;
    if (live.length === 1) [root, seed] = live[0];
    else {
      // Several outputs: one walk from Σ_k ⟨ct_k, y_k⟩, built with recording on so it joins their graphs.
      root = withGradEnabled(true, () =>
        live.map(([y, s]) => y.mul(s.detach()).sum()).reduce((a, b) => a.add(b)),
      );
      seed = onesLike(root);
      if (live.some(([, s]) => s._requiresGrad)) {
        throw new TapegradError("vjp: cotangents that require grad are supported for a single output only");
      }
    }
    const found = runBackward(root, seed, wrt, true, record, start);
    return distinct(args.map((a) => (a._requiresGrad ? (found.get(a) ?? null) : null)));
  };
  return { value, pullback };
}

function checkOutputs(out: unknown, op: string): Tensor[] {
  const list = Array.isArray(out) ? out : [out];
  if (list.length === 0) throw new TapegradError(`${op}: the function returned an empty array`);
  list.forEach((y, k) => {
    if (!(y instanceof Tensor)) {
      throw new TapegradError(
        `${op}: the function must return a Tensor or an array of Tensors, got ${describeValue(y)}${Array.isArray(out) ? ` at output ${k}` : ""}`,
      );
    }
  });
  return list as Tensor[];
}

/**
 * The forward-mode core: runs f on the primals with the given tangents (null = zero) at a new jvp level
 * and returns f's output(s) with their tangents at that level (zeros when an output does not depend on
 * the primals). Every primal is seen by f as a new tensor object, so the same tensor closed over from
 * outside carries no tangent of this level (no perturbation confusion).
 */
export function jvpCall(
  f: AnyFn,
  primals: readonly Tensor[],
  tangents: readonly (Tensor | null)[],
  op: string,
): { outputs: Tensor[]; tangents: Tensor[]; value: unknown } {
  if (typeof f !== "function") throw new TapegradError(`${op}: expected a function, got ${typeof f}`);
  const args = primals.map((x, i) => {
    if (!(x instanceof Tensor)) {
      throw new TapegradError(`${op}: primal ${i} is not a Tensor (got ${describeValue(x)})`);
    }
    return x.dtype === "int32" ? x : alias(x);
  });
  const level: JvpLevel = { id: state.nextJvpLevel++ };
  args.forEach((a, i) => {
    const t = tangents[i];
    if (t === null || t === undefined) return;
    if (!(t instanceof Tensor))
      throw new TapegradError(`${op}: tangent ${i} is not a Tensor (got ${describeValue(t)})`);
    if (!shapesEqual(t.shape, a.shape)) {
      throw new ShapeError(
        `${op}: tangent ${i} has shape ${formatShape(t.shape)}, its primal has shape ${formatShape(a.shape)}`,
      );
    }
    if (a.dtype === "int32") {
      throw new TapegradError(`${op}: primal ${i} is int32 (indices, labels): it has no tangent; pass null`);
    }
    setTangent(a, level, t.dtype === a.dtype ? t : t.cast(a.dtype));
  });
  const prev = state.jvpLevels;
  state.jvpLevels = [...prev, level];
  let value: unknown;
  try {
    value = evaluate(() => f(...args), op);
  } finally {
    state.jvpLevels = prev;
  }
  const outputs = checkOutputs(value, op);
  const outTangents = outputs.map((y) => tangentAt(y, level) ?? zerosOf(y));
  return { outputs, tangents: outTangents, value };
}

function zerosOf(y: Tensor): Tensor {
  return new Tensor(allocate(y.dtype, y.size), y.shape);
}

/**
 * jvp(f, primals, tangents): f's value and its directional derivative ∂f/∂x · t, in one forward pass
 * (true forward mode: every primitive pushes tangents through its jvp rule). f may return a Tensor or
 * an array of Tensors; the tangent has the same form.
 */
export function jvp<Y extends Tensor | Tensor[]>(
  f: (...xs: Tensor[]) => Y,
  primals: readonly Tensor[],
  tangents: readonly Tensor[],
): { value: Y; tangent: Y } {
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new TapegradError("jvp: primals and tangents must be arrays of Tensors (one tangent per primal)");
  }
  if (primals.length !== tangents.length) {
    throw new ShapeError(
      `jvp: ${primals.length} primals but ${tangents.length} tangents; give one tangent per primal`,
    );
  }
  const r = jvpCall(f as AnyFn, primals, tangents, "jvp");
  const many = Array.isArray(r.value);
  return {
    value: (many ? r.outputs : r.outputs[0]) as Y,
    tangent: (many ? r.tangents : r.tangents[0]) as Y,
  };
}

// ---- substitution ------------------------------------------------------------------------------

/**
 * substitute(replacements, fn): runs fn with every op that reads a tensor `a` of the map reading its
 * replacement instead (same shape), and returns fn's result. Nothing is modified: when fn returns or
 * throws, the original tensors are back in use. Substitutions nest (an inner map applies after an
 * outer one), work inside every transform, and follow gradients and tangents to the replacements: this
 * is how functionalCall runs a module with other parameters. Code reading a tensor's .data directly
 * (not through an op) still sees the original.
 */
export function substitute<T>(replacements: ReadonlyMap<Tensor, Tensor>, fn: () => T): T {
  if (!(replacements instanceof Map))
    throw new TapegradError("substitute: replacements must be a Map<Tensor, Tensor>");
  for (const [a, b] of replacements) {
    if (!(a instanceof Tensor) || !(b instanceof Tensor)) {
      throw new TapegradError("substitute: every key and value of the map must be a Tensor");
    }
    if (!shapesEqual(a.shape, b.shape)) {
      throw new ShapeError(
        `substitute: a tensor of shape ${formatShape(a.shape)} cannot be replaced by one of shape ${formatShape(b.shape)}`,
      );
    }
  }
  const prev = state.substitute;
  state.substitute = [...prev, new Map(replacements)];
  let value: T;
  try {
    value = fn();
  } finally {
    state.substitute = prev;
  }
  return synchronous(value, "substitute");
}

// ---- checkpoint ----------------------------------------------------------------------------------

/**
 * checkpoint(fn, ...xs): fn(...xs), keeping none of fn's intermediate tensors: the forward runs without
 * recording, and the backward runs fn again (from the same inputs) to get its gradients, trading one
 * more forward of the segment for its activations' memory (torch.utils.checkpoint). Parameters fn closes
 * over get their gradients too: the first run notes every tensor that requires grad fn reads, and they
 * become inputs of the one "checkpoint" node that stands for the segment. fn must be deterministic
 * (no fresh randomness), since it runs twice. The recomputed backward is itself differentiable under
 * createGraph, so higher-order gradients pass through. Under forward mode (jvp) fn simply runs.
 */
export function checkpoint(fn: (...xs: Tensor[]) => Tensor, ...xs: Tensor[]): Tensor {
  if (typeof fn !== "function") throw new TapegradError(`checkpoint: expected a function, got ${typeof fn}`);
  xs.forEach((x, i) => {
    if (!(x instanceof Tensor))
      throw new TapegradError(`checkpoint: argument ${i} is not a Tensor (got ${describeValue(x)})`);
  });
  if (!state.gradEnabled || state.jvpLevels.length > 0) return fn(...xs);
  const read = new Set<Tensor>();
  const prevCapture = state.capture;
  state.capture = read;
  let out: Tensor;
  try {
    out = opaque(() => fn(...xs));
  } finally {
    state.capture = prevCapture;
  }
  // An enclosing checkpoint's first run must see what this one read.
  if (prevCapture !== null) for (const t of read) prevCapture.add(t);
  if (!(out instanceof Tensor))
    throw new TapegradError(`checkpoint: fn must return a Tensor, got ${describeValue(out)}`);
  const inputs = [...xs];
  for (const t of read) if (!xs.includes(t)) inputs.push(t);
  if (!inputs.some((t) => t._requiresGrad)) return out;
  const n = xs.length;
  // The recomputation runs later, in backward: it must see the substitutions fn saw (functionalCall).
  const context = state.substitute;
  const params: PrimitiveParams["custom"] = {
    name: "checkpoint",
    forward: () => out,
    vjp: (g, saved) => recompute(fn, n, g, saved, context),
  };
  return apply(customRules.custom, inputs, params);
}

/** checkpoint's backward: fn again on fresh copies of its inputs (closed-over ones substituted), then a walk. */
function recompute(
  fn: (...xs: Tensor[]) => Tensor,
  n: number,
  g: Tensor,
  saved: readonly Tensor[],
  context: Map<Tensor, Tensor>[],
): (Tensor | null)[] {
  const { args, recording, start } = prepareArgs(saved, "checkpoint");
  const map = new Map<Tensor, Tensor>();
  saved.forEach((t, i) => {
    map.set(t, args[i]);
  });
  const prev = state.substitute;
  state.substitute = [...context, map];
  let y: Tensor;
  try {
    y = evaluate(() => fn(...args.slice(0, n)), "checkpoint");
  } finally {
    state.substitute = prev;
  }
  const wrt = args.filter((a) => a._requiresGrad);
  if (!y._requiresGrad || wrt.length === 0) return saved.map(() => null);
  const record = recording && (dependsOnOuter(y, start, new Set(wrt)) || g._requiresGrad);
  const found = runBackward(y, g, wrt, record, record, start);
  return args.map((a) => (a._requiresGrad ? (found.get(a) ?? null) : null));
}

// ---- recording the tape for pictures -------------------------------------------------------------

/**
 * Puts a non-differentiable op (a comparison, sign, an arg-op) on the tapes of the `record` calls that
 * asked for them (`{ nonDifferentiable: true }`); pictures never see them.
 */
export function recordNonDifferentiable<O extends NonDifferentiableOp>(
  op: O,
  params: NonDifferentiableParams[O],
  inputs: readonly Tensor[],
  out: Tensor,
): void {
  for (const r of state.recorders)
    if (r.nonDifferentiable) r.add({ kind: "nonDifferentiable", op, params } as RecordedOp, inputs, out);
}

class Recorder {
  readonly nodes: TapeNode[] = [];
  /** Parallel to nodes: what each node computed and the tensor it made (or, for a leaf, is). */
  readonly ops: RecordedOp[] = [];
  readonly tensors: Tensor[] = [];
  private readonly ids = new Map<Tensor, number>();

  constructor(readonly nonDifferentiable: boolean) {}

  add(op: RecordedOp, inputs: readonly Tensor[], out: Tensor): void {
    const inputIds = inputs.map((t) => this.idOf(t));
    const frames = scopePath(state.scope);
    const name =
      op.kind === "primitive"
        ? op.primitive === "custom"
          ? (op.params as PrimitiveParams["custom"]).name
          : op.primitive
        : op.kind === "nonDifferentiable"
          ? op.op
          : "leaf";
    const index = this.nodes.length;
    this.nodes.push({
      index,
      op: name,
      inputs: inputIds,
      shape: out.shape.slice(),
      dtype: out.dtype,
      scope: frames.map((f) => f.label),
      scopeIds: frames.map((f) => f.id),
      name: out.name,
      leaf: false,
      requiresGrad: out._requiresGrad,
    });
    this.ops.push(op);
    this.tensors.push(out);
    this.ids.set(out, index);
  }

  private idOf(t: Tensor): number {
    const known = this.ids.get(t);
    if (known !== undefined) return known;
    const index = this.nodes.length;
    this.nodes.push({
      index,
      op: "leaf",
      inputs: [],
      shape: t.shape.slice(),
      dtype: t.dtype,
      scope: [],
      scopeIds: [],
      name: t.name,
      leaf: true,
      requiresGrad: t._requiresGrad,
    });
    this.ops.push({ kind: "leaf" });
    this.tensors.push(t);
    this.ids.set(t, index);
    return index;
  }

  /** Names given to tensors after they were made (e.g. `y.name = "loss"`) are picked up at the end. */
  finish(): TapeNode[] {
    for (const [t, i] of this.ids) if (t.name !== undefined) this.nodes[i].name = t.name;
    return this.nodes;
  }
}

function scopePath(frame: ScopeFrame | null): ScopeFrame[] {
  const path: ScopeFrame[] = [];
  for (let f = frame; f !== null; f = f.parent) path.push(f);
  return path.reverse();
}

export interface RecordOptions {
  /**
   * Also record the non-differentiable ops (comparisons, sign, argmax/argmin, argsort) whose outputs
   * feed the forward, so the tape alone can recompute it from its inputs (what an exporter needs).
   * Default false: pictures show the differentiable computation only.
   */
  nonDifferentiable?: boolean;
}

/**
 * Runs fn and returns its value with the tape of every primitive applied while it ran (whether or not
 * anything requires grad), in creation order, plus the leaves they read.
 */
export function record<T>(fn: () => T, opts: RecordOptions = {}): { value: T; tape: Tape } {
  checkFunction(fn, "record");
  const recorder = new Recorder(opts.nonDifferentiable === true);
  state.recorders.push(recorder);
  let value: T;
  try {
    value = fn();
  } finally {
    state.recorders.splice(state.recorders.lastIndexOf(recorder), 1);
  }
  return {
    value: synchronous(value, "record"),
    tape: new Tape(recorder.finish(), recorder.ops, recorder.tensors),
  };
}
