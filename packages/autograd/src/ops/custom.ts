import { liftBatchedMany, noteFallback } from "../batched.js";
import { DTypeError, GraphError, TapegradError, ValueError } from "../errors.js";
import { formatShape, shapesEqual } from "../shape.js";
import { apply, grads, opaque } from "../tape.js";
import { Tensor } from "../tensor.js";
import { type BatchRuleTable, exampleOf, loopBatch, stackExamples } from "./batching.js";
import type { CustomParams, JvpTable, RuleTable } from "./primitive.js";
import { empty } from "./util.js";

export const customRules: RuleTable<"custom"> = {
  custom: {
    name: "custom",
    forward: (inputs, params) => {
      const out = opaque(() => params.forward(...inputs));
      if (!(out instanceof Tensor)) {
        throw new TapegradError(`customOp "${params.name}": forward must return a Tensor, got ${typeof out}`);
      }
      return new Tensor(out.data, out.shape); // a fresh tensor, so the node never lands on an input
    },
    // A vjp must return one entry per input: a Tensor of that input's shape and dtype, or null for
    // "no gradient". Anything else (undefined included: a forgotten return) is an error naming the op
    // and the input, never a silently missing .grad.
    vjp: (g, { inputs, output, params }, needs) => {
      const batched = loopVjp(g, inputs, output, params, needs);
      if (batched !== null) return batched;
      const result: unknown = params.vjp(g, inputs, output);
      const op = `customOp "${params.name}"`;
      if (result === undefined) {
        throw new GraphError(
          `${op}: vjp returned undefined; expected ${inputs.length === 1 ? "a Tensor or null" : `an array of ${inputs.length} Tensors or nulls`} (null: no gradient for that input)`,
        );
      }
      const list: unknown[] = Array.isArray(result) ? result : [result];
      if (list.length !== inputs.length) {
        throw new GraphError(`${op}: vjp returned ${list.length} cotangents for ${inputs.length} inputs`);
      }
      return list.map((c, i) => {
        if (c === null) return null;
        if (!(c instanceof Tensor)) {
          const what = c === undefined ? "undefined" : Array.isArray(c) ? "an array" : `a ${typeof c}`;
          throw new GraphError(`${op}: vjp returned ${what} for input ${i}; expected a Tensor or null`);
        }
        // A wrong shape is caught by the walk for every rule (tape.ts: "the vjp of <name> (f_i) returned ...").
        const x = inputs[i];
        if (x.dtype !== "int32" && c.dtype !== x.dtype) {
          throw new DTypeError(
            `${op}: vjp returned a ${c.dtype} cotangent for input ${i} of dtype ${x.dtype}; cast it to ${x.dtype}`,
          );
        }
        return needs[i] ? c : null;
      });
    },
  },
};

/**
 * Forward mode through a custom op: the spec's own jvp when it has one; otherwise the vjp transposed.
 * A vjp is linear in its cotangent u, so J·t = ∇_u Σ_i ⟨vjp(u)_i, t_i⟩ (at any u): one
 * reverse pass through the vjp's own ops, which works whenever the vjp computes with tensor ops on u
 * (the same condition as for second derivatives). Ones stand for u. A vjp written on raw buffers cannot be transposed, and
 * that is an error naming the op rather than a silently zero tangent.
 */
export const customJvpRules: JvpTable<"custom"> = {
  custom: (tangents, { inputs, output, params }) => {
    if (tangents.every((t) => t === null)) return null;
    if (params.jvp !== undefined) return checkedJvp(params, params.jvp(tangents, inputs, output), output);
    return transposedVjp(params, tangents, inputs, output);
  },
};

function checkedJvp(params: CustomParams, t: unknown, output: Tensor): Tensor | null {
  if (t === null || t === undefined) return null;
  if (!(t instanceof Tensor) || !shapesEqual(t.shape, output.shape)) {
    throw new TapegradError(
      `customOp "${params.name}": jvp must return a Tensor of the output's shape ${formatShape(output.shape)} (or null), got ${t instanceof Tensor ? `shape ${formatShape(t.shape)}` : typeof t}`,
    );
  }
  return t.dtype === output.dtype ? t : t.cast(output.dtype);
}

