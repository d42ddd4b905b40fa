import { batchedApply, batchHooks, isBatched, storageOf } from "./batched.js";
import { allocate } from "./dtype.js";
import { AllocationError, GraphError, ShapeError, TapegradError, ValueError } from "./errors.js";
import type { TapeNode } from "./graph.js";
import { type RecordedOp, Tape } from "./graph-tape.js";
import { binary } from "./kernels/binary.js";
import type { NonDifferentiableOp, NonDifferentiableParams } from "./ops/non-differentiable.js";
import type { Primitive, PrimitiveParams, Rule } from "./ops/primitive.js";
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
};

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
  return out;
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
  // Buffers this walk allocates go back to the pool as soon as nothing holds them (walk-buffers.ts).
  // A recorded backward (createGraph) builds a graph out of its cotangents, so it keeps them all.
  const buffers = createGraph ? null : WalkBuffers.open();
  state.activeWalks.add(mark);
  /** prev + gt for one slot, moving the slot's hold to a new buffer when the sum needed one. */
  const accumulate = (prev: Tensor, prevOwned: boolean, gt: Tensor): Tensor => {
    const sum = addCotangents(prev, prevOwned, gt, createGraph);
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
    if (!createGraph) leafOwned.add(input);
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
          inNode.cotangentOwned = !createGraph;
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
function addCotangents(prev: Tensor, prevOwned: boolean, g: Tensor, createGraph: boolean): Tensor {
  // Batched cotangents (a gradient inside vmap) hold no values of their own: add them with the op.
  if (createGraph || isBatched(prev) || isBatched(g)) return prev.add(g);
  const out = prevOwned ? prev : new Tensor(allocate(prev.dtype, prev.size), prev.shape);
  binary("add", prev.data, prev.shape, g.data, g.shape, out.data, out.shape);
  return out;
}

// ---- functional transforms --------------------------------------------------------------------------

type GradFn = (...args: Tensor[]) => Tensor;
type AnyFn = (...args: unknown[]) => Tensor;

/**
 * Prepares the arguments of a differentiated function. Inside another transform's function (nested
 * grad), an argument that belongs to the graph being recorded stays connected through an identity op,
 * so the inner gradient is itself differentiable; everywhere else every float argument becomes a fresh
 * leaf, so a top-level grad of parameters is plain and cheap, as in JAX.
 */
function prepareArgs(
  xs: readonly Tensor[],
  op: string,
): { args: Tensor[]; connected: boolean; start: number } {
  const start = state.nextIndex; // every node on a path from the arguments is numbered from here
  const nested = state.transformDepth > 0 && state.gradEnabled;
  // Nested, the backward is always recorded: f may close over tensors of the outer graph
  // (a gradient penalty), and the inner gradient must stay differentiable through them.
  const connected = nested;
  const args = xs.map((x, i) => {
    if (!(x instanceof Tensor)) {
      throw new TapegradError(
        `${op}: argument ${i} is not a Tensor (got ${typeof x}); wrap numbers with tensor()`,
      );
    }
    if (x.dtype === "int32") return x; // never differentiable: its gradient is null
    if (nested && x._requiresGrad) {
      return x.add(0); // a new tensor on the graph, distinct from x, with x upstream
    }
    // A batched argument (grad inside vmap) becomes a leaf at its vmap level, sharing the batch value.
    const leaf =
      isBatched(x) && batchHooks.rewrap !== null ? batchHooks.rewrap(x) : new Tensor(x.data, x.shape);
    leaf._requiresGrad = true;
    leaf.name = x.name;
    return leaf;
  });
  return { args, connected, start };
}

function evaluateScalar(f: GradFn, args: Tensor[], op: string, rest: readonly unknown[] = []): Tensor {
  state.transformDepth++;
  let y: Tensor;
  try {
    y = withGradEnabled(true, () => (rest.length === 0 ? f(...args) : (f as AnyFn)(...args, ...rest)));
  } finally {
    state.transformDepth--;
  }
  if (!(y instanceof Tensor))
    throw new TapegradError(`${op}: the function must return a Tensor, got ${typeof y}`);
  if (y.size !== 1) {
    throw new ShapeError(
      `${op}: the function must return a size-1 tensor, got shape ${formatShape(y.shape)}`,
    );
  }
  return y;
}

function gradientsOf(y: Tensor, args: Tensor[], connected: boolean, start: number): (Tensor | null)[] {
  const wrt = args.filter((a) => a._requiresGrad);
  if (!y._requiresGrad || wrt.length === 0) return args.map(() => null);
  const seed = onesLike(y);
  const found = runBackward(y, seed, wrt, connected, connected, start);
  // Distinct buffers per argument, as for .grad: an add vjp hands one cotangent to both inputs.
  const taken = new Set<unknown>();
  return args.map((a) => {
    const g = a._requiresGrad ? (found.get(a) ?? null) : null;
    if (g === null) return null;
    const own = taken.has(storageOf(g)) ? g.add(0) : g;
    taken.add(storageOf(own));
    return own;
  });
}

/** valueAndGrads(f)(...xs): the value of f and its gradient with respect to every argument. */
export function valueAndGrads(f: GradFn): (...xs: Tensor[]) => { value: Tensor; grads: (Tensor | null)[] } {
  checkFunction(f, "valueAndGrads");
  return (...xs) => {
    const { args, connected, start } = prepareArgs(xs, "valueAndGrads");
    const y = evaluateScalar(f, args, "valueAndGrads");
    const grads = gradientsOf(y, args, connected, start);
    return { value: y.detach(), grads };
  };
}

/** valueAndGrad(f)(x, ...rest): the value of f and its gradient with respect to x (rest as in grad). */
export function valueAndGrad<R extends unknown[]>(
  f: (x: Tensor, ...rest: R) => Tensor,
): (x: Tensor, ...rest: R) => { value: Tensor; grad: Tensor | null } {
  checkFunction(f, "valueAndGrad");
  return (x, ...rest) => {
    const { args, connected, start } = prepareArgs([x], "valueAndGrad");
    const y = evaluateScalar(f as unknown as GradFn, args, "valueAndGrad", rest);
    const [g] = gradientsOf(y, args, connected, start);
    return { value: y.detach(), grad: g };
  };
}

/** grads(f)(...xs): the gradient of the scalar f with respect to each argument (null if f does not depend on it). */
export function grads(f: GradFn): (...xs: Tensor[]) => (Tensor | null)[] {
  checkFunction(f, "grads");
  return (...xs) => {
    const { args, connected, start } = prepareArgs(xs, "grads");
    const y = evaluateScalar(f, args, "grads");
    return gradientsOf(y, args, connected, start);
  };
}

/**
 * grad(f)(x, ...rest): the gradient of the scalar f at x (null if f does not depend on x). Further
 * arguments reach f unchanged and are not differentiated (JAX's default argnums = 0).
 */
export function grad<R extends unknown[]>(
  f: (x: Tensor, ...rest: R) => Tensor,
): (x: Tensor, ...rest: R) => Tensor | null {
  checkFunction(f, "grad");
  return (x, ...rest) => {
    const { args, connected, start } = prepareArgs([x], "grad");
    const y = evaluateScalar(f as unknown as GradFn, args, "grad", rest);
    return gradientsOf(y, args, connected, start)[0];
  };
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
