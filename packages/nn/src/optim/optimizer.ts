import { DTypeError, ShapeError, type Tensor, ValueError } from "@tapegrad/autograd";
import type { Schedule } from "../schedule.js";
import type { FloatArray } from "../util.js";

export type LearningRate = number | Schedule;

/** Options every optimiser has; `lr` is a number or a schedule of the optimiser's step count. */
export interface BaseOptions {
  lr: LearningRate;
}

/** A parameter group: its tensors and any options that differ from the optimiser's defaults. */
export type ParamGroupSpec<O> = { params: Tensor[] } & Partial<O>;

export interface ParamGroup<O> {
  params: Tensor[];
  options: O;
}

/**
 * Shared machinery: parameter groups, the step counter that drives schedules, zeroGrad, and per-parameter
 * state kept in plain typed arrays. Subclasses implement `update`, a tight loop over p.data and p.grad.data;
 * updates are written in place, outside the tape.
 */
export abstract class Optimizer<O extends BaseOptions, S> {
  readonly groups: ParamGroup<O>[];
  /** Number of completed step() calls; schedules are evaluated at this value. */
  stepCount = 0;
  protected readonly state = new Map<Tensor, S>();
  protected readonly name: string;

  protected constructor(name: string, params: Tensor[] | ParamGroupSpec<O>[], defaults: O) {
    this.name = name;
    if (!Array.isArray(params) || params.length === 0) {
      throw new ValueError(`${name}: got an empty parameter list`);
    }
    const specs: ParamGroupSpec<O>[] = (params as unknown[]).every(
      (p) => p && typeof p === "object" && "params" in p,
    )
      ? (params as ParamGroupSpec<O>[])
      : [{ params: params as Tensor[] } as ParamGroupSpec<O>];
    const seen = new Set<Tensor>();
    this.groups = specs.map((spec) => {
      const { params: ps, ...overrides } = spec;
      for (const p of ps) {
        if (p.dtype === "int32")
          throw new DTypeError(`${name}: parameters must be float32 or float64, got int32`);
        if (seen.has(p)) throw new ValueError(`${name}: a parameter appears in more than one group or twice`);
        seen.add(p);
      }
      const options = { ...defaults, ...overrides } as O;
      this.validate(options);
      return { params: [...ps], options };
    });
  }

  /** Throws ValueError for out-of-range hyper-parameters. */
  protected validate(o: O): void {
    if (typeof o.lr === "number") checkRange(this.name, "lr", o.lr, 0, Infinity);
    else if (typeof o.lr !== "function")
      throw new ValueError(`${this.name}: lr must be a number or a schedule`);
  }

  get params(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** The learning rate the next step() uses in the first group. */
  get lr(): number {
    return this.currentLr(this.groups[0]);
  }

  /** Sets the learning rate (a number or a schedule) of every group. */
  set lr(lr: LearningRate) {
    for (const g of this.groups) {
      const options = { ...g.options, lr };
      this.validate(options);
      g.options = options;
    }
  }

  protected currentLr(g: ParamGroup<O>): number {
    const lr = typeof g.options.lr === "function" ? g.options.lr(this.stepCount) : g.options.lr;
    if (!(lr >= 0) || !Number.isFinite(lr)) {
      throw new ValueError(
        `${this.name}: learning rate at step ${this.stepCount} is ${lr}, expected a number >= 0`,
      );
    }
    return lr;
  }

  /** One update of every parameter that has a gradient; parameters with grad === null are skipped. */
  step(): void {
    for (const g of this.groups) {
      const lr = this.currentLr(g);
      for (const p of g.params) {
        const grad = p.grad;
        if (grad === null) continue;
        if (grad.size !== p.size) {
          throw new ShapeError(
            `${this.name}.step: gradient of ${p.name ?? "a parameter"} has ${grad.size} elements, the parameter ${p.size}`,
          );
        }
        let s = this.state.get(p);
        if (s === undefined) {
          s = this.initState(p);
          this.state.set(p, s);
        }
        this.update(p.data as FloatArray, grad.data as FloatArray, lr, g.options, s);
      }
    }
    this.stepCount++;
  }

  /** Clears the gradient of every parameter (sets .grad to null, as PyTorch's set_to_none). */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  protected abstract initState(p: Tensor): S;
  protected abstract update(param: FloatArray, grad: FloatArray, lr: number, o: O, s: S): void;
}

export function checkRange(
  name: string,
  what: string,
  v: number,
  lo: number,
  hi: number,
  hiOpen = false,
): void {
  const ok = typeof v === "number" && v >= lo && (hiOpen ? v < hi : v <= hi) && !Number.isNaN(v);
  if (!ok || (hi === Infinity && !Number.isFinite(v))) {
    const range = hi === Infinity ? `>= ${lo}` : `in [${lo}, ${hi}${hiOpen ? ")" : "]"}`;
    throw new ValueError(`${name}: ${what} must be ${range}, got ${v}`);
  }
}

export function like(p: Tensor, fill = 0): FloatArray {
  const a = p.dtype === "float64" ? new Float64Array(p.size) : new Float32Array(p.size);
  if (fill !== 0) a.fill(fill);
  return a;
}
