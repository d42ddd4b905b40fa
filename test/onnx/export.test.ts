import {
  customOp,
  GraphError,
  grad,
  maxPool2d,
  randn,
  type Tensor,
  tensor,
  ValueError,
} from "@tapegrad/autograd";
import {
  BatchNorm1d,
  BatchNorm2d,
  LayerNorm,
  Linear,
  NN,
  quadratic,
  Sequential,
  Sigmoid,
  sigmoid,
  TransformerEncoderLayer,
} from "@tapegrad/nn";
import { buildOnnxModel, checkModel, exportOnnx, type ModelProto, onnx } from "@tapegrad/onnx";
import { describe, expect, it } from "vitest";
import { runOnnx } from "./ort.js";

const x4 = (): Tensor => randn([4, 3], { seed: 1, dtype: "float64" });

describe("exportOnnx: names", () => {
  it("the article's network reads like its f_i figure: W_1·f_0 + b_1 (Gemm), sigmoid, ...", () => {
    const net = new NN([3, 5, 2], sigmoid, quadratic, { seed: 1, dtype: "float64" });
    const model = buildOnnxModel(net, [x4()], { inputNames: ["X"], outputNames: ["f_4"] });
    const g = model.graph!;
    expect(g.initializer!.map((t) => [t.name, t.dims!.map(Number)])).toEqual([
      ["w.0", [3, 5]],
      ["b.0", [1, 5]],
      ["w.1", [5, 2]],
      ["b.1", [1, 2]],
    ]);
    expect(g.node!.map((n) => `${n.opType} ${n.name}`)).toEqual([
      "Gemm W_1·f_0+b_1/f_1_gemm",
      "Sigmoid sigmoid/f_2_sigmoid",
      "Gemm W_2·f_2+b_2/f_3_gemm",
      "Sigmoid sigmoid/f_4_sigmoid",
      "Identity f_4",
    ]);
    expect(g.input!.map((i) => i.name)).toEqual(["X"]);
    const dims = g.input![0].type!.tensorType!.shape!.dim!;
    expect(dims.map((d) => d.dimParam || Number(d.dimValue))).toEqual(["batch", 3]);
  });

  it("Sequential parameters keep their module paths; a transposed weight is folded into one initializer", () => {
    const m = new Sequential(new Linear(3, 4, { seed: 1 }), new Sigmoid());
    const names = buildOnnxModel(m, [randn([2, 3], { seed: 2 })]).graph!.initializer!.map((t) => t.name);
    expect(names).toEqual(["0.weight", "0.bias"]);
    // W is read transposed on a rank-3 input: the transpose of the parameter is computed once, at export.
    const w = randn([5, 3], { seed: 3 });
    w.requiresGrad = true;
    w.name = "W";
    const model = buildOnnxModel((x: Tensor) => x.matmul(w.transpose()), [randn([2, 4, 3], { seed: 4 })]);
    const inits = model.graph!.initializer!;
    expect(inits.map((t) => t.name)).toEqual(["W.transpose"]);
    expect(inits[0].dims!.map(Number)).toEqual([3, 5]);
    expect(model.graph!.node!.map((n) => n.opType)).toEqual(["MatMul", "Identity"]);
  });
});

describe("exportOnnx: BatchNorm in eval is one BatchNormalization node", () => {
  for (const dtype of ["float32", "float64"] as const) {
    it(`${dtype}: BatchNorm1d and BatchNorm2d inside a Sequential, torch's buffer names as initializers`, () => {
      const m = new Sequential(new Linear(3, 4, { seed: 1, dtype }), new BatchNorm1d(4, { dtype }));
      const g = buildOnnxModel(m, [randn([5, 3], { seed: 2, dtype })]).graph!;
      expect(g.node!.map((n) => n.opType)).toEqual(["Gemm", "BatchNormalization", "Identity"]);
      const bn = g.node![1];
      const varName = dtype === "float32" ? "1.running_var" : "1.running_var.add_eps";
      expect(bn.input!.slice(1)).toEqual(["1.weight", "1.bias", "1.running_mean", varName]);
      const eps = bn.attribute!.find((a) => a.name === "epsilon")!.f;
      expect(eps).toBeCloseTo(dtype === "float32" ? 1e-5 : 0, 12);
      const conv = buildOnnxModel(new BatchNorm2d(3, { dtype }), [randn([2, 3, 4, 4], { seed: 3, dtype })])
        .graph!;
      expect(conv.node!.map((n) => n.opType)).toEqual(["BatchNormalization", "Identity"]);
    });
  }
});

