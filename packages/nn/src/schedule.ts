import { ValueError } from "@tapegrad/autograd";

/**
 * A learning-rate schedule: the learning rate for optimiser step `step` (0 for the first update).
 * Any function of that shape works; the builders below cover the usual ones and compose through warmup.
 */
export type Schedule = (step: number) => number;

function positive(name: string, what: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v))
    throw new ValueError(`${name}: ${what} must be a positive number, got ${v}`);
}
function nonNegative(name: string, what: string, v: number): void {
  if (!(v >= 0) || !Number.isFinite(v))
    throw new ValueError(`${name}: ${what} must be a number >= 0, got ${v}`);
}

export function constantLR(lr: number): Schedule {
  nonNegative("constantLR", "lr", lr);
  return () => lr;
}

/** lr · gamma^⌊step / stepSize⌋. */
export function stepLR(lr: number, stepSize: number, gamma = 0.1): Schedule {
  nonNegative("stepLR", "lr", lr);
  positive("stepLR", "stepSize", stepSize);
  nonNegative("stepLR", "gamma", gamma);
  return (step) => lr * gamma ** Math.floor(step / stepSize);
}

/** lr · gamma^step. */
export function expLR(lr: number, gamma: number): Schedule {
  nonNegative("expLR", "lr", lr);
  nonNegative("expLR", "gamma", gamma);
  return (step) => lr * gamma ** step;
}

/** Half a cosine from lr down to minLr over totalSteps, then minLr. */
export function cosineLR(lr: number, totalSteps: number, minLr = 0): Schedule {
  nonNegative("cosineLR", "lr", lr);
  positive("cosineLR", "totalSteps", totalSteps);
  nonNegative("cosineLR", "minLr", minLr);
  return (step) =>
    minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * Math.min(step, totalSteps)) / totalSteps))) / 2;
}

/**
 * Linear warm-up over `steps` steps (from after(0)/steps up to after(0)), then `after` continues from its own
 * step 0. `after` is a schedule or a constant learning rate.
 */
export function warmup(steps: number, after: Schedule | number): Schedule {
  positive("warmup", "steps", steps);
  const next = typeof after === "number" ? constantLR(after) : after;
  return (step) => (step < steps ? (next(0) * (step + 1)) / steps : next(step - steps));
}
