import {
  type DType,
  GraphError,
  noGrad,
  record,
  ShapeError,
  type Tape,
  Tensor,
  type TypedArray,
  ValueError,
} from "@tapegrad/autograd";
import { type AnyModule, Module } from "@tapegrad/nn";
import { type Dim, GraphBuilder, isStatic } from "./builder.js";
import {
  type EmitContext,
  isUnmapped,
  maxPoolAttrs,
  nonDifferentiableMappings,
  type OnnxMapping,
  primitiveMappings,
  type UnmappedReason,
} from "./mapping.js";
import { type ModelProto, onnx, valueInfo } from "./proto.js";

export interface ExportOptions {
  /** ONNX opset of the default domain (13 to 21; default 17). */
  opset?: number;
  /** Graph input names (default: the tensors' names, else input, input_1, ...). */
  inputNames?: string[];
  /** Graph output names (default output, output_1, ...). */
  outputNames?: string[];
  /** Make the batch axis of every input a symbolic "batch" dimension (default true). */
  dynamicBatch?: boolean;
  /** Which axis of each input is the batch (one number for all; default 0). */
  batchAxis?: number | number[];
  /** The graph's name (default "tapegrad"). */
  graphName?: string;
  /**
   * When exporting a function that calls a module (e.g. `(x) => mha.forward(x, x, x)[0]`): the module
   * whose parameter and buffer paths name the initializers, put in eval mode while recording.
   */
  module?: AnyModule;
}

/** What an exported function may return: a tensor, or arrays (tuples) of them; nulls are left out. */
export type ExportOutput = Tensor | null | readonly ExportOutput[];
export type ExportFunction = (...inputs: Tensor[]) => ExportOutput;

const MIN_OPSET = 13;
const MAX_OPSET = 21;

/**
 * Records `fnOrModule` (a Module runs its forward in eval mode) on `exampleInputs` and writes an ONNX
 * ModelProto: parameters and buffers as initializers named by their module paths, named inputs and
 * outputs, a symbolic batch dimension. Returns the encoded bytes.
 */
export function exportOnnx(
  fnOrModule: ExportFunction | AnyModule,
  exampleInputs: Tensor | readonly Tensor[],
  opts: ExportOptions = {},
): Uint8Array {
  return onnx.ModelProto.encode(buildOnnxModel(fnOrModule, exampleInputs, opts)).finish();
}

interface Recording {
  tape: Tape;
  inputs: readonly Tensor[];
  outputs: Tensor[];
}

const WHO = "exportOnnx";

