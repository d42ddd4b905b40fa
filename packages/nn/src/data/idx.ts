import type * as Fs from "node:fs";
import type * as Zlib from "node:zlib";
import { Tensor, ValueError } from "@tapegrad/autograd";
import { nodeBuiltin } from "../node-builtin.js";
import { sizeOf } from "../util.js";

export interface IdxOptions {
  /**
   * Result dtype. Default: int32 for the integer types (ubyte, byte, short, int), float32 for float,
   * float64 for double. Integer data can be read as float32/float64 directly (e.g. images).
   */
  dtype?: "int32" | "float32" | "float64";
  /** Multiply every value (float results only), e.g. 1/255 for pixels. */
  scale?: number;
}

const TYPES: Record<number, { name: string; bytes: number; read: (v: DataView, o: number) => number }> = {
  8: { name: "ubyte", bytes: 1, read: (v, o) => v.getUint8(o) },
  9: { name: "byte", bytes: 1, read: (v, o) => v.getInt8(o) },
  11: { name: "short", bytes: 2, read: (v, o) => v.getInt16(o, false) },
  12: { name: "int", bytes: 4, read: (v, o) => v.getInt32(o, false) },
  13: { name: "float", bytes: 4, read: (v, o) => v.getFloat32(o, false) },
  14: { name: "double", bytes: 8, read: (v, o) => v.getFloat64(o, false) },
};

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Reads the bytes of a file, gunzipping when they start with the gzip magic 1f 8b. */
export function readMaybeGzip(source: string | Uint8Array | ArrayBuffer, who: string): Uint8Array {
  let bytes: Uint8Array;
  if (typeof source === "string") {
    const fs = nodeBuiltin<typeof Fs>("node:fs", who, "pass the file's bytes instead");
    try {
      bytes = fs.readFileSync(source);
    } catch (e) {
      throw new ValueError(`${who}: cannot read ${source}: ${(e as Error).message}`);
    }
  } else bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  if (!isGzip(bytes)) return bytes;
  const zlib = nodeBuiltin<typeof Zlib>("node:zlib", who, "pass the gunzipped bytes instead");
  try {
    return zlib.gunzipSync(bytes);
  } catch (e) {
    const where = typeof source === "string" ? source : "buffer";
    throw new ValueError(`${who}: ${where} looks gzipped but does not decompress: ${(e as Error).message}`);
  }
}

/**
 * Reads an IDX file (the MNIST format): two zero bytes, a type byte (0x08 ubyte, 0x09 byte, 0x0B short,
 * 0x0C int, 0x0D float, 0x0E double), the number of dimensions, big-endian uint32 sizes, then big-endian
 * values. Plain or gzipped; a path or the bytes. Magic, sizes and length are checked.
 */
export function readIdx(source: string | Uint8Array | ArrayBuffer, opts: IdxOptions = {}): Tensor {
  const where = typeof source === "string" ? source : "buffer";
  const fail = (msg: string): never => {
    throw new ValueError(`readIdx: ${where}: ${msg}`);
  };
  const bytes = readMaybeGzip(source, "readIdx");
  if (bytes.length < 4) fail(`truncated: ${bytes.length} bytes, an IDX header needs at least 4`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(
      `bad magic number 0x${[...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join("")}: an IDX file starts with two zero bytes`,
    );
  }
  const type = TYPES[bytes[2]];
  if (!type)
    fail(
      `unknown data type byte 0x${bytes[2].toString(16).padStart(2, "0")} (expected 08, 09, 0b, 0c, 0d or 0e)`,
    );
  const ndim = bytes[3];
  if (ndim === 0) fail("0 dimensions");
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes)
    fail(`truncated header: ${ndim} dimensions need ${headerBytes} bytes, the file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = sizeOf(shape);
  const expected = headerBytes + count * type.bytes;
  if (bytes.length < expected) {
    fail(
      `truncated: shape [${shape.join(", ")}] of ${type.name} needs ${expected} bytes, the file has ${bytes.length}`,
    );
  }
  if (bytes.length > expected) {
    fail(
      `${bytes.length - expected} unexpected bytes after the data of shape [${shape.join(", ")}] (${type.name})`,
    );
  }
  const isFloat = type.name === "float" || type.name === "double";
  const dtype = opts.dtype ?? (type.name === "double" ? "float64" : isFloat ? "float32" : "int32");
  if (dtype === "int32" && isFloat) fail(`cannot read ${type.name} data as int32`);
  if (opts.scale !== undefined && dtype === "int32") fail("scale needs a float dtype (float32 or float64)");
  const scale = opts.scale ?? 1;
  const out =
    dtype === "int32"
      ? new Int32Array(count)
      : dtype === "float64"
        ? new Float64Array(count)
        : new Float32Array(count);
  if (type.bytes === 1 && type.name === "ubyte") {
    // the common MNIST case: a direct loop without DataView calls
    for (let i = 0; i < count; i++) out[i] = bytes[headerBytes + i] * scale;
  } else {
    for (let i = 0; i < count; i++) out[i] = type.read(view, headerBytes + i * type.bytes) * scale;
  }
  return new Tensor(out, shape);
}
