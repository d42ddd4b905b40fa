import { alongAxisRules } from "./along-axis.js";
import { convRules } from "./conv.js";
import { customRules } from "./custom.js";
import { elementwiseRules } from "./elementwise.js";
import { indexingRules } from "./indexing.js";
import { mathRules } from "./math.js";
import { matmulRules } from "./matmul.js";
import type { Primitive, RuleTable } from "./primitive.js";
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
  ...convRules,
  ...customRules,
};

export const primitiveNames = Object.keys(primitiveRules) as Primitive[];