describe("exportOnnx: maxPool2d is one MaxPool node", () => {
  it("its plain output replaces the argmax and the gather; a gradient inside the function keeps the indices", () => {
    const ops = (f: (x: Tensor) => Tensor, shape: number[]): string[] =>
      buildOnnxModel(f, [randn(shape, { seed: 1 })]).graph!.node!.map((n) => n.opType ?? "");
    expect(ops((x) => maxPool2d(x, 2), [2, 3, 6, 6])).toEqual(["MaxPool", "Identity"]);
    // [C, H, W]: unsqueeze and squeeze around it (and, as C is taken for the dynamic axis, its Shape/Concat)
    const unbatched = ops((x) => maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }), [3, 7, 6]);
    expect(unbatched.filter((o) => !["Shape", "Concat", "Reshape"].includes(o))).toEqual([
      "MaxPool",
      "Identity",
    ]);
    // The backward pass scatters to the argmax positions, so they are computed (MaxPool's second output).
    const g = ops((x) => grad((y: Tensor) => maxPool2d(y, 2).square().sum())(x)!, [2, 3, 6, 6]);
    expect(g).toContain("GatherElements");
    expect(g).toContain("ScatterElements");
    expect(g.filter((o) => o === "MaxPool")).toHaveLength(1);
  });
});

describe("exportOnnx: LayerNorm is one LayerNormalization node when its eps fits the float attribute", () => {
  it("float32 (and float64 with eps = 2^-16); float64 with eps = 1e-5 keeps the exact elementwise form", () => {
    const ops = (m: LayerNorm | TransformerEncoderLayer, dtype: "float32" | "float64"): string[] =>
      buildOnnxModel(m, [randn([2, 3, 8], { seed: 1, dtype })]).graph!.node!.map((n) => n.opType ?? "");
    expect(ops(new LayerNorm([8]), "float32")).toEqual(["LayerNormalization", "Identity"]);
    expect(ops(new LayerNorm([3, 8], { elementwiseAffine: false }), "float32")).toEqual([
      "LayerNormalization",
      "Identity",
    ]);
    expect(ops(new LayerNorm([8], { dtype: "float64", eps: 2 ** -16 }), "float64")).toEqual([
      "LayerNormalization",
      "Identity",
    ]);
    expect(ops(new LayerNorm([8], { dtype: "float64" }), "float64")).not.toContain("LayerNormalization");
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, seed: 1 });
    expect(ops(layer, "float32").filter((op) => op === "LayerNormalization")).toHaveLength(2);
  });
});

