import { dtypeOfElem, type ModelProto, onnx, type TensorProto } from "./proto.js";

/**
 * The ONNX checker's rules that can be stated without the full operator registry, for the ops the
 * exporter writes: the graph is in topological order (every node input is a graph input, an
 * initializer or an earlier node's output), every value is defined once, every node's input and output
 * counts and attributes (names, types, required ones) fit its op at the model's opset, and every
 * initializer holds as many values as its dims say.
 */

const A = onnx.AttributeProto.AttributeType;
type AttrType = number;

interface OpSchema {
  /** Inputs [min, max] and outputs [min, max]. */
  inputs: [number, number];
  outputs?: [number, number];
  attrs?: Record<string, AttrType>;
  required?: string[];
  /** The first opset with this op (in the form the exporter writes). */
  since?: number;
}

const none: OpSchema = { inputs: [1, 1] };
const two: OpSchema = { inputs: [2, 2] };
const MANY = 2 ** 31;

/** Schemas that change at some opset: [from opset, schema], newest last. */
const versioned: Record<string, Array<[number, OpSchema]>> = {
  ReduceMax: [
    [13, { inputs: [1, 1], attrs: { axes: A.INTS, keepdims: A.INT } }],
    [18, { inputs: [1, 2], attrs: { keepdims: A.INT, noop_with_empty_axes: A.INT } }],
  ],
  Pad: [
    [13, { inputs: [2, 3], attrs: { mode: A.STRING } }],
    [18, { inputs: [2, 4], attrs: { mode: A.STRING } }],
  ],
  Cast: [
    [13, { inputs: [1, 1], attrs: { to: A.INT }, required: ["to"] }],
    [19, { inputs: [1, 1], attrs: { to: A.INT, saturate: A.INT }, required: ["to"] }],
  ],
  Shape: [
    [13, { inputs: [1, 1] }],
    [15, { inputs: [1, 1], attrs: { start: A.INT, end: A.INT } }],
  ],
  ScatterElements: [
    [13, { inputs: [3, 3], attrs: { axis: A.INT } }],
    [16, { inputs: [3, 3], attrs: { axis: A.INT, reduction: A.STRING } }],
  ],
};
versioned.ReduceMin = versioned.ReduceMax;
versioned.ReduceProd = versioned.ReduceMax;
versioned.ReduceMean = versioned.ReduceMax;

const schemas: Record<string, OpSchema> = {
  Neg: none,
  Exp: none,
  Log: none,
  Sqrt: none,
  Abs: none,
  Tanh: none,
  Sigmoid: none,
  Relu: none,
  Erf: none,
  Sin: none,
  Cos: none,
  Sign: none,
  Not: none,
  Identity: none,
  Add: two,
  Sub: two,
  Mul: two,
  Div: two,
  Pow: two,
  Max: { inputs: [1, MANY] },
  Min: { inputs: [1, MANY] },
  Equal: two,
  Greater: two,
  Less: two,
  GreaterOrEqual: { inputs: [2, 2], since: 12 },
  LessOrEqual: { inputs: [2, 2], since: 12 },
  Where: { inputs: [3, 3] },
  MatMul: two,
  Gemm: { inputs: [2, 3], attrs: { alpha: A.FLOAT, beta: A.FLOAT, transA: A.INT, transB: A.INT } },
  ReduceSum: { inputs: [1, 2], attrs: { keepdims: A.INT, noop_with_empty_axes: A.INT }, since: 13 },
  CumSum: { inputs: [2, 2], attrs: { exclusive: A.INT, reverse: A.INT } },
  Reshape: { inputs: [2, 2], attrs: { allowzero: A.INT } },
  Transpose: { inputs: [1, 1], attrs: { perm: A.INTS } },
  Expand: two,
  Unsqueeze: { inputs: [2, 2], since: 13 },
  Slice: { inputs: [3, 5] },
  Concat: { inputs: [1, MANY], attrs: { axis: A.INT }, required: ["axis"] },
  Gather: { inputs: [2, 2], attrs: { axis: A.INT } },
  GatherElements: { inputs: [2, 2], attrs: { axis: A.INT } },
  ConstantOfShape: { inputs: [1, 1], attrs: { value: A.TENSOR } },
  TopK: { inputs: [2, 2], outputs: [2, 2], attrs: { axis: A.INT, largest: A.INT, sorted: A.INT } },
  ArgMax: { inputs: [1, 1], attrs: { axis: A.INT, keepdims: A.INT, select_last_index: A.INT } },
  ArgMin: { inputs: [1, 1], attrs: { axis: A.INT, keepdims: A.INT, select_last_index: A.INT } },
  BatchNormalization: {
    inputs: [5, 5],
    outputs: [1, 3],
    attrs: { epsilon: A.FLOAT, momentum: A.FLOAT, training_mode: A.INT },
  },
  LayerNormalization: {
    inputs: [2, 3],
    outputs: [1, 3],
    attrs: { axis: A.INT, epsilon: A.FLOAT, stash_type: A.INT },
    since: 17,
  },
  Mod: { inputs: [2, 2], attrs: { fmod: A.INT } },
  Conv: {
    inputs: [2, 3],
    attrs: {
      auto_pad: A.STRING,
      dilations: A.INTS,
      group: A.INT,
      kernel_shape: A.INTS,
      pads: A.INTS,
      strides: A.INTS,
    },
  },
  ConvTranspose: {
    inputs: [2, 3],
    attrs: {
      auto_pad: A.STRING,
      dilations: A.INTS,
      group: A.INT,
      kernel_shape: A.INTS,
      output_padding: A.INTS,
      output_shape: A.INTS,
      pads: A.INTS,
      strides: A.INTS,
    },
  },
  MaxPool: {
    inputs: [1, 1],
    outputs: [1, 2],
    attrs: {
      auto_pad: A.STRING,
      ceil_mode: A.INT,
      dilations: A.INTS,
      kernel_shape: A.INTS,
      pads: A.INTS,
      storage_order: A.INT,
      strides: A.INTS,
    },
    required: ["kernel_shape"],
  },
  AveragePool: {
    inputs: [1, 1],
    attrs: {
      auto_pad: A.STRING,
      ceil_mode: A.INT,
      count_include_pad: A.INT,
      dilations: A.INTS,
      kernel_shape: A.INTS,
      pads: A.INTS,
      strides: A.INTS,
    },
    required: ["kernel_shape"],
  },
};

