import type * as Fs from "node:fs";
import type * as Path from "node:path";
import { DTypeError, ShapeError, type TapegradError, Tensor, ValueError } from "@tapegrad/autograd";
import { writeFileAtomic } from "./atomic.js";
import type { AnyModule } from "./module.js";
import { nodeBuiltin } from "./node-builtin.js";
import { isTorchLayout, torchEntries } from "./torch-layout.js";
import { nameMap, sizeOf } from "./util.js";

/**
 * safetensors model files: an 8-byte little-endian header length N, N bytes of JSON (padded with spaces to
 * a multiple of 8), then the raw little-endian tensors, back to back. The JSON maps each tensor name to
 * { dtype, shape, data_offsets: [begin, end] } (offsets into the data section) plus "__metadata__", a map
 * of strings. tapegrad writes format "tapegrad", the architecture as a JSON string and layout "W[in,out]".
 */

const DTYPES = {
  F32: { dtype: "float32", bytes: 4 },
  F64: { dtype: "float64", bytes: 8 },
  I32: { dtype: "int32", bytes: 4 },
  // read only, into int32 (PyTorch's BatchNorm num_batches_tracked is int64)
  I64: { dtype: "int32", bytes: 8 },
} as const;
type SafeDType = keyof typeof DTYPES;
const CODES: Record<string, SafeDType> = { float32: "F32", float64: "F64", int32: "I32" };
const MAX_HEADER = 100_000_000;
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface Safetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

function nodeFs(who: string): { fs: typeof Fs; path: typeof Path } {
  const instead = "use encodeSafetensors/decodeSafetensors on bytes";
  return {
    fs: nodeBuiltin<typeof Fs>("node:fs", who, instead),
    path: nodeBuiltin<typeof Path>("node:path", who, instead),
  };
}

/** Little-endian bytes of a typed array (a copy). */
function toLittleEndian(data: Float32Array | Float64Array | Int32Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  if (!littleEndianHost) {
    const w = data.BYTES_PER_ELEMENT;
    for (let i = 0; i < bytes.length; i += w) bytes.subarray(i, i + w).reverse();
  }
  return bytes;
}

