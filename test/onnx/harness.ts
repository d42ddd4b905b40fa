import { type FloatDType, randn, type Tensor } from "@tapegrad/autograd";
import type { AnyModule } from "@tapegrad/nn";
import { buildOnnxModel, checkModel, type ExportFunction, type ExportOptions, onnx } from "@tapegrad/onnx";
import { expect } from "vitest";
import { relativeError, runOnnx } from "./ort.js";

export const TOLERANCE: Record<FloatDType, number> = { float32: 1e-5, float64: 1e-12 };

function flatten(v: unknown): Tensor[] {
  if (Array.isArray(v)) return v.flatMap(flatten);
  return v === null ? [] : [v as Tensor];
}

/**
 * Exports with inputs at batch size 3, checks the model, then runs it in onnxruntime at batch sizes 3
 * and 5 on fresh random inputs and compares every output with tapegrad's. Returns the worst error seen.
 */
export async function roundTrip(
  target: ExportFunction | AnyModule,
  makeInputs: (batch: number, seed: number) => Tensor[],
  dtype: FloatDType,
  opts: ExportOptions = {},
  batches: readonly number[] = [3, 5],
): Promise<number> {
  const model = buildOnnxModel(target, makeInputs(3, 1), opts);
  expect(checkModel(model)).toEqual([]);
  const bytes = onnx.ModelProto.encode(model).finish();
  const inputNames = model.graph?.input?.map((i) => i.name ?? "") ?? [];
  const outputNames = model.graph?.output?.map((o) => o.name ?? "") ?? [];
  const module = typeof target === "function" ? opts.module : target;
  module?.eval();
  const forward =
    typeof target === "function"
      ? target
      : (...xs: Tensor[]) => (target.forward as (...a: Tensor[]) => unknown)(...xs);
  let worst = 0;
  for (const batch of opts.dynamicBatch === false ? [3] : batches) {
    const xs = makeInputs(batch, 100 + batch);
    const want = flatten(forward(...xs));
    const got = await runOnnx(bytes, Object.fromEntries(xs.map((x, k) => [inputNames[k], x])));
    expect(outputNames.length).toBe(want.length);
    want.forEach((w, k) => {
      const g = got[outputNames[k]];
      expect(g.shape).toEqual(w.shape);
      const err = relativeError(g, w);
      expect(err, `output ${outputNames[k]} at batch ${batch}`).toBeLessThanOrEqual(TOLERANCE[dtype]);
      worst = Math.max(worst, err);
    });
  }
  return worst;
}

export const randomInput =
  (shapeAfterBatch: readonly number[], dtype: FloatDType) =>
  (batch: number, seed: number): Tensor[] => [randn([batch, ...shapeAfterBatch], { seed, dtype })];
