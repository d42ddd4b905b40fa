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

export const KNOWN_ISSUES: readonly KnownIssue[] = [];

export function knownIssue(f: Finding): KnownIssue | undefined {
  return KNOWN_ISSUES.find((k) => k.matches(f));
}

export function describeFinding(f: Finding): string {
  const err = f.error instanceof Error ? ` [${f.error.name}: ${f.error.message}]` : "";
  return `${f.kind} in ${f.op}${f.dtype ? ` (${f.dtype})` : ""}: ${f.text}: ${f.detail}${err}`;
}
