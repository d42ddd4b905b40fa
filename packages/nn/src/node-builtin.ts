import { TapegradError } from "@tapegrad/autograd";

type BuiltinId = "node:fs" | "node:path" | "node:zlib";

/**
 * A Node built-in module, loaded at call time through process.getBuiltinModule (Node >= 20.16), so that
 * no file of @tapegrad/nn imports node:* statically and the package loads in browsers. Only the file
 * readers (data/idx.ts, data/csv.ts), io.ts and the atomic writer (atomic.ts) call this.
 */
export function nodeBuiltin<T>(id: BuiltinId, who: string, instead: string): T {
  const proc = (
    globalThis as { process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }
  ).process;
  const mod = proc?.getBuiltinModule?.(id);
  if (mod) return mod as T;
  const node = proc?.versions?.node;
  const why = node
    ? `Node.js ${node} lacks process.getBuiltinModule (needs 20.16 or newer)`
    : "it needs Node.js";
  throw new TapegradError(`${who}: cannot reach ${id}: ${why}; ${instead}`);
}