/** Serialises tensors and string metadata to safetensors bytes, in the order given. */
export function encodeSafetensors(
  tensors: Array<[string, Tensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  // no prototype: a tensor named "__proto__" or "constructor" is an ordinary key
  const header = nameMap<unknown>();
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const [name, t] of tensors) {
    if (name === "__metadata__")
      throw new ValueError(`encodeSafetensors: "__metadata__" cannot name a tensor`);
    if (seen.has(name)) throw new ValueError(`encodeSafetensors: tensor name "${name}" appears twice`);
    seen.add(name);
    const bytes = toLittleEndian(t.data);
    header[name] = {
      dtype: CODES[t.dtype],
      shape: [...t.shape],
      data_offsets: [offset, offset + bytes.length],
    };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded !== json.length) {
    const withSpaces = new Uint8Array(padded).fill(0x20);
    withSpaces.set(json);
    json = withSpaces;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * What a file looks like from its first bytes, when those failed as a header length: JSON, PNG or text (all
 * printable), or null when nothing is recognised and the file may be a damaged safetensors file.
 */
function foreignFormat(bytes: Uint8Array): string | null {
  const head = bytes.subarray(0, 8);
  if (head.length === 0) return null;
  const b0 = head[0];
  if (b0 === 0x7b || b0 === 0x5b) return `JSON (its first byte is "${String.fromCharCode(b0)}")`;
  if (head.length >= 4 && head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47)
    return "a PNG image";
  // a header length below MAX_HEADER (< 2^27) has zero bytes 4-7; text has none
  const printable = (c: number): boolean => (c >= 0x20 && c < 0x7f) || c === 0x09 || c === 0x0a || c === 0x0d;
  if (head.length === 8 && head.every(printable)) {
    const shown = Array.from(head, (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : " ")).join("");
    return `text ("${shown}...")`;
  }
  if (head.length < 8 && head.length > 0 && head.every(printable)) return "text";
  return null;
}

function int64ToInt32(v: BigInt64Array, name: string, fail: (msg: string) => never): Int32Array {
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    if (v[i] > 2147483647n || v[i] < -2147483648n)
      fail(`tensor "${name}": int64 value ${v[i]} at ${i} does not fit tapegrad's int32`);
    out[i] = Number(v[i]);
  }
  return out;
}

const isNonNegInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Parses and fully validates safetensors bytes; `source` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = "buffer"): Safetensors {
  const fail = (msg: string, Err: typeof ValueError = ValueError): never => {
    throw new Err(`safetensors ${source}: ${msg}`);
  };
  // Only a file whose first 8 bytes cannot be a header length is called foreign: a valid length may well
  // start with the byte of "{".
  const notSafetensors = (): string | null => {
    const like = foreignFormat(bytes);
    return like === null
      ? null
      : `not a safetensors file: it starts like ${like}, not with an 8-byte little-endian header length`;
  };
  if (bytes.length < 8)
    fail(
      notSafetensors() ??
        `truncated: ${bytes.length} bytes, the file must start with an 8-byte header length`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER))
    fail(
      notSafetensors() ?? `not a safetensors file: bad header length ${n64} (more than ${MAX_HEADER} bytes)`,
    );
  const n = Number(n64);
  if (8 + n > bytes.length) {
    fail(
      notSafetensors() ??
        `truncated or bad header length: header of ${n} bytes, but only ${bytes.length - 8} bytes follow`,
    );
  }
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header))
    fail(
      `header is not a JSON object (it is ${Array.isArray(header) ? "an array" : JSON.stringify(header)})`,
    );
  const entries = Object.entries(header as Record<string, unknown>);
  // JSON.parse makes "__proto__" an own key; these objects keep it one (and have no "constructor")
  const metadata = nameMap<string>();
  const specs: Array<{ name: string; code: SafeDType; shape: number[]; begin: number; end: number }> = [];
  for (const [name, value] of entries) {
    if (name === "__metadata__") {
      if (value === null || typeof value !== "object" || Array.isArray(value))
        fail("__metadata__ is not an object");
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (e === null || typeof e !== "object") fail(`entry "${name}" is not an object`);
    const e2 = e as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e2.dtype !== "string") fail(`tensor "${name}" has no dtype`);
    if (!Object.hasOwn(DTYPES, e2.dtype as string)) {
      fail(
        `tensor "${name}" has unsupported dtype ${String(e2.dtype)} (tapegrad reads F32, F64, I32, I64)`,
        DTypeError,
      );
    }
    if (!Array.isArray(e2.shape) || !e2.shape.every(isNonNegInt)) fail(`tensor "${name}" has a bad shape`);
    const offs = e2.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isNonNegInt) || offs[0] > offs[1]) {
      fail(`tensor "${name}" has bad data_offsets ${JSON.stringify(offs)}`);
    }
    const code = e2.dtype as SafeDType;
    const shape = e2.shape as number[];
    const [begin, end] = offs as [number, number];
    const want = sizeOf(shape) * DTYPES[code].bytes;
    if (end - begin !== want) {
      fail(
        `tensor "${name}": data_offsets [${begin}, ${end}] hold ${end - begin} bytes, shape [${shape.join(", ")}] of ${code} needs ${want}`,
      );
    }
    specs.push({ name, code, shape, begin, end });
  }
  // The data section must be covered exactly, without gaps or overlaps.
  const dataLength = bytes.length - 8 - n;
  const sorted = [...specs].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const s of sorted) {
    if (s.begin !== covered)
      fail(`tensor "${s.name}" starts at byte ${s.begin}, expected ${covered} (gap or overlap)`);
    covered = s.end;
  }
  if (covered > dataLength)
    fail(`truncated: the header describes ${covered} data bytes, the file has ${dataLength}`);
  if (covered < dataLength)
    fail(`${dataLength - covered} bytes after the last tensor are not described by the header`);

  const base = 8 + n;
  const tensors = nameMap<Tensor>();
  for (const s of specs) {
    // a fresh, aligned copy (Buffer#slice would return a view into the file's buffer)
    const raw = new Uint8Array(s.end - s.begin);
    raw.set(bytes.subarray(base + s.begin, base + s.end));
    if (!littleEndianHost) {
      const w = DTYPES[s.code].bytes;
      for (let i = 0; i < raw.length; i += w) raw.subarray(i, i + w).reverse();
    }
    const data =
      s.code === "F32"
        ? new Float32Array(raw.buffer)
        : s.code === "F64"
          ? new Float64Array(raw.buffer)
          : s.code === "I64"
            ? int64ToInt32(new BigInt64Array(raw.buffer), s.name, fail)
            : new Int32Array(raw.buffer);
    tensors[s.name] = new Tensor(data, s.shape);
  }
  return { tensors, metadata };
}

export interface SaveOptions {
  /**
   * "tapegrad" (default): the names and layouts the modules hold (Linear and NN keep W as [in, out]).
   * "torch": what torch.nn.Module.load_state_dict accepts for the equivalent PyTorch module (see
   * torch-layout.ts: Linear's weight transposed to [out, in], biases 1-D, NN as nn.Sequential).
   */
  layout?: "tapegrad" | "torch";
  /** Extra string entries of the file's metadata. */
  metadata?: Record<string, string>;
}

function isSaveOptions(o: SaveOptions | Record<string, string>): o is SaveOptions {
  return Object.hasOwn(o, "layout") || Object.hasOwn(o, "metadata");
}

