import { readFile } from "node:fs/promises";

/** The JSON header of a safetensors file (8-byte little-endian length, then UTF-8 JSON). */
export async function safetensorsHeader(path: string): Promise<Record<string, unknown>> {
  const bytes = await readFile(path);
  const length = Number(bytes.readBigUInt64LE(0));
  expectTrue(8 + length <= bytes.length, `${path}: header length ${length} exceeds the file`);
  return JSON.parse(bytes.subarray(8, 8 + length).toString("utf8")) as Record<string, unknown>;
}

function expectTrue(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

/**
 * A small well-formedness check for the XML the tools write: every tag closes in order, attributes are
 * quoted, and there is exactly one root element. Returns the root element's name.
 */
export function xmlRoot(text: string): string {
  const body = text
    .replace(/<\?xml[^>]*\?>/g, "")
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/<!DOCTYPE[^>[]*(\[[\s\S]*?\])?>/g, "");
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<|>/g;
  const stack: string[] = [];
  let root = "";
  let roots = 0;
  for (const m of body.matchAll(tag)) {
    if (m[0] === "<")
      throw new Error(`malformed tag near ${JSON.stringify(body.slice(m.index, m.index + 60))}`);
    if (m[0] === ">") continue; // a bare '>' in text is legal XML
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? "nothing"}>`);
    } else {
      if (stack.length === 0) {
        roots++;
        root = name;
      }
      if (!selfClosing) stack.push(name);
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack.join("> <")}>`);
  if (roots !== 1) throw new Error(`${roots} root elements, expected 1`);
  return root;
}
