/**
 * Wall time per primitive for the profile scripts: wraps every rule's forward with a timer, keyed by the
 * primitive and its input shapes, while `on` is true. Forwards run both in the forward pass and inside the
 * vjps of the backward pass, so the table covers the whole step.
 */
import type { Tensor } from "@tapegrad/autograd";
import { primitiveRules } from "../../packages/autograd/src/ops/rules.js";

export interface PrimitiveTimer {
  /** Milliseconds summed per "primitive [shape] [shape]" key while on. */
  readonly times: Map<string, number>;
  on: boolean;
  /** Prints the keys taking at least `minMs` per step (largest first) and the total, over `steps` steps. */
  print(steps: number, minMs: number, restLabel: string): void;
}

export function timePrimitives(): PrimitiveTimer {
  const timer: PrimitiveTimer = {
    times: new Map(),
    on: false,
    print(steps, minMs, restLabel) {
      let sum = 0;
      for (const [key, ms] of [...timer.times].sort((a, b) => b[1] - a[1])) {
        sum += ms;
        if (ms / steps >= minMs) console.log(`${(ms / steps).toFixed(3).padStart(8)} ms  ${key}`);
      }
      console.log(`${(sum / steps).toFixed(3).padStart(8)} ms  all primitives (${restLabel})`);
    },
  };
  type AnyForward = (inputs: readonly Tensor[], params: unknown) => Tensor;
  for (const rule of Object.values(primitiveRules) as unknown as { name: string; forward: AnyForward }[]) {
    const forward = rule.forward;
    rule.forward = (inputs, params) => {
      if (!timer.on) return forward(inputs, params);
      const t0 = performance.now();
      const out = forward(inputs, params);
      const key = `${rule.name} ${inputs.map((t) => `[${t.shape.join(",")}]`).join(" ")}`;
      timer.times.set(key, (timer.times.get(key) ?? 0) + performance.now() - t0);
      return out;
    };
  }
  return timer;
}
