import { DTypeError, ShapeError, Tensor, ValueError } from "@tapegrad/autograd";
import { nameMap, sameShape, shapeStr } from "./util.js";

type FloatData = Float32Array | Float64Array;

/**
 * A trainable tensor: requiresGrad is on from the start, and Module finds it automatically when it is an
 * own property of a module (directly or in an array). `Parameter.from(t)` adopts t's buffer without copying.
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

export type ModuleMember = Parameter | Module;

/**
 * The base class of layers and models. A subclass declares parameters and sub-modules as ordinary fields
 * (or arrays of them); `namedParameters()` discovers them by walking own enumerable properties in
 * declaration order, naming them by path ("encoder.0.weight"). Override `namedMembers` to name them differently.
 */
export abstract class Module {
  training = true;

  abstract forward(...inputs: Tensor[]): Tensor;

  /** Direct parameters and sub-modules with their local names. */
  protected namedMembers(): Array<[string, ModuleMember]> {
    const members: Array<[string, ModuleMember]> = [];
    for (const key of Object.keys(this)) {
      const value = (this as Record<string, unknown>)[key];
      if (value instanceof Parameter || value instanceof Module) members.push([key, value]);
      else if (Array.isArray(value)) {
        value.forEach((item, i) => {
          if (item instanceof Parameter || item instanceof Module) members.push([`${key}.${i}`, item]);
        });
      }
    }
    return members;
  }

  /** Every parameter reachable from this module with its dotted path; a shared parameter appears once. */
  namedParameters(): Array<[string, Parameter]> {
    const out: Array<[string, Parameter]> = [];
    const seen = new Set<Parameter>();
    const visiting = new Set<Module>();
    const walk = (m: Module, prefix: string): void => {
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
    walk(this, "");
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Sub-modules with their local names (direct children only). */
  namedChildren(): Array<[string, Module]> {
    return this.namedMembers().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  /** This module and every sub-module, depth first. */
  modules(): Module[] {
    const out: Module[] = [];
    const walk = (m: Module): void => {
      if (out.includes(m)) return;
      out.push(m);
      for (const [, child] of m.namedChildren()) walk(child);
    };
    walk(this);
    return out;
  }

  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode on this module and every sub-module (Dropout reads it). */
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

  /** Copies of every parameter, by name (an object without a prototype, so any name is an own key). */
  stateDict(): Record<string, Tensor> {
    const sd = nameMap<Tensor>();
    for (const [name, p] of this.namedParameters()) sd[name] = new Tensor(p.data.slice(), p.shape);
    return sd;
  }

  /**
   * Copies `sd` into the parameters in place. Everything is checked first (no missing or extra names unless
   * strict is false, equal shapes and dtypes), so a failed load changes nothing. Only own entries of `sd`
   * count: a "constructor" or "toString" parameter is not found on Object.prototype.
   */
  loadStateDict(sd: Record<string, Tensor>, opts: { strict?: boolean } = {}): void {
    const strict = opts.strict ?? true;
    const named = this.namedParameters();
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
    const plan: Array<[Parameter, Tensor]> = [];
    for (const [name, p] of named) {
      if (!Object.hasOwn(sd, name)) continue;
      const t = sd[name];
      if (!(t instanceof Tensor)) throw new ValueError(`loadStateDict: "${name}" is not a Tensor`);
      if (!sameShape(t.shape, p.shape)) {
        throw new ShapeError(
          `loadStateDict: parameter "${name}" has shape ${shapeStr(p.shape)}, the state dict has ${shapeStr(t.shape)}`,
        );
      }
      if (t.dtype !== p.dtype) {
        throw new DTypeError(
          `loadStateDict: parameter "${name}" is ${p.dtype}, the state dict has ${t.dtype}`,
        );
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
