import { type FloatDType, randn, type Tensor } from "@tapegrad/autograd";
import { describe, it } from "vitest";
import { convCases } from "./conv-cases.js";
import { roundTrip } from "./harness.js";

describe.each(["float32", "float64"] as FloatDType[])(
  "convolution and pooling in onnxruntime (%s)",
  (dtype) => {
    for (const [name, fn] of Object.entries(convCases)) {
      it(name, async () => {
        const w = randn([4, 3, 3, 3], { seed: 7, dtype });
        const b = randn([4], { seed: 8, dtype });
        await roundTrip(
          (x: Tensor) => fn(x, w, b),
          (batch, seed) => [randn([batch, 3, 9, 8], { seed, dtype })],
          dtype,
        );
      });
    }
  },
);
