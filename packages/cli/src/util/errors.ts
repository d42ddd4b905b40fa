import { ValueError } from "@tapegrad/autograd";

/** A mistake in how the command was called (a flag value, a missing option): shown as one line, exit code 2. */
export class UsageError extends ValueError {}

/** A check the command ran did not pass; its details are already printed. Exit code 1. */
export class CheckFailed extends Error {}

/** Training stopped by Ctrl-C: the message says what was kept. Exit code 130 (128 + SIGINT), as shells do. */
export class Interrupted extends Error {}

/** Exit codes: 1 for failures while running, 2 for usage mistakes (as commander and most Unix tools do). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

interface NodeSystemError extends Error {
  code?: string;
  path?: string;
  syscall?: string;
}

const SYSTEM_MESSAGES: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EISDIR: "is a directory, expected a file",
  ENOTDIR: "not a directory",
  EEXIST: "already exists",
  ENOSPC: "no space left on the device",
  EROFS: "read-only file system",
};

/** One line for any error: its message without the stack, with file-system errors said plainly. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const system = error as NodeSystemError;
    if (system.code && system.path && SYSTEM_MESSAGES[system.code]) {
      return `${system.path}: ${SYSTEM_MESSAGES[system.code]}`;
    }
    const message = error.message.trim().split("\n")[0] || error.name;
    return message;
  }
  return String(error);
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof Interrupted) return EXIT_INTERRUPTED;
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}