/**
 * Saves every parameter and buffer of `module` to a safetensors file, atomically. The third argument is
 * SaveOptions, or (as before) a metadata object of strings. The metadata always holds format
 * "tapegrad", the architecture, and the layout the file really has: "torch" when every tensor is as
 * PyTorch stores it (a torch-layout file, or a module without Linear/NN), else "W[in,out]".
 */
export async function saveModel(
  path: string,
  module: AnyModule,
  opts: SaveOptions | Record<string, string> = {},
): Promise<void> {
  const { layout = "tapegrad", metadata = {} } = isSaveOptions(opts) ? opts : { metadata: opts };
  if (layout !== "tapegrad" && layout !== "torch")
    throw new ValueError(`saveModel: layout must be "tapegrad" or "torch", got ${String(layout)}`);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string")
      throw new ValueError(`saveModel: metadata.${k} must be a string, got ${typeof v}`);
  }
  const torch = layout === "torch";
  const tensors: Array<[string, Tensor]> = torch
    ? torchEntries(module).map((e) => [e.torchName, e.toTorch(stateOf(module, e.name))])
    : module.namedState();
  const meta = {
    ...metadata,
    format: "tapegrad",
    architecture: JSON.stringify(module.architecture()),
    layout: torch || isTorchLayout(module) ? "torch" : "W[in,out]",
  };
  await writeFileAtomic(path, encodeSafetensors(tensors, meta), { who: "saveModel" });
}

function stateOf(module: AnyModule, name: string): Tensor {
  const found = module.namedState().find(([n]) => n === name);
  if (found === undefined) throw new ValueError(`saveModel: no tensor "${name}"`);
  return found[1];
}

/** Reads and validates a safetensors file. */
export async function readSafetensors(path: string): Promise<Safetensors> {
  const { fs } = nodeFs("readSafetensors");
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "EISDIR"
        ? "it is a directory, not a safetensors file"
        : code === "ENOENT"
          ? "no such file"
          : (e as Error).message;
    throw new ValueError(`readSafetensors: cannot read ${path}: ${why}`);
  }
  return decodeSafetensors(bytes, path);
}

export interface LoadOptions {
  /** "torch": the file holds a PyTorch state_dict (see SaveOptions.layout). Default "tapegrad". */
  layout?: "tapegrad" | "torch";
}

/**
 * Loads a safetensors file into an existing module: the file, its names, shapes and dtypes are all checked
 * before any parameter changes, so a failed load leaves the module as it was. Returns the file's metadata.
 * With `{ layout: "torch" }` the file is a PyTorch state_dict: names and layouts are mapped back, float
 * tensors are converted to the parameter's dtype and integer ones (int64 num_batches_tracked) to int32,
 * as load_state_dict's copy does.
 */
export async function loadModel(
  path: string,
  module: AnyModule,
  opts: LoadOptions = {},
): Promise<Record<string, string>> {
  const { tensors, metadata } = await readSafetensors(path);
  try {
    module.loadStateDict(opts.layout === "torch" ? fromTorchState(module, tensors) : tensors);
  } catch (e) {
    if (e instanceof ShapeError || e instanceof DTypeError || e instanceof ValueError) {
      const Err = e.constructor as new (msg: string) => TapegradError;
      throw new Err(`loadModel ${path}: ${e.message}`);
    }
    throw e;
  }
  return metadata;
}

/** A PyTorch state_dict (by torch names and layouts) as this module's state dict; names checked first. */
function fromTorchState(module: AnyModule, file: Record<string, Tensor>): Record<string, Tensor> {
  const entries = torchEntries(module);
  const want = new Set(entries.map((e) => e.torchName));
  const missing = entries.filter((e) => !Object.hasOwn(file, e.torchName)).map((e) => e.torchName);
  const extra = Object.keys(file).filter((n) => !want.has(n));
  if (missing.length > 0 || extra.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing ${missing.join(", ")}`);
    if (extra.length > 0) parts.push(`unexpected ${extra.join(", ")}`);
    throw new ValueError(`the PyTorch state_dict does not match the module: ${parts.join("; ")}`);
  }
  const state = new Map(module.namedState());
  const sd = nameMap<Tensor>();
  for (const e of entries) {
    const t = file[e.torchName];
    const own = state.get(e.name)!;
    if (t.ndim !== e.torchShape.length || t.shape.some((d, k) => d !== e.torchShape[k]))
      throw new ShapeError(
        `"${e.torchName}" has shape [${t.shape.join(", ")}], PyTorch's layout of this module needs [${e.torchShape.join(", ")}]`,
      );
    if ((t.dtype === "int32") !== (own.dtype === "int32"))
      throw new DTypeError(`"${e.torchName}" is ${t.dtype}, the module's tensor is ${own.dtype}`);
    sd[e.name] = e.fromTorch(t.dtype === own.dtype ? t : t.cast(own.dtype));
  }
  return sd;
}
