import { alongAxisJvpRules } from "./along-axis.js";
import { convJvpRules } from "./conv.js";
import { customJvpRules } from "./custom.js";
import { elementwiseJvpRules } from "./elementwise.js";
import { indexingJvpRules } from "./indexing.js";
import { mathJvpRules } from "./math.js";
import { matmulJvpRules } from "./matmul.js";
import type { JvpTable, Primitive } from "./primitive.js";
import { reduceJvpRules } from "./reduce.js";
import { shapeJvpRules } from "./shape.js";
import { statisticsJvpRules } from "./statistics.js";

let table: JvpTable<Primitive> | null = null;

/**
 * Every primitive's jvp rule, typed over the whole Primitive union (a primitive without one does not
 * compile), re-exported as primitiveJvpRules by ops/rules.ts. Built on first use: apply() in tape.ts
 * imports this module from inside the ops <-> tape import cycle, so nothing here may read the family
 * tables while the modules load, and no side effect of another module is needed to install it (the
 * packages are marked side-effect free, so a bundler may drop such a module).
 */
export function jvpRules(): JvpTable<Primitive> {
  table ??= {
    ...elementwiseJvpRules,
    ...matmulJvpRules,
    ...reduceJvpRules,
    ...shapeJvpRules,
    ...indexingJvpRules,
    ...mathJvpRules,
    ...statisticsJvpRules,
    ...alongAxisJvpRules,
    ...convJvpRules,
    ...customJvpRules,
  };
  return table;
}
