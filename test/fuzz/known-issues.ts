/**
 * KNOWN FAILURES, TO DELETE AFTER MERGING THEIR FIXES. The fuzz suite states the intended behaviour
 * (issue 9); these are the defects of issue 9 that other branches are fixing at the time of writing.
 * Each entry is as narrow as its defect, cites its item, and excuses only the finding it describes.
 * A finding that no entry matches fails the suite. When a fix is merged, delete its entry (the suite
 * must then pass without it); `KNOWN_ISSUES.length === 0` is the goal.
 */
import type { DType } from "./model.js";

export type FindingKind =
  /** A non-tapegrad error (TypeError, RangeError, ...) escaped. */
  | "raw-error"
  /** A tapegrad error whose message does not name the op the user called. */
  | "wrong-name"
  /** The model says the arguments are invalid, the library returned a result. */
  | "no-error"
  /** The model says the call is valid, the library threw. */
  | "unexpected-error"
  | "shape"
  | "dtype"
  | "value"
  /** A NaN input that made the output NaN got a gradient of 0 (PyTorch propagates to the NaN side). */
  | "zero-grad";

export interface Finding {
  kind: FindingKind;
  /** The op (or function, constructor) the user called. */
  op: string;
  /** dtype of the tensor the op was called on. */
  dtype?: DType;
  /** The call as code. */
  text: string;
  detail: string;
  error?: unknown;
}

export interface KnownIssue {
  issue: string;
  what: string;
  matches: (f: Finding) => boolean;
}

const COMPOSITES = new Set(["clamp", "leakyRelu", "gelu", "mean", "softmax", "logSoftmax", "logsumexp"]);

const isRangeError = (e: unknown): boolean => e instanceof RangeError;

export const KNOWN_ISSUES: readonly KnownIssue[] = [
  {
    issue: "9.1",
    what: "int32 max/min over a leading or middle axis give 0s (the kernel fills an Int32Array with ±Infinity)",
    matches: (f) =>
      f.kind === "value" &&
      (f.op === "max" || f.op === "min") &&
      f.dtype === "int32" &&
      /: got 0,/.test(f.detail),
  },
  {
    issue: "9.4",
    what: "maximum/minimum with a NaN operand give gradient 0 to both sides",
    matches: (f) => f.kind === "zero-grad" && (f.op === "maximum" || f.op === "minimum"),
  },
  {
    issue: "9.5",
    what: "creation and cast wrap or truncate into int32 silently (1.5 -> 1, 3e9 -> -1294967296, NaN -> 0)",
    matches: (f) =>
      (f.kind === "no-error" && f.op === "cast" && /does not fit int32/.test(f.detail)) ||
      (f.kind === "no-error" &&
        (f.op === "tensor" || f.op === "full" || f.op === "arange") &&
        f.dtype === "int32"),
  },
  {
    issue: "9.7",
    what: "gelu overflows at the extremes of its dtype (x·(1 + erf) is formed before the ½)",
    matches: (f) => f.kind === "value" && f.op === "gelu" && /: got -?Infinity,/.test(f.detail),
  },
  {
    issue: "9.8",
    what: "scatterAdd does not validate size (raw RangeError for -1, a shape [2.5, 0] for 2.5, `Tensor:` for NaN)",
    matches: (f) =>
      f.op === "scatterAdd" &&
      (f.kind === "no-error" ||
        f.kind === "wrong-name" ||
        (f.kind === "raw-error" && isRangeError(f.error))) &&
      /^size /.test(f.detail),
  },
  {
    issue: "9.9",
    what: "new Tensor(data, shape) accepts negative or fractional dims (and a missing shape is a raw TypeError)",
    matches: (f) => (f.kind === "no-error" || f.kind === "raw-error") && f.op === "Tensor",
  },
  {
    issue: "9.10",
    what: "an allocation that cannot succeed is a raw RangeError",
    matches: (f) =>
      f.kind === "raw-error" &&
      isRangeError(f.error) &&
      /allocat|Invalid typed array length|Array buffer allocation/i.test(String((f.error as Error).message)),
  },
  {
    issue: "9.12",
    what: "composite ops report the inner op's name (int32 clamp(-0.5, 1) says `less:`)",
    matches: (f) => f.kind === "wrong-name" && COMPOSITES.has(f.op),
  },
];

export function knownIssue(f: Finding): KnownIssue | undefined {
  return KNOWN_ISSUES.find((k) => k.matches(f));
}

export function describeFinding(f: Finding): string {
  const err = f.error instanceof Error ? ` [${f.error.name}: ${f.error.message}]` : "";
  return `${f.kind} in ${f.op}${f.dtype ? ` (${f.dtype})` : ""}: ${f.text}: ${f.detail}${err}`;
}
