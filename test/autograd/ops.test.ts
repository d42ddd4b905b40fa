import { primitiveNames } from "@tapegrad/autograd";
import { describe, expect, it } from "vitest";
import { opPropertySuite } from "./op-properties.js";
import { opTable } from "./op-table.js";

opPropertySuite({ label: "default kernels", runs: { forward: 30, float32: 15, grad: 20, gradgrad: 8 } });

describe("the op table", () => {
  it("exercises every primitive (cast and custom have their own tests in dtype.test.ts and custom-op.test.ts)", () => {
    const covered = new Set(opTable.flatMap((info) => info.covers));
    covered.add("cast");
    covered.add("custom");
    const missing = primitiveNames.filter((p) => !covered.has(p));
    expect(missing).toEqual([]);
  });
});
