import { DTypeError, ShapeError, Tensor, type TypedArray, ValueError } from "@tapegrad/autograd";
import { nameMap, sameShape, shapeStr } from "./util.js";

type FloatData = Float32Array | Float64Array;

/**
 * A trainable tensor: requiresGrad is on from the start, and Module finds it automatically when it is an
 * own property of a module (directly, or at any depth of arrays and plain objects).
 * `Parameter.from(t)` adopts t's buffer without copying.
 */
export class Parameter extends Tensor {
  constructor(data: FloatData, shape: readonly number[], name?: string) {
    super(data, shape);
    if (this.dtype === "int32") throw new DTypeError(`Parameter: must be float32 or float64, got int32`);
    this.requiresGrad = true;
    if (name !== undefined) this.name = name;
  }

  static from(t: Tensor, name?: string): Parameter {
    if (t instanceof Parameter) return t;
    if (t.dtype === "int32") throw new DTypeError(`Parameter.from: must be float32 or float64, got int32`);
    return new Parameter(t.data as FloatData, t.shape, name ?? t.name);
  }
}

/**
 * A tensor that is part of a module's state but never trained (PyTorch's buffers: BatchNorm's
 * running_mean, running_var, num_batches_tracked). Found like parameters, listed by namedBuffers(),
 * saved in stateDict() and model files, but not in parameters(), so no optimiser touches it. The owning
 * layer updates its data in place.
 */
export class BufferTensor extends Tensor {
  constructor(data: TypedArray, shape: readonly number[], name?: string) {
    super(data, shape);
    if (name !== undefined) this.name = name;
  }

  static from(t: Tensor, name?: string): BufferTensor {
    if (t instanceof BufferTensor) return t;
    return new BufferTensor(t.data.slice(), t.shape, name ?? t.name);
  }
}

/**
 * Any module, whatever its forward's signature (MultiheadAttention and the recurrent layers return
 * tuples). `Module` without arguments is the common Tensor → Tensor kind that Sequential and fit() take.
 */
export type AnyModule = Module<never[], unknown>;
export type ModuleMember = Parameter | BufferTensor | AnyModule;

/** Containers the default walk looks through: arrays and plain objects (`{}` literals, null prototype). */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Whether v holds a Tensor or a Module anywhere inside (Maps, Sets, arrays, object fields; cycle-safe). */
function holdsModelState(v: unknown, seen: Set<object>, depth: number): boolean {
  if (v instanceof Tensor || v instanceof Module) return true;
  if (v === null || typeof v !== "object" || seen.has(v) || depth > 16) return false;
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return false;
  seen.add(v);
  if (v instanceof Map) {
    for (const [k, x] of v)
      if (holdsModelState(k, seen, depth + 1) || holdsModelState(x, seen, depth + 1)) return true;
    return false;
  }
  if (v instanceof Set) {
    for (const x of v) if (holdsModelState(x, seen, depth + 1)) return true;
    return false;
  }
  for (const k of Object.keys(v))
    if (holdsModelState((v as Record<string, unknown>)[k], seen, depth + 1)) return true;
  return false;
}

function describe(v: object): string {
  if (v instanceof Map) return "a Map";
  if (v instanceof Set) return "a Set";
  const name = (v as { constructor?: { name?: string } }).constructor?.name;
  return name ? `an instance of ${name} (not a Module)` : "an object that is not a plain object";
}

/**
 * Collects the members under `value` found at `path`: Parameters, BufferTensors and Modules, through
 * arrays and plain objects at any depth. Anything else that holds tensors or modules (a Map, a Set, an
 * instance of a non-Module class, a plain Tensor that requires grad) is an error naming its path: a
 * parameter that the walk skipped would silently never train and never be saved.
 */
function collect(
  owner: string,
  value: unknown,
  path: string,
  out: Array<[string, ModuleMember]>,
  seen: Set<object>,
): void {
  if (value instanceof Parameter || value instanceof BufferTensor || value instanceof Module) {
    out.push([path, value as ModuleMember]);
    return;
  }
  if (value instanceof Tensor) {
    if (value.requiresGrad) {
      throw new ValueError(
        `${owner}: field "${path}" is a Tensor that requires grad but is not a Parameter, so it would never be trained or saved; wrap it with Parameter.from(t) (or detach it if it is a constant)`,
      );
    }
    return; // a constant (a cached mask, a scale): not state, as in PyTorch
  }
  if (value === null || typeof value !== "object") return;
  if (seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      collect(owner, item, `${path}.${i}`, out, seen);
    });
    return;
  }
  if (isPlainObject(value)) {
    for (const key of Object.keys(value)) collect(owner, value[key], `${path}.${key}`, out, seen);
    return;
  }
  if (holdsModelState(value, new Set(), 0)) {
    throw new ValueError(
      `${owner}: cannot walk field "${path}": it is ${describe(value)} holding tensors or modules. Modules find parameters in Parameter, BufferTensor and Module fields, arrays, plain objects, ModuleList and ModuleDict; store them in one of those, or override namedMembers()`,
    );
  }
}

/**
 * The base class of layers and models. A subclass declares parameters, buffers and sub-modules as
 * ordinary fields (or arrays / plain objects of them, at any depth); `namedParameters()` discovers them
 * by walking own enumerable properties in declaration order, naming them by path like PyTorch's
 * state_dict keys ("encoder.0.weight", "blocks.attn.in_proj_weight"). A field holding tensors in a form
 * the walk cannot see (a Map, a non-Module class instance) is an error, never silently skipped. Override
 * `namedMembers` to name members differently.
 *
 * `In` and `Out` type forward's arguments and result; the default is the Tensor → Tensor layer that
 * Sequential and fit() take.
 */
