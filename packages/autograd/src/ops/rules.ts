import { alongAxisBatchRules, alongAxisRules } from "./along-axis.js";
import type { BatchRuleTable } from "./batching.js";
import { convBatchRules, convRules } from "./conv.js";
import { customBatchRules, customRules } from "./custom.js";
import { elementwiseBatchRules, elementwiseRules } from "./elementwise.js";
import { indexingBatchRules, indexingRules } from "./indexing.js";
import { jvpRules } from "./jvp-rules.js";
import { mathBatchRules, mathRules } from "./math.js";
import { matmulBatchRules, matmulRules } from "./matmul.js";
import type { JvpTable, Primitive, RuleTable } from "./primitive.js";
import { reduceBatchRules, reduceRules } from "./reduce.js";
import { shapeBatchRules, shapeRules } from "./shape.js";
import { statisticsBatchRules, statisticsRules } from "./statistics.js";

/**
 * Every primitive with its forward and vjp. Typed over the whole Primitive union: a primitive without
 * a gradient rule does not compile. Tests walk this table to check that every rule is exercised.
 */
export const primitiveRules: RuleTable<Primitive> = {
  ...elementwiseRules,
  ...matmulRules,
  ...reduceRules,
  ...shapeRules,
  ...indexingRules,
  ...mathRules,
  ...statisticsRules,
  ...alongAxisRules,
  ...convRules,
  ...customRules,
};

/**
 * Every primitive's forward-mode rule, typed over the whole Primitive union like primitiveRules (the table
 * itself is assembled in ops/jvp-rules.ts, on first use, because apply() needs it from inside the
 * ops <-> tape import cycle): a primitive without a jvp rule does not compile.
 */
export const primitiveJvpRules: JvpTable<Primitive> = jvpRules();

export const primitiveNames = Object.keys(primitiveRules) as Primitive[];

/**
 * Every primitive's batching rule (vmap), typed over the whole Primitive union like primitiveRules: a
 * primitive without one does not compile. Rules that loop over the examples say why (`fallback`).
 */
export const batchRules: BatchRuleTable<Primitive> = {
  ...elementwiseBatchRules,
  ...matmulBatchRules,
  ...reduceBatchRules,
  ...shapeBatchRules,
  ...indexingBatchRules,
  ...mathBatchRules,
  ...statisticsBatchRules,
  ...alongAxisBatchRules,
  ...convBatchRules,
  ...customBatchRules,
};