function transposedVjp(
  params: CustomParams,
  tangents: readonly (Tensor | null)[],
  inputs: readonly Tensor[],
  output: Tensor,
): Tensor | null {
  const pairing = (u: Tensor): Tensor => {
    const raw = params.vjp(u, inputs, output);
    const list = Array.isArray(raw) ? raw : [raw];
    let total: Tensor | null = null;
    tangents.forEach((t, i) => {
      const c = list[i];
      if (t === null || c === null || c === undefined) return;
      if (!c.requiresGrad && c.data.some((v) => v !== 0)) {
        throw new GraphError(
          `customOp "${params.name}": forward mode (jvp, jacfwd, hessian) needs the op's derivative, and its vjp cannot be transposed: cotangent ${i} is not computed from the output cotangent with tensor ops. Give customOp a jvp: (tangents, inputs, output) => tangent`,
        );
      }
      const term = c.mul(t).sum();
      total = total === null ? term : total.add(term);
    });
    return total ?? u.sum().mul(0);
  };
  // Any u will do (the vjp is linear in it); ones make a vjp on raw buffers show itself by nonzero
  // values that do not depend on u.
  const u = empty(output.dtype, output.shape);
  u.data.fill(1);
  const [jt] = grads(pairing)(u);
  return jt;
}

export interface CustomOpSpec {
  /** Shown in graphs and errors. */
  name: string;
  /** Computes the output from the inputs; runs without recording. */
  forward: (...inputs: Tensor[]) => Tensor;
  /**
   * Maps the output cotangent to one cotangent per input (null for none). Write it with tensor ops to
   * make the op twice differentiable.
   */
  vjp: (cotangent: Tensor, inputs: readonly Tensor[], output: Tensor) => Tensor | null | (Tensor | null)[];
  /**
   * Optional forward-mode rule: the output tangent from one tangent per input (null = zero). Without
   * it, forward mode transposes the vjp (which then must be written with tensor ops on the cotangent).
   */
  jvp?: (tangents: readonly (Tensor | null)[], inputs: readonly Tensor[], output: Tensor) => Tensor | null;
}

/** Defines a primitive with its own gradient rule; returns a function applying it. */
export function customOp(spec: CustomOpSpec): (...inputs: Tensor[]) => Tensor {
  if (
    typeof spec?.name !== "string" ||
    typeof spec.forward !== "function" ||
    typeof spec.vjp !== "function" ||
    (spec.jvp !== undefined && typeof spec.jvp !== "function")
  ) {
    throw new ValueError(
      "customOp: expected { name: string, forward: function, vjp: function, jvp?: function }",
    );
  }
  const params: CustomParams = { name: spec.name, forward: spec.forward, vjp: spec.vjp, jvp: spec.jvp };
  return (...inputs) => {
    inputs.forEach((t, i) => {
      if (!(t instanceof Tensor))
        throw new TapegradError(`customOp "${spec.name}": input ${i} is not a Tensor`);
    });
    return apply(customRules.custom, inputs, params);
  };
}

// ---- batching rules (vmap) -------------------------------------------------------------------------

const CUSTOM_LOOP =
  "a customOp's forward and vjp are user code run on plain tensors (they may read values), so they run once per example";

export const customBatchRules: BatchRuleTable<"custom"> = {
  custom: loopBatch(CUSTOM_LOOP),
};

/**
 * The vjp of a custom op applied under vmap (a gradient taken inside vmap): the user's vjp runs once per
 * example on plain tensors, like its forward (loopBatch), and the cotangents are stacked. Null when
 * nothing is batched.
 */
function loopVjp(
  g: Tensor,
  inputs: readonly Tensor[],
  output: Tensor,
  params: CustomParams,
  needs: readonly boolean[],
): (Tensor | null)[] | null {
  const wanted = inputs.map((_, i) => i).filter((i) => needs[i]);
  const lifted = liftBatchedMany([g, ...inputs, output], (values, dims, size) => {
    noteFallback(`custom:${params.name} (vjp)`, CUSTOM_LOOP, size);
    const perInput: Tensor[][] = wanted.map(() => []);
    for (let b = 0; b < size; b++) {
      const ex = values.map((v, i) => {
        const d = dims[i];
        return d === null ? v : exampleOf(v, d, b);
      });
      const exInputs = ex.slice(1, 1 + inputs.length);
      const cts = customRules.custom.vjp(
        ex[0],
        { inputs: exInputs, output: ex[ex.length - 1], params },
        needs,
      );
      wanted.forEach((i, k) => {
        perInput[k].push(cts[i] ?? empty(exInputs[i].dtype, exInputs[i].shape));
      });
    }
    return perInput.map((cts) => ({ value: stackExamples(cts), dim: 0 }));
  });
  if (lifted === null) return null;
  const out: (Tensor | null)[] = inputs.map(() => null);
  wanted.forEach((i, k) => {
    out[i] = lifted[k];
  });
  return out;
}