export abstract class Module<In extends unknown[] = Tensor[], Out = Tensor> {
  training = true;

  abstract forward(...inputs: In): Out;

  /** Direct parameters, buffers and sub-modules with their local (possibly dotted) names. */
  protected namedMembers(): Array<[string, ModuleMember]> {
    const members: Array<[string, ModuleMember]> = [];
    const seen = new Set<object>([this]);
    const owner = this.constructor.name;
    for (const key of Object.keys(this)) {
      const value = (this as Record<string, unknown>)[key];
      // A module's own reference to itself (or a parent) is not a child: cycles are cut by `seen`.
      if (value === this) continue;
      collect(owner, value, key, members, seen);
    }
    return members;
  }

  /** Every member reachable from this module, depth first in declaration order, each tensor once. */
  private walkState(): Array<[string, Parameter | BufferTensor]> {
    const out: Array<[string, Parameter | BufferTensor]> = [];
    const seen = new Set<Tensor>();
    const visiting = new Set<AnyModule>();
    const walk = (m: AnyModule, prefix: string): void => {
      if (visiting.has(m)) return;
      visiting.add(m);
      for (const [name, member] of m.namedMembers()) {
        if (member instanceof Module) walk(member, `${prefix}${name}.`);
        else if (!seen.has(member)) {
          seen.add(member);
          out.push([`${prefix}${name}`, member]);
        }
      }
    };
    walk(this as unknown as AnyModule, "");
    return out;
  }

  /** Every parameter reachable from this module with its dotted path; a shared parameter appears once. */
  namedParameters(): Array<[string, Parameter]> {
    return this.walkState().filter((e): e is [string, Parameter] => e[1] instanceof Parameter);
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Every buffer (saved, never trained state such as BatchNorm's running statistics) with its path. */
  namedBuffers(): Array<[string, BufferTensor]> {
    return this.walkState().filter((e): e is [string, BufferTensor] => e[1] instanceof BufferTensor);
  }

  buffers(): BufferTensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /** Parameters and buffers in walk order, without copying: what a model file stores. */
  namedState(): Array<[string, Tensor]> {
    return this.walkState();
  }

  /** Sub-modules with their local names (direct children only). */
  namedChildren(): Array<[string, AnyModule]> {
    return this.namedMembers().filter((e): e is [string, AnyModule] => e[1] instanceof Module);
  }

  /** This module and every sub-module, depth first. */
  modules(): AnyModule[] {
    const out: AnyModule[] = [];
    const walk = (m: AnyModule): void => {
      if (out.includes(m)) return;
      out.push(m);
      for (const [, child] of m.namedChildren()) walk(child);
    };
    walk(this as unknown as AnyModule);
    return out;
  }

  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode on this module and every sub-module (Dropout and BatchNorm read it). */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Clears .grad on every parameter (sets it to null). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /**
   * Copies of every parameter and buffer, by name (PyTorch's state_dict), in an object without a
   * prototype, so any name is an own key.
   */
  stateDict(): Record<string, Tensor> {
    const sd = nameMap<Tensor>();
    for (const [name, p] of this.walkState()) sd[name] = new Tensor(p.data.slice(), p.shape);
    return sd;
  }

  /**
   * Copies `sd` into the parameters and buffers in place. Everything is checked first (no missing or
   * extra names unless strict is false, equal shapes and dtypes), so a failed load changes nothing. Only
   * own entries of `sd` count: a "constructor" or "toString" parameter is not found on Object.prototype.
   */
  loadStateDict(sd: Record<string, Tensor>, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const named = this.walkState();
    const own = new Set(named.map(([n]) => n));
    if (strict) {
      const missing = named.filter(([n]) => !Object.hasOwn(sd, n)).map(([n]) => n);
      const extra = Object.keys(sd).filter((n) => !own.has(n));
      if (missing.length > 0 || extra.length > 0) {
        const parts: string[] = [];
        if (missing.length > 0) parts.push(`missing ${missing.join(", ")}`);
        if (extra.length > 0) parts.push(`unexpected ${extra.join(", ")}`);
        throw new ValueError(`loadStateDict: parameter names do not match the module: ${parts.join("; ")}`);
      }
    }
    const plan: Array<[Tensor, Tensor]> = [];
    for (const [name, p] of named) {
      if (!Object.hasOwn(sd, name)) continue;
      const t = sd[name];
      const what = p instanceof Parameter ? "parameter" : "buffer";
      if (!(t instanceof Tensor)) throw new ValueError(`loadStateDict: "${name}" is not a Tensor`);
      if (!sameShape(t.shape, p.shape)) {
        throw new ShapeError(
          `loadStateDict: ${what} "${name}" has shape ${shapeStr(p.shape)}, the state dict has ${shapeStr(t.shape)}`,
        );
      }
      if (t.dtype !== p.dtype) {
        throw new DTypeError(`loadStateDict: ${what} "${name}" is ${p.dtype}, the state dict has ${t.dtype}`);
      }
      plan.push([p, t]);
    }
    for (const [p, t] of plan) p.data.set(t.data);
  }

  /**
   * A JSON-able description of the architecture, stored in model files. Subclasses add their
   * hyper-parameters; the default lists the type and the children.
   */
  architecture(): Record<string, unknown> {
    const children = this.namedChildren();
    const out: Record<string, unknown> = { type: this.constructor.name };
    if (children.length > 0)
      out.children = Object.fromEntries(children.map(([n, c]) => [n, c.architecture()]));
    return out;
  }
}
