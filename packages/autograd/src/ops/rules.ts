import { alongAxisRules } from "./along-axis.js";
import { customRules } from "./custom.js";
import { elementwiseRules } from "./elementwise.js";
import { indexingRules } from "./indexing.js";
import { jvpRules } from "./jvp-rules.js";
import { mathRules } from "./math.js";
import { matmulRules } from "./matmul.js";
import type { JvpTable, Primitive, RuleTable } from "./primitive.js";
import { reduceRules } from "./reduce.js";
import { shapeRules } from "./shape.js";
import { statisticsRules } from "./statistics.js";

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
  ...customRules,
};

/**
 * Every primitive's forward-mode rule, typed over the whole Primitive union like primitiveRules (the table
 * itself is assembled in ops/jvp-rules.ts, on first use, because apply() needs it from inside the
 * ops <-> tape import cycle): a primitive without a jvp rule does not compile.
 */
export const primitiveJvpRules: JvpTable<Primitive> = jvpRules();

export const primitiveNames = Object.keys(primitiveRules) as Primitive[];
