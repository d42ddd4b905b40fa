import type { DType } from "@tapegrad/autograd";
import {
  type AttrValue,
  attribute,
  type NodeProto,
  type OnnxDType,
  type TensorProto,
  tensorProto,
} from "./proto.js";

/**
 * A dimension (or a shape-like parameter) as a function of the batch size B: a·B + c. Static sizes
 * have a = 0. The exporter learns a and c by recording the function at two batch sizes.
 */
export interface Dim {
  readonly a: number;
  readonly c: number;
}

export const staticDim = (c: number): Dim => ({ a: 0, c });
export const isStatic = (d: Dim): boolean => d.a === 0;

/** Collects nodes and initializers with unique names; knows how to make the batch size a tensor. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();
  private batch: string | null = null;

  /** batchSource: the graph input and axis whose size is B (null when the batch is static). */
  constructor(
    readonly opset: number,
    private readonly batchSource: { input: string; axis: number } | null,
  ) {}

  /** name, or name_1, name_2, ... if taken. */
  unique(name: string): string {
    let out = name;
    for (let k = 1; this.used.has(out); k++) out = `${name}_${k}`;
    this.used.add(out);
    return out;
  }

  reserve(name: string): void {
    this.used.add(name);
  }

  node(
    opType: string,
    inputs: readonly string[],
    output: string,
    attrs: Record<string, AttrValue> = {},
    outputs = 1,
  ): string[] {
    const names = [output];
    for (let k = 1; k < outputs; k++) names.push(this.unique(`${output}:${k}`));
    this.nodes.push({
      opType,
      name: output,
      input: [...inputs],
      output: names,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return names;
  }

  initializer(name: string, dtype: OnnxDType, dims: readonly number[], values: ArrayLike<number>): string {
    const unique = this.unique(name);
    this.initializers.push(tensorProto(unique, dtype, dims, values));
    return unique;
  }

  /** A small constant (int64 lists, scalars), shared by value. */
  constant(dtype: OnnxDType, dims: readonly number[], values: readonly number[], hint: string): string {
    const key = `${dtype}|${dims.join(",")}|${values.join(",")}`;
    const known = this.constants.get(key);
    if (known !== undefined) return known;
    const name = this.initializer(hint, dtype, dims, values);
    this.constants.set(key, name);
    return name;
  }

  ints(values: readonly number[], hint = "const"): string {
    return this.constant("int64", [values.length], values, hint);
  }

  scalar(value: number, dtype: DType | "int64", hint = "const"): string {
    return this.constant(dtype, [], [value], hint);
  }

  /** B as a 1-D int64 tensor [B], read from the batch input's shape once. */
  batchSize(): string {
    if (this.batchSource === null) throw new Error("batchSize: the batch is static");
    if (this.batch !== null) return this.batch;
    const { input, axis } = this.batchSource;
    const out = this.unique("batch_size");
    if (this.opset >= 15) this.node("Shape", [input], out, { start: axis, end: axis + 1 });
    else {
      const shape = this.unique("input_shape");
      this.node("Shape", [input], shape);
      this.node("Gather", [shape, this.ints([axis], "batch_axis")], out, { axis: 0 });
    }
    this.batch = out;
    return out;
  }

  /** A 1-D int64 tensor of these dims: a constant when all are static, else built from B at run time. */
  shape(dims: readonly Dim[], hint: string): string {
    if (dims.every(isStatic))
      return this.ints(
        dims.map((d) => d.c),
        `${hint}_shape`,
      );
    const parts: string[] = [];
    let run: number[] = [];
    const flush = (): void => {
      if (run.length > 0) parts.push(this.ints(run, `${hint}_dims`));
      run = [];
    };
    for (const d of dims) {
      if (isStatic(d)) {
        run.push(d.c);
        continue;
      }
      flush();
      let v = this.batchSize();
      if (d.a !== 1) {
        const scaled = this.unique(`${hint}_batch_x${d.a}`);
        this.node("Mul", [v, this.ints([d.a], "k")], scaled);
        v = scaled;
      }
      if (d.c !== 0) {
        const shifted = this.unique(`${hint}_batch_plus${d.c}`);
        this.node("Add", [v, this.ints([d.c], "k")], shifted);
        v = shifted;
      }
      parts.push(v);
    }
    flush();
    if (parts.length === 1) return parts[0];
    const out = this.unique(`${hint}_shape`);
    this.node("Concat", parts, out, { axis: 0 });
    return out;
  }
}
