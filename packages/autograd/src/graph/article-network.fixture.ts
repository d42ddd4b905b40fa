// The article's two-layer network as the tape records it (X [8,784] -> 30 sigmoid units -> 10 sigmoid units,
// L2 loss against Y), written out by hand so the picture tests do not depend on the tape implementation.
import type { TapeNode } from "../graph.js";

type Spec = Omit<TapeNode, "index" | "dtype" | "scopeIds" | "leaf" | "requiresGrad" | "scope"> & {
  scope?: [label: string, id: number];
  requiresGrad?: boolean;
};

function build(specs: Spec[]): TapeNode[] {
  return specs.map((s, index) => ({
    index,
    op: s.op,
    inputs: s.inputs,
    shape: s.shape,
    dtype: "float64",
    scope: s.scope === undefined ? [] : [s.scope[0]],
    scopeIds: s.scope === undefined ? [] : [s.scope[1]],
    ...(s.name === undefined ? {} : { name: s.name }),
    leaf: s.op === "leaf",
    requiresGrad: s.requiresGrad ?? s.op !== "leaf",
  }));
}

export function articleNetworkTape(): TapeNode[] {
  const layer1: [string, number] = ["W_1·f_0 + b_1", 1];
  const layer2: [string, number] = ["W_2·f_2 + b_2", 3];
  return build([
    { op: "leaf", inputs: [], shape: [8, 784], name: "X", requiresGrad: false }, // 0
    { op: "leaf", inputs: [], shape: [784, 30], name: "W_1", requiresGrad: true }, // 1
    { op: "matmul", inputs: [0, 1], shape: [8, 30], scope: layer1 }, // 2
    { op: "leaf", inputs: [], shape: [1, 30], name: "b_1", requiresGrad: true }, // 3
    { op: "add", inputs: [2, 3], shape: [8, 30], scope: layer1 }, // 4
    { op: "sigmoid", inputs: [4], shape: [8, 30], scope: ["sigmoid", 2] }, // 5
    { op: "leaf", inputs: [], shape: [30, 10], name: "W_2", requiresGrad: true }, // 6
    { op: "matmul", inputs: [5, 6], shape: [8, 10], scope: layer2 }, // 7
    { op: "leaf", inputs: [], shape: [1, 10], name: "b_2", requiresGrad: true }, // 8
    { op: "add", inputs: [7, 8], shape: [8, 10], scope: layer2 }, // 9
    { op: "sigmoid", inputs: [9], shape: [8, 10], scope: ["sigmoid", 4] }, // 10
    { op: "leaf", inputs: [], shape: [8, 10], name: "Y", requiresGrad: false }, // 11
    { op: "sub", inputs: [10, 11], shape: [8, 10], scope: ["loss", 5] }, // 12
    { op: "square", inputs: [12], shape: [8, 10], scope: ["loss", 5] }, // 13
    { op: "sum", inputs: [13], shape: [], scope: ["loss", 5] }, // 14
  ]);
}