const STRING_VALUES: Record<string, Record<string, string[]>> = {
  Pad: { mode: ["constant", "reflect", "edge", "wrap"] },
  ScatterElements: { reduction: ["none", "add", "mul", "max", "min"] },
};

function schemaOf(op: string, opset: number): OpSchema | undefined {
  const v = versioned[op];
  if (v !== undefined) {
    let found: OpSchema | undefined;
    for (const [from, s] of v) if (opset >= from) found = s;
    return found;
  }
  return schemas[op];
}

const ELEMENT_BYTES: Record<string, number> = { float32: 4, float64: 8, int32: 4, int64: 8, bool: 1 };

function initializerProblem(t: TensorProto): string | null {
  const dtype = dtypeOfElem(t.dataType ?? 0);
  if (dtype === undefined) return `initializer "${t.name}" has unsupported data type ${t.dataType}`;
  const dims = (t.dims ?? []).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0))
    return `initializer "${t.name}" has bad dims [${dims}]`;
  const want = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData;
  const have =
    raw && raw.length > 0
      ? raw.length / ELEMENT_BYTES[dtype]
      : dtype === "float64"
        ? (t.doubleData ?? []).length
        : dtype === "int64"
          ? (t.int64Data ?? []).length
          : dtype === "float32"
            ? (t.floatData ?? []).length
            : (t.int32Data ?? []).length;
  return have === want
    ? null
    : `initializer "${t.name}" holds ${have} values, its dims [${dims}] need ${want}`;
}

/** Every rule the model breaks, as readable lines (empty when it passes). */
export function checkModel(model: ModelProto): string[] {
  const problems: string[] = [];
  const opset = model.opsetImport?.find((o) => (o.domain ?? "") === "")?.version;
  if (opset === undefined || opset === null) return ["the model imports no opset of the default ONNX domain"];
  const graph = model.graph;
  if (!graph) return ["the model has no graph"];
  const defined = new Set<string>();
  const define = (name: string, what: string): void => {
    if (name === "") problems.push(`${what} has an empty name`);
    else if (defined.has(name)) problems.push(`${what} "${name}" is defined twice`);
    defined.add(name);
  };
  for (const i of graph.input ?? []) define(i.name ?? "", "graph input");
  for (const t of graph.initializer ?? []) {
    define(t.name ?? "", "initializer");
    const p = initializerProblem(t);
    if (p !== null) problems.push(p);
  }
  for (const node of graph.node ?? []) {
    const op = node.opType ?? "";
    const where = `node "${node.name}" (${op})`;
    const schema = schemaOf(op, Number(opset));
    const inputs = node.input ?? [];
    const outputs = node.output ?? [];
    for (const x of inputs)
      if (x !== "" && !defined.has(x)) problems.push(`${where} reads "${x}" before it is defined`);
    if (schema === undefined)
      problems.push(`${where}: ${op} is not an op the checker knows at opset ${opset}`);
    else {
      if (schema.since !== undefined && Number(opset) < schema.since)
        problems.push(`${where}: ${op} needs opset ${schema.since}, the model imports ${opset}`);
      const [lo, hi] = schema.inputs;
      if (inputs.length < lo || inputs.length > hi)
        problems.push(
          `${where} has ${inputs.length} inputs, ${op} takes ${lo}${hi === lo ? "" : ` to ${hi === MANY ? "any" : hi}`}`,
        );
      const [olo, ohi] = schema.outputs ?? [1, 1];
      if (outputs.length < olo || outputs.length > ohi)
        problems.push(
          `${where} has ${outputs.length} outputs, ${op} makes ${olo}${ohi === olo ? "" : ` to ${ohi}`}`,
        );
      const seen = new Set<string>();
      for (const attr of node.attribute ?? []) {
        const name = attr.name ?? "";
        const want = schema.attrs?.[name];
        if (seen.has(name)) problems.push(`${where} sets attribute ${name} twice`);
        seen.add(name);
        if (want === undefined) problems.push(`${where}: ${op} at opset ${opset} has no attribute ${name}`);
        else if (attr.type !== want)
          problems.push(
            `${where}: attribute ${name} has type ${A[attr.type ?? 0]}, ${op} expects ${A[want]}`,
          );
        const allowed = STRING_VALUES[op]?.[name];
        if (allowed !== undefined && attr.s) {
          const s = new TextDecoder().decode(attr.s);
          if (!allowed.includes(s))
            problems.push(`${where}: ${name} "${s}" is not one of ${allowed.join(", ")}`);
        }
        if (attr.t) {
          const p = initializerProblem(attr.t);
          if (p !== null) problems.push(`${where}: attribute ${name}: ${p}`);
        }
      }
      for (const r of schema.required ?? [])
        if (!seen.has(r)) problems.push(`${where}: ${op} requires attribute ${r}`);
    }
    for (const o of outputs) define(o, `output of ${where}`);
  }
  for (const o of graph.output ?? [])
    if (!defined.has(o.name ?? "")) problems.push(`graph output "${o.name}" is never computed`);
  return problems;
}
