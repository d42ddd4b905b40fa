import { gradcheck, gradgradcheck, type Tensor, tensor } from "@tapegrad/autograd";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxRelDiff, size } from "../support/reference.js";
import { type Case, type Domain, type OpInfo, opTable } from "./op-table.js";

/**
 * The properties every op of the op table must have: forward against the reference in float64, float32
 * against float64, gradcheck and (smooth ops) gradgradcheck. ops.test.ts runs them on the default
 * kernel backend, ops-wasm.test.ts with every kernel that has a WASM version forced onto it.
 */

/** Property runs per op; `label` names the suite. */
export interface OpSuiteOptions {
  label: string;
  runs: { forward: number; float32: number; grad: number; gradgrad: number };
}

/** Draws values for every input of a case, inside each input's domain, away from kinks (and tie-free if asked). */
function valuesFor(info: OpInfo, c: Case): fc.Arbitrary<number[][]> {
  const sizes = c.shapes.map(size);
  const total = sizes.reduce((a, b) => a + b, 0);
  return fc
    .array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), {
      minLength: total,
      maxLength: total,
    })
    .map((u) => {
      let us = u;
      if (info.distinct) {
        // Evenly spaced ranks: every pair of values differs by at least (max − min) / total.
        const order = u.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
        us = new Array<number>(total);
        order.forEach(([, i], rank) => {
          us[i] = (rank + 0.5) / total;
        });
      }
      const out: number[][] = [];
      let k = 0;
      c.shapes.forEach((_, i) => {
        const domain: Domain = Array.isArray(info.domain) ? info.domain[i] : info.domain;
        const vals: number[] = [];
        for (let j = 0; j < sizes[i]; j++) vals.push(place(us[k++], domain));
        out.push(vals);
      });
      return out;
    });
}

function place(u: number, d: Domain): number {
  let x = d.min + u * (d.max - d.min);
  for (const kink of d.kinks ?? []) {
    const gap = d.gap ?? 0.05;
    if (Math.abs(x - kink) < gap) x = x < kink ? kink - gap : kink + gap;
  }
  return x;
}

export function sample(info: OpInfo): fc.Arbitrary<{ c: Case; values: number[][] }> {
  return info.cases.chain((c) => valuesFor(info, c).map((values) => ({ c, values })));
}

export function makeInputs(c: Case, values: number[][], dtype: "float32" | "float64"): Tensor[] {
  return c.shapes.map((s, i) =>
    tensor(dtype === "float64" ? Float64Array.from(values[i]) : Float32Array.from(values[i]), { shape: s }),
  );
}

export function opPropertySuite({ label, runs }: OpSuiteOptions): void {
  describe.each(opTable.map((info) => [info.name, info] as const))(`${label}: op %s`, (_name, info) => {
    it("forward matches the reference in float64", () => {
      fc.assert(
        fc.property(sample(info), ({ c, values }) => {
          const xs = makeInputs(c, values, "float64");
          const y = info.fn(c.args, ...xs);
          const ref = info.ref(c.args, ...c.shapes.map((s, i) => ({ data: values[i], shape: s })));
          expect(y.dtype).toBe("float64");
          expect([...y.shape]).toEqual([...ref.shape]);
          expect(maxRelDiff(y.data, ref.data, 1e-9)).toBeLessThan(1e-11);
        }),
        { seed: 1, numRuns: runs.forward },
      );
    });

    it("forward in float32 stays float32 and agrees with float64", () => {
      fc.assert(
        fc.property(sample(info), ({ c, values }) => {
          const y32 = info.fn(c.args, ...makeInputs(c, values, "float32"));
          const y64 = info.fn(c.args, ...makeInputs(c, values, "float64"));
          expect(y32.dtype).toBe("float32");
          // float32 keeps ~7 digits relative to the magnitude of the inputs (|x| <= 5), so values near 0 get an absolute floor.
          expect(maxRelDiff(y32.data, y64.data, 5e-2)).toBeLessThan(1e-4);
        }),
        { seed: 2, numRuns: runs.float32 },
      );
    });

    it("gradient matches central finite differences (gradcheck, float64)", () => {
      fc.assert(
        fc.property(sample(info), ({ c, values }) => {
          const xs = makeInputs(c, values, "float64");
          const result = gradcheck((...t) => info.fn(c.args, ...t), xs);
          expect(result.worst === null || result.ok, JSON.stringify(result)).toBe(true);
        }),
        { seed: 3, numRuns: runs.grad },
      );
    });

    it.runIf(info.smooth)("second-order gradient matches finite differences (gradgradcheck, float64)", () => {
      fc.assert(
        fc.property(sample(info), ({ c, values }) => {
          const xs = makeInputs(c, values, "float64");
          const result = gradgradcheck((...t) => info.fn(c.args, ...t), xs);
          expect(result.ok, JSON.stringify(result)).toBe(true);
        }),
        { seed: 4, numRuns: runs.gradgrad },
      );
    });
  });
}
