import { installRules } from "../tape.js";
import { alongAxisJvpRules, alongAxisRules } from "./along-axis.js";
import { customJvpRules, customRules } from "./custom.js";
import { elementwiseJvpRules, elementwiseRules } from "./elementwise.js";
import { indexingJvpRules, indexingRules } from "./indexing.js";
import { mathJvpRules, mathRules } from "./math.js";
import { matmulJvpRules, matmulRules } from "./matmul.js";
import type { JvpTable, Primitive, RuleTable } from "./primitive.js";
import { reduceJvpRules, reduceRules } from "./reduce.js";
import { shapeJvpRules, shapeRules } from "./shape.js";
import { statisticsJvpRules, statisticsRules } from "./statistics.js";

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
 * Every primitive's forward-mode rule, typed over the whole Primitive union like primitiveRules: a
 * primitive without a jvp rule does not compile. apply() consults it while a jvp is running.
 */
export const primitiveJvpRules: JvpTable<Primitive> = {
  ...elementwiseJvpRules,
  ...matmulJvpRules,
  ...reduceJvpRules,
  ...shapeJvpRules,
  ...indexingJvpRules,
  ...mathJvpRules,
  ...statisticsJvpRules,
  ...alongAxisJvpRules,
  ...customJvpRules,
};

installRules(primitiveJvpRules, primitiveRules);

export const primitiveNames = Object.keys(primitiveRules) as Primitive[];
