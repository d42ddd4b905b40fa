import { readFileSync } from "node:fs";
import * as ag from "@tapegrad/autograd";
import { type KernelBackend, setKernelBackend, type Tensor, tensor, wasmAvailable } from "@tapegrad/autograd";
import { afterAll, describe, expect, it } from "vitest";
import { maxRelDiff } from "../support/reference.js";

/**
 * Convolution and pooling against PyTorch (float64): forward values and the gradients of
 * sum(out · ct) for every input, from test/fixtures/torch/conv.json (written by gen_conv.py, torch
 * 1.13), on both kernel backends.
 */
interface Flat {
  shape: number[];
  data: number[];
}
interface Case {
  name: string;
  op: string;
  opts: Record<string, unknown>;
  kernel?: number | number[];
  inputs: Flat[];
  out: Flat;
  ct: Flat;
  grads: Flat[];
}

const fixture = JSON.parse(readFileSync(new URL("../fixtures/torch/conv.json", import.meta.url), "utf8")) as {
  cases: Case[];
};

const toTensor = (f: Flat): Tensor => tensor(Float64Array.from(f.data), { shape: f.shape });
const pair = (k: number | number[] | undefined) =>
  Array.isArray(k) ? (k as [number, number]) : (k as number);

function run(c: Case, xs: Tensor[]): Tensor {
  const o = c.opts as never;
  switch (c.op) {
    case "conv2d":
      return ag.conv2d(xs[0], xs[1], xs[2] ?? null, o);
    case "conv1d":
      return ag.conv1d(xs[0], xs[1], xs[2] ?? null, o);
    case "convTranspose2d":
      return ag.convTranspose2d(xs[0], xs[1], xs[2] ?? null, o);
    case "maxPool2d":
      return ag.maxPool2d(xs[0], pair(c.kernel), o);
    case "avgPool2d":
      return ag.avgPool2d(xs[0], pair(c.kernel), o);
    case "adaptiveAvgPool2d":
      return ag.adaptiveAvgPool2d(xs[0], pair(c.kernel));
    case "unfold":
      return ag.unfold(xs[0], pair(c.kernel), o);
    case "cnn": {
      const [x, w1, b1, w2, b2] = xs;
      const h = ag.maxPool2d(ag.conv2d(x, w1, b1).relu(), 2);
      return ag.maxPool2d(ag.conv2d(h, w2, b2).relu(), 2);
    }
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}

const backends: KernelBackend[] = wasmAvailable() ? ["js", "wasm"] : ["js"];
afterAll(() => setKernelBackend("auto"));

describe.each(backends)("PyTorch agreement (float64), %s kernels", (backend) => {
  it.each(fixture.cases.map((c) => [`${c.op} ${c.name}`, c] as const))("%s", (_label, c) => {
    setKernelBackend(backend);
    const xs = c.inputs.map(toTensor);
    const y = run(c, xs);
    expect([...y.shape]).toEqual(c.out.shape);
    expect(maxRelDiff(y.data, c.out.data, 1e-3)).toBeLessThan(1e-10);
    const ct = toTensor(c.ct);
    const grads = ag.grads((...t) => run(c, t).mul(ct).sum())(...xs);
    grads.forEach((g, i) => {
      expect(g, `gradient ${i}`).not.toBeNull();
      expect([...(g as Tensor).shape]).toEqual(c.grads[i].shape);
      expect(maxRelDiff((g as Tensor).data, c.grads[i].data, 1e-3), `gradient ${i}`).toBeLessThan(1e-10);
    });
  });
});
