import { ValueError } from "@tapegrad/autograd";
import { type AnyModule, Module, type ModuleMember } from "../module.js";

/**
 * An indexed list of modules (PyTorch's nn.ModuleList): its members are named "0", "1", ..., so a
 * ModuleList field `layers` gives state-dict keys "layers.0.weight". It has no forward of its own:
 * iterate over it in the owner's forward.
 */
export class ModuleList<M extends AnyModule = AnyModule> extends Module<never[], never> {
  private readonly items: M[];

  constructor(modules: Iterable<M> = []) {
    super();
    this.items = [];
    for (const m of modules) this.append(m);
  }

  append(module: M): this {
    if (!(module instanceof Module))
      throw new ValueError(`ModuleList.append: item ${this.items.length} is not a Module`);
    this.items.push(module);
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  /** The module at index i (negative counts from the end). */
  at(i: number): M {
    const m = this.items.at(i);
    if (m === undefined)
      throw new ValueError(`ModuleList.at: index ${i} is out of range for ${this.items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  protected override namedMembers(): Array<[string, ModuleMember]> {
    return this.items.map((m, i) => [String(i), m]);
  }

  forward(): never {
    throw new ValueError(
      "ModuleList has no forward: iterate over it (for (const m of list)) in your forward",
    );
  }

  override architecture(): Record<string, unknown> {
    return { type: "ModuleList", modules: this.items.map((m) => m.architecture()) };
  }
}

/**
 * Modules by name (PyTorch's nn.ModuleDict), in insertion order: a ModuleDict field `blocks` holding
 * { attn } gives state-dict keys "blocks.attn.in_proj_weight". No forward of its own.
 */
export class ModuleDict<M extends AnyModule = AnyModule> extends Module<never[], never> {
  private readonly items = new Map<string, M>();

  constructor(modules: Record<string, M> = {}) {
    super();
    for (const [k, m] of Object.entries(modules)) this.set(k, m);
  }

  set(key: string, module: M): this {
    if (typeof key !== "string" || key === "" || key.includes("."))
      throw new ValueError(
        `ModuleDict.set: key must be a non-empty string without ".", got ${JSON.stringify(key)}`,
      );
    if (!(module instanceof Module)) throw new ValueError(`ModuleDict.set: "${key}" is not a Module`);
    this.items.set(key, module);
    return this;
  }

  /** The module under key (an error if there is none). */
  get(key: string): M {
    const m = this.items.get(key);
    if (m === undefined)
      throw new ValueError(
        `ModuleDict.get: no module "${key}" (keys: ${[...this.items.keys()].join(", ") || "none"})`,
      );
    return m;
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  entries(): Array<[string, M]> {
    return [...this.items.entries()];
  }

  get size(): number {
    return this.items.size;
  }

  protected override namedMembers(): Array<[string, ModuleMember]> {
    return [...this.items.entries()];
  }

  forward(): never {
    throw new ValueError("ModuleDict has no forward: call its modules (dict.get(name)) in your forward");
  }

  override architecture(): Record<string, unknown> {
    return {
      type: "ModuleDict",
      modules: Object.fromEntries([...this.items].map(([k, m]) => [k, m.architecture()])),
    };
  }
}
