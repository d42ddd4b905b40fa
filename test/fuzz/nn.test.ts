/**
 * A light fuzz of @tapegrad/nn's public surface: Linear and Sequential forward passes on random
 * shapes and dtypes, and every built-in loss (fn and deriv) on random, often mismatched, predictions
 * and targets. Only tapegrad errors may escape, each naming what the user called; a valid call gives
 * the shape the API promises.
 */
import { DTypeError, TapegradError, type Tensor } from "@tapegrad/autograd";
import { Linear, losses, ReLU, Sequential, Tanh } from "@tapegrad/nn";
import fc from "fast-check";
import { expect, it, vi } from "vitest";
import { shapeArb } from "./chain.js";
import { FUZZ_TIMEOUT_MS, fuzzParams } from "./config.js";
import { type DType, promote } from "./model.js";
import { drawValues, StepRng } from "./random.js";
import { toTensor } from "./steps.js";

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });

const dtypeArb = fc.constantFrom<DType>("float32", "float64", "int32");

function randomTensor(shape: number[], dtype: DType, seed: number, special = 0.05): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return toTensor({ shape, dtype, data: drawValues(new StepRng(seed), dtype, n, special) });
}

/** Runs fn; a thrown error must be a TapegradError whose message names one of `names`. Returns the result or null. */
function guarded<T>(names: string[], what: string, fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof TapegradError))
      throw new Error(`${what}: a raw ${(e as Error)?.name} escaped: ${(e as Error)?.message}`);
    if (!names.some((n) => e.message.includes(`${n}:`))) {
      throw new Error(`${what}: the error does not name ${names.join(" or ")}: ${e.message}`);
    }
    return null;
  }
}

it("Linear and Sequential: construction and forward on random shapes give the promised shape or a named error", () => {
  const arb = fc.record({
    inF: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom(0, -1, 1.5, Number.NaN)),
    outF: fc.integer({ min: 1, max: 4 }),
    dtype: fc.constantFrom<"float32" | "float64">("float32", "float64"),
    xShape: shapeArb,
    xDtype: dtypeArb,
    matchLast: fc.boolean(),
    deep: fc.boolean(),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
  });
  fc.assert(
    fc.property(arb, ({ inF, outF, dtype, xShape, xDtype, matchLast, deep, seed }) => {
      const model = guarded(["Linear"], `Linear(${inF}, ${outF})`, () =>
        deep
          ? new Sequential(
              new Linear(inF, 3, { dtype, seed }),
              new ReLU(),
              new Linear(3, outF, { dtype, seed }),
              new Tanh(),
            )
          : new Linear(inF, outF, { dtype, seed }),
      );
      if (model === null) {
        expect(Number.isInteger(inF) && inF >= 1).toBe(false);
        return;
      }
      const shape = matchLast && xShape.length > 0 ? [...xShape.slice(0, -1), inF] : xShape;
      const x = randomTensor(shape, xDtype, seed);
      // The layer's own name is what the user called; the inner op (matmul, add) is accepted as the one that failed.
      const y = guarded(["Linear", "Sequential", "matmul", "add"], `forward of ${x}`, () => model.forward(x));
      // int32 inputs promote to the weights' float dtype, as any int32 operand of a float op does.
      const valid = shape.length >= 1 && shape[shape.length - 1] === inF;
      if (y === null) {
        expect(valid, `a valid input was refused: ${x}`).toBe(false);
        return;
      }
      expect(valid, `an invalid input was accepted: ${x}`).toBe(true);
      expect(y.shape).toEqual([...shape.slice(0, -1), outF]);
      expect(y.dtype).toBe(promote(xDtype, dtype));
    }),
    fuzzParams(1000, 21),
  );
});

it("every built-in loss, fn and deriv, on random and mismatched shapes and dtypes: a size-1 loss and a gradient of ŷ's shape, or a named error", () => {
  const names = Object.keys(losses);
  const arb = fc.record({
    name: fc.constantFrom(...names),
    pShape: shapeArb,
    tShape: fc.option(shapeArb, { nil: undefined }),
    pDtype: dtypeArb,
    tDtype: dtypeArb,
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
  });
  fc.assert(
    fc.property(arb, ({ name, pShape, tShape, pDtype, tDtype, seed }) => {
      const loss = losses[name];
      const yHat = randomTensor(pShape, pDtype, seed);
      const y = randomTensor(tShape ?? pShape, tDtype, seed + 1, 0);
      const what = `${name}(${yHat}, ${y})`;
      const value = guarded([loss.name], `${what}.fn`, () => loss.fn(yHat, y));
      if (value !== null) expect(value.size, what).toBe(1);
      const d = guarded([loss.name], `${what}.deriv`, () => loss.deriv(yHat, y));
      if (d !== null) expect(d.shape, what).toEqual(yHat.shape);
      // fn and deriv accept and refuse the same inputs.
      expect(d === null, `fn and deriv disagree on ${what}`).toBe(value === null);
      if (pDtype === "int32" && value !== null) throw new DTypeError(`${what}: int32 predictions accepted`);
    }),
    fuzzParams(1500, 22),
  );
});