/** The ModelProto exportOnnx encodes (for inspection and the checker). */
export function buildOnnxModel(
  fnOrModule: ExportFunction | AnyModule,
  exampleInputs: Tensor | readonly Tensor[],
  opts: ExportOptions = {},
): ModelProto {
  const inputs = exampleInputs instanceof Tensor ? [exampleInputs] : [...exampleInputs];
  if (inputs.length === 0 || !inputs.every((t) => t instanceof Tensor))
    throw new ValueError(`${WHO}: exampleInputs must be a Tensor or a non-empty array of Tensors`);
  const opset = opts.opset ?? 17;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET)
    throw new ValueError(`${WHO}: opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  const dynamic = opts.dynamicBatch ?? true;
  const axes = inputs.map((t, k) => {
    const ax = Array.isArray(opts.batchAxis) ? opts.batchAxis[k] : (opts.batchAxis ?? 0);
    if (!Number.isInteger(ax) || ax < 0 || (dynamic && ax >= t.ndim))
      throw new ValueError(
        `${WHO}: batch axis ${ax} of input ${k} does not exist in its shape [${t.shape.join(", ")}]`,
      );
    return ax as number;
  });

  const module = fnOrModule instanceof Module ? fnOrModule : (opts.module ?? null);
  const fn: ExportFunction =
    fnOrModule instanceof Module
      ? (...xs) => (fnOrModule.forward as (...a: Tensor[]) => ExportOutput)(...xs)
      : fnOrModule;
  const stateNames = new Map<Tensor, string>();
  if (module !== null) for (const [name, t] of module.namedState()) stateNames.set(t, name);

  const run = (xs: readonly Tensor[]): Recording => {
    const { value, tape } = noGrad(() => record(() => fn(...xs), { nonDifferentiable: true }));
    return { tape, inputs: xs, outputs: flattenOutputs(value) };
  };
  const modes = module?.modules().map((m) => [m, m.training] as const) ?? [];
  module?.eval();
  let first: Recording;
  let second: Recording | null = null;
  try {
    first = run(inputs);
    if (dynamic) second = run(inputs.map((t, k) => grownInput(t, axes[k], k)));
  } finally {
    for (const [m, mode] of modes) m.training = mode;
  }
  return new Exporter(first, second, inputs, axes, stateNames, opset, opts).model();
}

const sameShape = (a: Tensor, b: Tensor): boolean =>
  a.ndim === b.ndim && a.shape.every((d, k) => d === b.shape[k]);

function flattenOutputs(value: unknown): Tensor[] {
  if (value instanceof Tensor) return [value];
  if (value === null) return [];
  if (Array.isArray(value)) {
    const out: Tensor[] = [];
    for (const v of value) out.push(...flattenOutputs(v));
    return out;
  }
  throw new ValueError(
    `${WHO}: the function must return a Tensor or an array of Tensors, got ${value === null ? "null" : typeof value}`,
  );
}

/**
 * The input for the second recording: one more entry along the batch axis (copying entry 0) and then
 * its values shuffled with a fixed seed, so that a constant computed from the input's values outside
 * the tape shows up as a difference between the two recordings.
 */
function grownInput(t: Tensor, axis: number, k: number): Tensor {
  const shape = t.shape.slice();
  const outer = t.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = t.shape[axis];
  shape[axis] = n + 1;
  const data = new (t.data.constructor as new (n: number) => TypedArray)(outer * (n + 1) * inner);
  for (let o = 0; o < outer; o++) {
    data.set(t.data.subarray(o * n * inner, (o + 1) * n * inner), o * (n + 1) * inner);
    data.set(t.data.subarray(o * n * inner, o * n * inner + inner), (o * (n + 1) + n) * inner);
  }
  let seed = 0x9e3779b9 ^ (k + 1);
  for (let i = data.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = seed % (i + 1);
    const v = data[i];
    data[i] = data[j];
    data[j] = v;
  }
  const out = new Tensor(data, shape);
  if (t.name !== undefined) out.name = t.name;
  return out;
}

type LeafKind = { kind: "input"; k: number } | { kind: "state"; name: string } | { kind: "constant" };

class Exporter {
  private readonly b: GraphBuilder;
  private readonly tape: Tape;
  private readonly shapes: Dim[][] = [];
  private readonly leafKinds = new Map<number, LeafKind>();
  /** Nodes whose value is known at export time (parameters, constants, and ops of only those). */
  private readonly constant: boolean[] = [];
  /** ONNX value name of each tape node, once emitted. */
  private readonly values = new Map<number, string>();
  private readonly fIndex: number[] = [];
  private nextF: number;
  /** Leaves that are a graph input (or share its buffer): tape index -> input position. */
  private readonly inputAliases = new Map<number, number>();
  private readonly inputNames: string[];
  private readonly batchB: [number, number] | null;

  constructor(
    private readonly first: Recording,
    private readonly second: Recording | null,
    private readonly exampleInputs: readonly Tensor[],
    private readonly axes: readonly number[],
    private readonly stateNames: ReadonlyMap<Tensor, string>,
    private readonly opset: number,
    private readonly opts: ExportOptions,
  ) {
    this.tape = first.tape;
    this.nextF = exampleInputs.length;
    const taken = new Set<string>();
    this.inputNames = exampleInputs.map((t, k) => {
      let name = opts.inputNames?.[k] ?? t.name ?? (k === 0 ? "input" : `input_${k}`);
      if (taken.has(name)) name = `${name}_${k}`;
      taken.add(name);
      return name;
    });
    this.batchB = second === null ? null : [exampleInputs[0].shape[axes[0]], second.inputs[0].shape[axes[0]]];
    this.b = new GraphBuilder(opset, second === null ? null : { input: this.inputNames[0], axis: axes[0] });
    for (const n of this.inputNames) this.b.reserve(n);
  }

  /** a·B + c through (B1, v1) and (B2, v2); both recordings must agree on a whole-number slope. */
  private fit(v1: number, v2: number, what: () => string): Dim {
    if (this.batchB === null || v1 === v2) return { a: 0, c: v1 };
    const [b1, b2] = this.batchB;
    const a = (v2 - v1) / (b2 - b1);
    if (!Number.isInteger(a))
      throw new ShapeError(
        `${WHO}: ${what()} is ${v1} at batch size ${b1} and ${v2} at ${b2}, not a whole multiple of the batch size plus a constant`,
      );
    return { a, c: v1 - a * b1 };
  }

  private where(i: number): string {
    const node = this.tape.nodes[i];
    const f = this.fIndex[i];
    const label = f === undefined ? `node ${i}` : `f_${f}`;
    return `${label} (${node.op}${node.scope.length > 0 ? ` in ${node.scope.join(" / ")}` : ""})`;
  }

  model(): ModelProto {
    const { tape } = this;
    const nodes = tape.nodes;
    const other = this.second?.tape ?? null;
    if (other !== null && other.nodes.length !== nodes.length)
      throw new GraphError(
        `${WHO}: the function records ${nodes.length} nodes at batch size ${this.batchB?.[0]} but ${other.nodes.length} at ${this.batchB?.[1]}; its structure must not depend on the batch size or the input's values (pass dynamicBatch: false to export a fixed batch)`,
      );
    let f = this.exampleInputs.length;
    for (let i = 0; i < nodes.length; i++) if (!nodes[i].leaf) this.fIndex[i] = f++;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      const n2 = other?.nodes[i];
      if (n2 !== undefined && (n2.op !== n.op || n2.shape.length !== n.shape.length))
        throw new GraphError(
          `${WHO}: ${this.where(i)} is ${n2.op} of rank ${n2.shape.length} at another batch size; the function's structure must not depend on the batch size or the input's values`,
        );
      this.shapes[i] = n.shape.map((d, k) =>
        this.fit(d, n2?.shape[k] ?? d, () => `dimension ${k} of ${this.where(i)}`),
      );
    }
    this.classifyLeaves();
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i];
      this.constant[i] = n.leaf
        ? this.leafKinds.get(i)?.kind !== "input"
        : n.inputs.every((j) => this.constant[j]) && this.shapes[i].every(isStatic);
    }
    for (const [i, k] of this.inputAliases) this.values.set(i, this.inputNames[k]);
    const gemm = this.gemmPairs();
    const norms = this.batchNorms(gemm.fused);
    const layerNorms = this.layerNorms(new Set([...gemm.fused, ...norms.fused]));
    const pools = this.maxPools(new Set([...gemm.fused, ...norms.fused, ...layerNorms.fused]));
    const skip = (i: number): boolean =>
      gemm.fused.has(i) || norms.fused.has(i) || layerNorms.fused.has(i) || pools.fused.has(i);
    for (let i = 0; i < nodes.length; i++) {
      if (nodes[i].leaf || this.constant[i] || skip(i)) continue;
      const pair = gemm.bias.get(i);
      const bn = norms.at.get(i);
      const ln = layerNorms.at.get(i);
      const mp = pools.at.get(i);
      if (pair !== undefined) this.emitGemm(pair, i);
      else if (bn !== undefined) this.emitBatchNorm(bn, i);
      else if (ln !== undefined) this.emitLayerNorm(ln, i);
      else if (mp !== undefined) this.emitMaxPool(mp, i);
      else this.emit(i);
    }
    return this.assemble();
  }

  private classifyLeaves(): void {
    const { tape } = this;
    const other = this.second?.tape ?? null;
    for (let i = 0; i < tape.nodes.length; i++) {
      if (!tape.nodes[i].leaf) continue;
      const t = tape.tensor(i);
      // An input, or a view of one: grad(f)(x) inside the function differentiates a fresh leaf that
      // shares x's buffer.
      const k = this.exampleInputs.findIndex((x) => x === t || (x.data === t.data && sameShape(x, t)));
      if (k >= 0) {
        const t2 = other?.tensor(i);
        const x2 = this.second?.inputs[k];
        if (
          t2 !== undefined &&
          x2 !== undefined &&
          !(t2 === x2 || (t2.data === x2.data && sameShape(t2, x2)))
        )
          throw new GraphError(`${WHO}: input ${k} is read at a different place at another batch size`);
        this.inputAliases.set(i, k);
        this.leafKinds.set(i, { kind: "input", k });
        continue;
      }
      const name = this.stateNames.get(t);
      if (name !== undefined || (t.requiresGrad && this.stateNames.size === 0)) {
        if (name === undefined && other !== null) this.checkConstant(i, t, other.tensor(i));
        this.leafKinds.set(i, { kind: "state", name: name ?? t.name ?? `param_${i}` });
        continue;
      }
      if (other !== null) this.checkConstant(i, t, other.tensor(i));
      this.leafKinds.set(i, { kind: "constant" });
    }
  }

  /** A constant must be the same at both recordings (or a uniform fill of a batch-sized shape). */
  private checkConstant(i: number, t: Tensor, t2: Tensor): void {
    const same =
      t.size === t2.size &&
      t.shape.every((d, k) => d === t2.shape[k]) &&
      t.data.every((v, k) => Object.is(v, t2.data[k]));
    if (same) return;
    const uniform = (x: Tensor): boolean => x.data.every((v) => Object.is(v, x.data[0]));
    const used = this.tape.nodes.find((n) => n.inputs.includes(i));
    const at = used === undefined ? `node ${i}` : this.where(used.index);
    if (!this.shapes[i].every(isStatic) && uniform(t) && uniform(t2) && Object.is(t.data[0], t2.data[0]))
      return;
    throw new GraphError(
      `${WHO}: a constant read by ${at} changes with the input's values or batch size, so it was computed outside the tape (through .data, a plain JavaScript loop, or an op the tape does not record) and cannot be exported; compute it with tapegrad ops from the inputs`,
    );
  }

  /** matmul(a, b) of rank-2 operands whose only use is `+ bias` with a constant row: one Gemm. */
  private gemmPairs(): { fused: Set<number>; bias: Map<number, [number, number]> } {
    const { tape } = this;
    const nodes = tape.nodes;
    const uses = new Map<number, number[]>();
    for (const n of nodes) for (const j of n.inputs) uses.set(j, [...(uses.get(j) ?? []), n.index]);
    const outputs = new Set(this.first.outputs.map((t) => tape.indexOf(t)));
    const fused = new Set<number>();
    const bias = new Map<number, [number, number]>();
    for (let i = 0; i < nodes.length; i++) {
      const op = tape.op(i);
      if (op.kind !== "primitive" || op.primitive !== "matmul" || this.constant[i]) continue;
      const [a, b] = nodes[i].inputs;
      if (this.shapes[a].length !== 2 || this.shapes[b].length !== 2) continue;
      const u = uses.get(i) ?? [];
      if (u.length !== 1 || outputs.has(i)) continue;
      const j = u[0];
      const add = tape.op(j);
      if (add.kind !== "primitive" || add.primitive !== "add") continue;
      const [x, y] = nodes[j].inputs;
      if (x !== i || y === i || !this.constant[y]) continue;
      const n = this.shapes[i][1];
      const s = nodes[y].shape;
      const row = (s.length === 1 && s[0] === n.c) || (s.length === 2 && s[0] === 1 && s[1] === n.c);
      if (!row || nodes[y].dtype !== nodes[i].dtype) continue;
      fused.add(i);
      bias.set(j, [i, y]);
    }
    return { fused, bias };
  }

  /**
   * "scope/f_k_op": k counts the graph's own steps (inputs first, then each emitted tape node, a fused
   * Gemm once, folded constants not at all), so the article's network reads f_1 = W_1·f_0 + b_1,
   * f_2 = sigmoid, ... as in its figure. (Errors name the tape's f_i, as the tape's full picture does.)
   */
  private usesOf(): Map<number, number[]> {
    const uses = new Map<number, number[]>();
    for (const n of this.tape.nodes) for (const j of n.inputs) uses.set(j, [...(uses.get(j) ?? []), n.index]);
    return uses;
  }

  private primitiveAt(i: number): string | null {
    const op = this.tape.op(i);
    return op.kind === "primitive" ? op.primitive : null;
  }

  /** The leaf under a chain of reshapes (BatchNorm reshapes its [C] vectors to [1, C, 1, ...]). */
  private reshapedLeaf(i: number): number | null {
    let j = i;
    while (this.primitiveAt(j) === "reshape") j = this.tape.nodes[j].inputs[0];
    return this.tape.nodes[j].leaf ? j : null;
  }

  /**
   * BatchNorm in eval mode, recorded as ((x − mean) / √(var + eps))·weight + bias with every operand a
   * per-channel parameter or buffer: one BatchNormalization node. float32 passes running_var and eps
   * as they are; float64 passes the folded var + eps with epsilon 0, since an ONNX float attribute is
   * 32-bit and eps rounded to float32 would move a float64 result by up to 1e-10 of small variances.
   */
  private batchNorms(taken: ReadonlySet<number>): {
    fused: Set<number>;
    at: Map<
      number,
      { x: number; mean: number; std: number; variance: number; eps: number; weight: number; bias: number }
    >;
  } {
    const nodes = this.tape.nodes;
    const uses = this.usesOf();
    const outputs = new Set(this.first.outputs.map((t) => this.tape.indexOf(t)));
    const only = (i: number, prim: string): number | null => {
      const u = uses.get(i) ?? [];
      if (u.length !== 1 || outputs.has(i) || this.primitiveAt(u[0]) !== prim) return null;
      return nodes[u[0]].inputs[0] === i ? u[0] : null;
    };
    const fused = new Set<number>();
    const at = new Map();
    for (let i = 0; i < nodes.length; i++) {
      if (this.primitiveAt(i) !== "sub" || this.constant[i] || taken.has(i)) continue;
      const [x, m] = nodes[i].inputs;
      const rank = this.shapes[x].length;
      const c = nodes[x].shape[1];
      const channel = (j: number): boolean =>
        this.constant[j] &&
        nodes[j].shape.length === rank &&
        nodes[j].shape.every((d, k) => d === (k === 1 ? c : 1));
      const d = only(i, "div");
      const u = d === null ? null : only(d, "mul");
      const a = u === null ? null : only(u, "add");
      if (rank < 2 || d === null || u === null || a === null) continue;
      const std = nodes[d].inputs[1];
      const w = nodes[u].inputs[1];
      const b = nodes[a].inputs[1];
      if (![m, std, w, b].every(channel) || this.primitiveAt(std) !== "sqrt") continue;
      const sum = nodes[std].inputs[0];
      if (this.primitiveAt(sum) !== "add") continue;
      const [vr, e] = nodes[sum].inputs;
      const leaves = [m, vr, w, b].map((j) => this.reshapedLeaf(j));
      if (leaves.some((l) => l === null || nodes[l].shape.length !== 1 || nodes[l].shape[0] !== c)) continue;
      if (!nodes[e].leaf || this.tape.tensor(e).size !== 1) continue;
      const [mean, variance, weight, bias] = leaves as number[];
      for (const j of [i, d, u]) fused.add(j);
      at.set(a, { x, mean, std: sum, variance, eps: e, weight, bias });
    }
    return { fused, at };
  }

  /** A constant scalar leaf's value, or null. */
  private scalarLeaf(i: number): number | null {
    const n = this.tape.nodes[i];
    return n.leaf && this.constant[i] && this.tape.tensor(i).size === 1 ? this.tape.tensor(i).data[0] : null;
  }

  /**
   * LayerNorm, recorded as the two-pass normalisation over the last k axes, (x − mean)/√(var + eps),
   * then ·weight + bias: one LayerNormalization node (opset 17). Used when eps is exact as the 32-bit
   * float that ONNX's epsilon attribute holds (always in float32 models); otherwise the elementwise form
   * stays, exact in float64.
   */
  private layerNorms(taken: ReadonlySet<number>): {
    fused: Set<number>;
    at: Map<number, { x: number; axis: number; eps: number; weight: number | null; bias: number | null }>;
  } {
    const nodes = this.tape.nodes;
    const uses = this.usesOf();
    const outputs = new Set(this.first.outputs.map((t) => this.tape.indexOf(t)));
    const fused = new Set<number>();
    const at = new Map();
    if (this.opset < 17) return { fused, at };
    const single = (i: number): number | null => {
      const u = uses.get(i) ?? [];
      return u.length === 1 && !outputs.has(i) ? u[0] : null;
    };
    const sumParams = (i: number): { axes: number[]; keepdims: boolean } | null => {
      const op = this.tape.op(i);
      return op.kind === "primitive" && op.primitive === "sum" ? op.params : null;
    };
    for (let i = 0; i < nodes.length; i++) {
      if (this.primitiveAt(i) !== "sub" || this.constant[i] || taken.has(i)) continue;
      const [x, mean] = nodes[i].inputs;
      const rank = nodes[x].shape.length;
      // mean = sum(x, last k axes, keepdims) / count
      if (this.primitiveAt(mean) !== "div") continue;
      const [s1, n1] = nodes[mean].inputs;
      const p1 = sumParams(s1);
      if (p1 === null || !p1.keepdims || nodes[s1].inputs[0] !== x || p1.axes.length === 0) continue;
      if (single(s1) !== mean || single(mean) !== i) continue;
      const axes = [...p1.axes].sort((a, b) => a - b);
      const k = axes.length;
      if (!axes.every((a, j) => a === rank - k + j)) continue;
      const count = axes.reduce((acc, a) => acc * nodes[x].shape[a], 1);
      if (this.scalarLeaf(n1) !== count) continue;
      // var = sum(square(x − mean), same axes) / count; d = (x − mean) / sqrt(var + eps)
      const u = uses.get(i) ?? [];
      if (u.length !== 2 || outputs.has(i)) continue;
      const sq = u.find((j) => this.primitiveAt(j) === "square");
      const d = u.find((j) => this.primitiveAt(j) === "div" && nodes[j].inputs[0] === i);
      if (sq === undefined || d === undefined) continue;
      const s2 = single(sq);
      const p2 = s2 === null ? null : sumParams(s2);
      if (s2 === null || p2 === null || !p2.keepdims || p2.axes.join() !== p1.axes.join()) continue;
      const v = single(s2);
      if (v === null || this.primitiveAt(v) !== "div" || this.scalarLeaf(nodes[v].inputs[1]) !== count)
        continue;
      const ve = single(v);
      if (ve === null || this.primitiveAt(ve) !== "add") continue;
      const eps = this.scalarLeaf(nodes[ve].inputs[1]);
      const sd = single(ve);
      if (eps === null || sd === null || this.primitiveAt(sd) !== "sqrt" || nodes[d].inputs[1] !== sd)
        continue;
      if (nodes[x].dtype !== "float32" && Math.fround(eps) !== eps) continue;
      // optional affine: ·weight + bias, both of the normalized shape
      const tail = nodes[x].shape.slice(rank - k);
      const affine = (j: number): boolean =>
        this.constant[j] && nodes[j].shape.length === k && nodes[j].shape.every((dim, a) => dim === tail[a]);
      let end = d;
      let weight: number | null = null;
      let bias: number | null = null;
      const m = single(d);
      if (
        m !== null &&
        this.primitiveAt(m) === "mul" &&
        nodes[m].inputs[0] === d &&
        affine(nodes[m].inputs[1])
      ) {
        const a = single(m);
        if (
          a !== null &&
          this.primitiveAt(a) === "add" &&
          nodes[a].inputs[0] === m &&
          affine(nodes[a].inputs[1])
        ) {
          weight = nodes[m].inputs[1];
          bias = nodes[a].inputs[1];
          fused.add(d);
          fused.add(m);
          end = a;
        }
      }
      for (const j of [i, mean, s1, sq, s2, v, ve, sd]) if (!this.constant[j]) fused.add(j);
      at.set(end, { x, axis: rank - k, eps: nodes[ve].inputs[1], weight, bias });
    }
    return { fused, at };
  }

  /**
   * maxPool2d, recorded as the window argmax (maxPoolArgmax), a takeAlongAxis of the flattened planes
   * at those positions and a reshape back to [N, C, OH, OW]: MaxPool's plain output, one node, when
   * nothing else reads the positions. (A gradient's scatter reads them; then the argmax's MaxPool
   * indices and the GatherElements stay.)
   */
  private maxPools(taken: ReadonlySet<number>): {
    fused: Set<number>;
    at: Map<number, { x: number; argmax: number }>;
  } {
    const nodes = this.tape.nodes;
    const uses = this.usesOf();
    const outputs = new Set(this.first.outputs.map((t) => this.tape.indexOf(t)));
    const onlyFor = (i: number, user: number): boolean =>
      !outputs.has(i) && !taken.has(i) && (uses.get(i) ?? []).every((u) => u === user);
    const same = (d: Dim, e: Dim): boolean => d.a === e.a && d.c === e.c;
    const fused = new Set<number>();
    const at = new Map<number, { x: number; argmax: number }>();
    for (let t = 0; t < nodes.length; t++) {
      if (this.primitiveAt(t) !== "takeAlongAxis" || this.constant[t] || taken.has(t)) continue;
      const [flat, argmax] = nodes[t].inputs;
      const rec = this.tape.op(argmax);
      if (rec.kind !== "nonDifferentiable" || rec.op !== "maxPoolArgmax") continue;
      const x = nodes[argmax].inputs[0];
      if (this.primitiveAt(flat) !== "reshape" || nodes[flat].inputs[0] !== x) continue;
      const u = uses.get(t) ?? [];
      if (u.length !== 1 || !onlyFor(t, u[0]) || this.primitiveAt(u[0]) !== "reshape" || taken.has(u[0]))
        continue;
      if (!onlyFor(argmax, t)) continue;
      const [n, c] = this.shapes[x];
      const s = this.shapes[u[0]];
      const { oh, ow } = rec.params as { oh: number; ow: number };
      if (s.length !== 4 || !same(s[0], n) || !same(s[1], c) || !same(s[2], { a: 0, c: oh })) continue;
      if (!same(s[3], { a: 0, c: ow })) continue;
      fused.add(t);
      fused.add(argmax);
      if (onlyFor(flat, t)) fused.add(flat);
      at.set(u[0], { x, argmax });
    }
    return { fused, at };
  }

  private emitMaxPool(mp: { x: number; argmax: number }, out: number): void {
    const rec = this.tape.op(mp.argmax);
    if (rec.kind !== "nonDifferentiable" || rec.op !== "maxPoolArgmax") return;
    const base = this.b.unique(this.baseName(out, "maxpool"));
    this.b.node("MaxPool", [this.value(mp.x)], base, maxPoolAttrs(rec.params));
    this.values.set(out, base);
  }

  private emitLayerNorm(
    ln: { x: number; axis: number; eps: number; weight: number | null; bias: number | null },
    out: number,
  ): void {
    const { b } = this;
    const x = this.tape.nodes[ln.x];
    const tail = x.shape.slice(ln.axis);
    const size = tail.reduce((p, q) => p * q, 1);
    const scale =
      ln.weight !== null ? this.value(ln.weight) : b.constant(x.dtype, tail, new Array(size).fill(1), "ones");
    const inputs = [this.value(ln.x), scale];
    if (ln.bias !== null) inputs.push(this.value(ln.bias));
    const base = b.unique(this.baseName(out, "layernorm"));
    b.node("LayerNormalization", inputs, base, {
      axis: ln.axis,
      epsilon: { float: this.tape.tensor(ln.eps).data[0] },
    });
    this.values.set(out, base);
  }

  private emitBatchNorm(
    bn: { x: number; mean: number; std: number; variance: number; eps: number; weight: number; bias: number },
    out: number,
  ): void {
    const { b } = this;
    const float64 = this.tape.nodes[out].dtype === "float64";
    // the [C] vector of var + eps, folded in float64 exactly as tapegrad added them
    const folded = (): string => {
      const t = this.tape.tensor(bn.std);
      return b.initializer(`${this.foldedName(bn.variance)}.add_eps`, t.dtype, [t.size], t.data);
    };
    const base = b.unique(this.baseName(out, "batchnorm"));
    b.node(
      "BatchNormalization",
      [
        this.value(bn.x),
        this.value(bn.weight),
        this.value(bn.bias),
        this.value(bn.mean),
        float64 ? folded() : this.value(bn.variance),
      ],
      base,
      { epsilon: { float: float64 ? 0 : this.tape.tensor(bn.eps).data[0] } },
    );
    this.values.set(out, base);
  }

  private baseName(i: number, op: string): string {
    const n = this.tape.nodes[i];
    const scope = n.scope.map((s) => s.replace(/\s+/g, "")).join("/");
    return `${scope === "" ? "" : `${scope}/`}f_${this.nextF++}_${op}`;
  }

  /** The ONNX value of tape node j: emitted already, or a constant materialised as an initializer. */
  private value(j: number): string {
    const known = this.values.get(j);
    if (known !== undefined) return known;
    if (!this.constant[j])
      throw new GraphError(`${WHO}: internal: ${this.where(j)} used before it was emitted`);
    const t = this.tape.tensor(j);
    const kind = this.leafKinds.get(j);
    let name: string;
    if (kind?.kind === "state") name = this.b.initializer(kind.name, t.dtype, t.shape, t.data);
    else if (kind?.kind === "constant" && !this.shapes[j].every(isStatic)) {
      // a uniform fill of a batch-sized shape (zeros of a recurrent layer's first state)
      const fill = this.b.scalar(t.data[0], t.dtype, "fill");
      name = this.b.unique(`${t.name ?? "const"}_filled`);
      this.b.node("Expand", [fill, this.b.shape(this.shapes[j], "fill")], name);
    } else if (t.size <= 16) name = this.b.constant(t.dtype, t.shape, Array.from(t.data), this.foldedName(j));
    else name = this.b.initializer(this.foldedName(j), t.dtype, t.shape, t.data);
    this.values.set(j, name);
    return name;
  }

  /** A folded constant is named after what it was made from: "self_attn.in_proj_weight.slice.transpose". */
  private foldedName(j: number): string {
    const n = this.tape.nodes[j];
    const kind = this.leafKinds.get(j);
    if (kind?.kind === "state") return kind.name;
    if (n.leaf) return n.name ?? "const";
    const from =
      n.inputs.find((k) => this.tape.tensor(k).size !== 0 && !this.isSmallConstant(k)) ?? n.inputs[0];
    return `${from === undefined ? "const" : this.foldedName(from)}.${n.op}`;
  }

  private isSmallConstant(k: number): boolean {
    return this.leafKinds.get(k)?.kind === "constant" && this.tape.tensor(k).size <= 1;
  }

  private context<Params>(
    i: number,
    params: Params,
    params2: Params,
    base: string,
    emitted: string[],
  ): EmitContext<Params> {
    const { tape, b } = this;
    const n = tape.nodes[i];
    const op = (type: string, inputs: readonly string[], attrs = {}, outputs = 1): string[] => {
      const names = b.node(type, inputs, b.unique(`${base}/${type}`), attrs, outputs);
      emitted.push(names[0]);
      return names;
    };
    return {
      params,
      inputs: n.inputs.map((j) => this.value(j)),
      inputDtypes: n.inputs.map((j) => tape.nodes[j].dtype),
      inputShapes: n.inputs.map((j) => this.shapes[j]),
      outShape: this.shapes[i],
      dtype: n.dtype,
      opset: this.opset,
      b,
      paramDim: (get) => this.fit(get(params), get(params2), () => `a parameter of ${this.where(i)}`),
      op: (type, inputs, attrs, outputs) => op(type, inputs, attrs, outputs)[0],
      opMulti: (type, inputs, outputs, attrs) => op(type, inputs, attrs, outputs),
    };
  }

  private emit(i: number): void {
    const { tape } = this;
    const rec = tape.op(i);
    const rec2 = this.second?.tape.op(i) ?? rec;
    let mapping: OnnxMapping<unknown> | UnmappedReason;
    let opName: string;
    if (rec.kind === "primitive") {
      mapping = primitiveMappings[rec.primitive] as OnnxMapping<unknown> | UnmappedReason;
      opName = rec.primitive;
    } else if (rec.kind === "nonDifferentiable") {
      mapping = nonDifferentiableMappings[rec.op] as OnnxMapping<unknown> | UnmappedReason;
      opName = rec.op;
    } else return;
    if (isUnmapped(mapping))
      throw new GraphError(`${WHO}: ${this.where(i)} has no ONNX mapping: ${mapping.unmapped}`);
    if (mapping.minOpset !== undefined && this.opset < mapping.minOpset)
      throw new GraphError(
        `${WHO}: ${this.where(i)} needs opset ${mapping.minOpset} or later (${mapping.onnx}), exporting opset ${this.opset}`,
      );
    const base = this.b.unique(this.baseName(i, opName));
    const emitted: string[] = [];
    const params2 = "params" in rec2 ? rec2.params : null;
    const out = mapping.emit(this.context(i, "params" in rec ? rec.params : null, params2, base, emitted));
    this.values.set(i, this.rename(out, base, emitted));
  }

  /** The node's last ONNX op takes the node's own name (e.g. "Linear_1/f_3_matmul"). */
  private rename(out: string, base: string, emitted: readonly string[]): string {
    if (!emitted.includes(out)) return out;
    for (const node of this.b.nodes) {
      if (node.output?.[0] === out) {
        node.output[0] = base;
        node.name = base;
      }
      node.input = node.input?.map((x) => (x === out ? base : x));
    }
    return base;
  }

  private emitGemm([mm, bias]: [number, number], add: number): void {
    const rec = this.tape.op(mm);
    if (rec.kind !== "primitive" || rec.primitive !== "matmul") return;
    const [a, b] = this.tape.nodes[mm].inputs;
    const base = this.b.unique(this.baseName(mm, "gemm"));
    this.b.node("Gemm", [this.value(a), this.value(b), this.value(bias)], base, {
      transA: rec.params.transA ? 1 : 0,
      transB: rec.params.transB ? 1 : 0,
    });
    this.values.set(add, base);
  }

  private assemble(): ModelProto {
    const { tape, b } = this;
    const dimOf = (d: Dim): number | string =>
      isStatic(d) ? d.c : d.a === 1 && d.c === 0 ? "batch" : `batch*${d.a}${d.c === 0 ? "" : `+${d.c}`}`;
    const inputs = this.exampleInputs.map((t, k) =>
      valueInfo(
        this.inputNames[k],
        t.dtype,
        t.shape.map((d, ax) => (this.second !== null && ax === this.axes[k] ? "batch" : d)),
      ),
    );
    const outputNames = this.first.outputs.map((_, k) => {
      const n = this.opts.outputNames?.[k] ?? (k === 0 ? "output" : `output_${k}`);
      return b.unique(n);
    });
    const outputs = this.first.outputs.map((t, k) => {
      const i = tape.indexOf(t);
      const src = i >= 0 ? this.value(i) : b.initializer(`${outputNames[k]}_value`, t.dtype, t.shape, t.data);
      b.node("Identity", [src], outputNames[k]);
      const shape = i >= 0 ? this.shapes[i] : t.shape.map((c) => ({ a: 0, c }));
      return valueInfo(outputNames[k], t.dtype as DType, shape.map(dimOf));
    });
    return onnx.ModelProto.create({
      irVersion: this.opset <= 17 ? 8 : this.opset <= 19 ? 9 : 10,
      producerName: "tapegrad",
      producerVersion: "0.1.0",
      opsetImport: [{ domain: "", version: this.opset }],
      graph: {
        name: this.opts.graphName ?? "tapegrad",
        node: b.nodes,
        initializer: b.initializers,
        input: inputs,
        output: outputs,
      },
    });
  }
}
