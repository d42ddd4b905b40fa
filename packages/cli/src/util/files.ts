import { open, readFile } from "node:fs/promises";

/**
 * Node leaves the path out of some system errors (EISDIR from a read names no file): put it back, so the
 * one-line message says which file the user gave.
 */
function withPath(error: unknown, path: string): unknown {
  const e = error as { code?: string; path?: string };
  if (e && typeof e === "object" && e.code && !e.path) e.path = path;
  return error;
}

/** readFile whose errors always name the file. */
export async function readNamedFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw withPath(error, path);
  }
}

/** The first `length` bytes of a file (fewer when it is shorter), without reading the rest. */
export async function readFileStart(path: string, length: number): Promise<Buffer> {
  try {
    const handle = await open(path, "r");
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw withPath(error, path);
  }
}