describe("exportOnnx: errors", () => {
  it("a customOp fails, naming it and its f_i index", () => {
    const twice = customOp({ name: "twice", forward: (a) => a.mul(2), vjp: (g) => g.mul(2) });
    const f = (x: Tensor): Tensor => twice(x.exp());
    const err = (() => {
      try {
        buildOnnxModel(f, [x4()]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GraphError);
    expect(String(err)).toMatch(
      /f_2 \(twice\) has no ONNX mapping: a customOp's forward is arbitrary JavaScript/,
    );
  });

  it("a constant computed from the input's values outside the tape is refused, not frozen", () => {
    const f = (x: Tensor): Tensor =>
      x.mul(
        tensor(
          Array.from(x.data, (v) => (v > 0 ? 1 : 0)),
          { dtype: "float64" },
        ).reshape(x.shape),
      );
    expect(() => buildOnnxModel(f, [x4()])).toThrow(
      /a constant read by f_\d+ \(reshape\) changes with the input's values or batch size/,
    );
  });

  it("bad options fail clearly", () => {
    expect(() => buildOnnxModel((x: Tensor) => x, [x4()], { opset: 9 })).toThrow(ValueError);
    expect(() => buildOnnxModel((x: Tensor) => x, [x4()], { batchAxis: 4 })).toThrow(
      /batch axis 4 of input 0/,
    );
    expect(() => buildOnnxModel((x: Tensor) => x.exp(), [])).toThrow(/exampleInputs/);
    const scatter = (x: Tensor): Tensor => x.scatterAdd([0, 1], 1, 4);
    expect(() => buildOnnxModel(scatter, [randn([2, 2], { seed: 1 })], { opset: 15 })).toThrow(
      /needs opset 16/,
    );
  });

  it("a module's training flags are restored after the export (recorded in eval mode)", () => {
    const m = new Sequential(new Linear(3, 2, { seed: 1 }));
    m.train();
    exportOnnx(m, [randn([2, 3], { seed: 1 })]);
    expect(m.modules().every((x) => x.training)).toBe(true);
  });
});

describe("exportOnnx: opsets", () => {
  for (const opset of [13, 17, 18, 21]) {
    it(`opset ${opset}: reductions write axes as the opset wants, and onnxruntime agrees`, async () => {
      const f = (x: Tensor): Tensor[] => [x.max([1]), x.sum([1], true), x.softmax(1)];
      const model = buildOnnxModel(f, [x4()], { opset });
      expect(checkModel(model)).toEqual([]);
      const reduceMax = model.graph!.node!.find((n) => n.opType === "ReduceMax")!;
      expect(reduceMax.input!.length).toBe(opset >= 18 ? 2 : 1);
      const x = randn([6, 3], { seed: 9, dtype: "float64" });
      const out = await runOnnx(onnx.ModelProto.encode(model).finish(), { input: x });
      const want = f(x);
      want.forEach((w, k) => {
        const got = out[k === 0 ? "output" : `output_${k}`];
        expect(Array.from(got.data)).toEqual(Array.from(w.data).map((v) => expect.closeTo(v, 12)));
      });
    });
  }
});

/** A deep copy of a model through its bytes, to break on purpose. */
function copy(model: ModelProto): ModelProto {
  return onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
}

describe("checkModel", () => {
  const base = (): ModelProto =>
    buildOnnxModel(new Sequential(new Linear(3, 2, { seed: 1 }), new Sigmoid()), [x4()]);

  it("passes an exported model and reports each broken rule", () => {
    expect(checkModel(base())).toEqual([]);

    const reordered = copy(base());
    reordered.graph!.node!.reverse();
    expect(checkModel(reordered).join("\n")).toMatch(/reads "[^"]+" before it is defined/);

    const badAttr = copy(base());
    const gemm = badAttr.graph!.node!.find((n) => n.opType === "Gemm")!;
    gemm.attribute!.push(onnx.AttributeProto.create({ name: "axis", type: 2, i: 1 }));
    expect(checkModel(badAttr).join("\n")).toMatch(/Gemm at opset 17 has no attribute axis/);

    const wrongType = copy(base());
    wrongType.graph!.node!.find((n) => n.opType === "Gemm")!.attribute![0].type = 1;
    expect(checkModel(wrongType).join("\n")).toMatch(/has type FLOAT, Gemm expects INT/);

    const shortInit = copy(base());
    shortInit.graph!.initializer![0].dims = [3, 3];
    expect(checkModel(shortInit).join("\n")).toMatch(/holds 6 values, its dims \[3,3\] need 9/);

    const unknownOut = copy(base());
    unknownOut.graph!.output![0].name = "nowhere";
    expect(checkModel(unknownOut).join("\n")).toMatch(/graph output "nowhere" is never computed/);

    const twice = copy(base());
    twice.graph!.node!.push(twice.graph!.node![0]);
    expect(checkModel(twice).join("\n")).toMatch(/is defined twice/);
  });

  it("knows which attributes changed with the opset (ReduceMax axes: an attribute before 18)", () => {
    const m = buildOnnxModel((x: Tensor) => x.max([1]), [x4()], { opset: 17 });
    const at18 = copy(m);
    at18.opsetImport![0].version = 18;
    expect(checkModel(at18).join("\n")).toMatch(/ReduceMax at opset 18 has no attribute axes/);
  });
});
