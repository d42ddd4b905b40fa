// Small structural readers used by the picture tests: a DOT statement reader and an XML well-formedness check.
// Written character by character (no regular expressions) so they can reject what a regex would let through.

export interface DotGraph {
  /** Declared node ids with their decoded label text. */
  labels: Map<string, string>;
  edges: [string, string][];
  /** Cluster subgraph ids with the node ids declared directly inside them. */
  clusters: Map<string, string[]>;
  clusterLabels: Map<string, string>;
}

type Token = { kind: "id" | "string" | "symbol"; text: string };

function dotTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const isIdChar = (c: string): boolean =>
    (c >= "a" && c <= "z") ||
    (c >= "A" && c <= "Z") ||
    (c >= "0" && c <= "9") ||
    c === "_" ||
    c === "." ||
    c === "#";
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\n" || c === "\t" || c === "\r") {
      i++;
    } else if (c === '"') {
      let body = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new Error("DOT: unterminated string");
        const d = text[i];
        if (d === "\n") throw new Error("DOT: raw newline inside a string");
        if (d === "\\") {
          body += d + text[i + 1];
          i += 2;
          continue;
        }
        i++;
        if (d === '"') break;
        body += d;
      }
      tokens.push({ kind: "string", text: body });
    } else if (c === "-" && text[i + 1] === ">") {
      tokens.push({ kind: "symbol", text: "->" });
      i += 2;
    } else if ("{}[];,=".includes(c)) {
      tokens.push({ kind: "symbol", text: c });
      i++;
    } else if (isIdChar(c)) {
      let id = "";
      while (i < text.length && isIdChar(text[i])) id += text[i++];
      tokens.push({ kind: "id", text: id });
    } else {
      throw new Error(`DOT: unexpected character ${JSON.stringify(c)} at ${i}`);
    }
  }
  return tokens;
}

/** Decodes a DOT label string body the way Graphviz shows it (\n as a line break, &amp; as &). */
export function decodeDotLabel(body: string): string {
  let out = "";
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "\\") {
      const next = body[++i];
      out += next === "n" ? "\n" : next;
    } else {
      out += body[i];
    }
  }
  return out
    .split("&quot;")
    .join('"')
    .split("&lt;")
    .join("<")
    .split("&gt;")
    .join(">")
    .split("&amp;")
    .join("&");
}

/** Reads the subset of DOT our writer produces and checks that it is structurally sound. */
export function readDot(text: string): DotGraph {
  const tokens = dotTokens(text);
  let p = 0;
  const expect = (t: string): void => {
    if (tokens[p]?.text !== t) throw new Error(`DOT: expected ${t}, got ${tokens[p]?.text} at token ${p}`);
    p++;
  };
  const attrs = (): Map<string, string> => {
    const map = new Map<string, string>();
    expect("[");
    while (tokens[p]?.text !== "]") {
      const key = tokens[p++];
      expect("=");
      const value = tokens[p++];
      if (key?.kind !== "id" || value === undefined || value.kind === "symbol")
        throw new Error("DOT: bad attribute");
      map.set(key.text, value.text);
      if (tokens[p]?.text === ",") p++;
    }
    expect("]");
    return map;
  };
  const graph: DotGraph = { labels: new Map(), edges: [], clusters: new Map(), clusterLabels: new Map() };
  expect("digraph");
  if (tokens[p]?.kind === "id") p++;
  expect("{");
  const open: string[] = ["root"];
  while (open.length > 0) {
    const t = tokens[p];
    if (t === undefined) throw new Error("DOT: unbalanced braces (missing })");
    if (t.text === "}") {
      open.pop();
      p++;
      continue;
    }
    if (t.text === "subgraph") {
      const id = tokens[p + 1];
      if (id?.kind !== "id") throw new Error("DOT: subgraph without id");
      p += 2;
      expect("{");
      graph.clusters.set(id.text, []);
      open.push(id.text);
      continue;
    }
    if (t.kind !== "id") throw new Error(`DOT: unexpected ${t.text} at token ${p}`);
    const next = tokens[p + 1];
    if (t.text === "graph" || t.text === "node" || t.text === "edge") {
      p++;
      attrs();
      expect(";");
    } else if (next?.text === "=") {
      const value = tokens[p + 2];
      if (value === undefined || value.kind === "symbol") throw new Error("DOT: bad graph attribute");
      if (t.text === "label") graph.clusterLabels.set(open[open.length - 1], decodeDotLabel(value.text));
      p += 3;
      expect(";");
    } else if (next?.text === "->") {
      const to = tokens[p + 2];
      if (to?.kind !== "id") throw new Error("DOT: bad edge");
      graph.edges.push([t.text, to.text]);
      p += 3;
      expect(";");
    } else {
      p++;
      const a = attrs();
      expect(";");
      if (graph.labels.has(t.text)) throw new Error(`DOT: node ${t.text} declared twice`);
      graph.labels.set(t.text, decodeDotLabel(a.get("label") ?? t.text));
      const inside = open[open.length - 1];
      if (inside !== "root") graph.clusters.get(inside)!.push(t.text);
    }
  }
  if (p !== tokens.length) throw new Error("DOT: text after the closing brace");
  for (const [from, to] of graph.edges) {
    if (!graph.labels.has(from) || !graph.labels.has(to))
      throw new Error(`DOT: edge ${from} -> ${to} to an undeclared node`);
  }
  return graph;
}

export interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlElement[];
  /** Decoded text directly inside this element. */
  text: string;
}

const XML_NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeEntities(raw: string, where: string): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === "<") throw new Error(`XML: raw < in ${where}`);
    if (c !== "&") {
      out += c;
      continue;
    }
    const end = raw.indexOf(";", i);
    if (end < 0) throw new Error(`XML: unterminated entity in ${where}`);
    const name = raw.slice(i + 1, end);
    if (name.startsWith("#x")) out += String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    else if (name.startsWith("#")) out += String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    else if (name in XML_NAMED) out += XML_NAMED[name];
    else throw new Error(`XML: unknown entity &${name}; in ${where}`);
    i = end;
  }
  return out;
}

/** Parses an XML document strictly enough to reject unbalanced tags, bad attributes and stray markup. */
export function readXml(text: string): XmlElement {
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && " \n\r\t".includes(text[i])) i++;
  };
  const isNameChar = (c: string | undefined): boolean =>
    c !== undefined &&
    ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || "-_:.".includes(c));
  const readName = (): string => {
    const start = i;
    while (isNameChar(text[i])) i++;
    if (i === start) throw new Error(`XML: expected a name at ${i}`);
    return text.slice(start, i);
  };
  if (text.startsWith("<?xml")) {
    const end = text.indexOf("?>");
    if (end < 0) throw new Error("XML: unterminated declaration");
    i = end + 2;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < text.length) {
    if (text[i] !== "<") {
      const next = text.indexOf("<", i);
      const raw = text.slice(i, next < 0 ? text.length : next);
      const decoded = decodeEntities(raw, "text");
      if (stack.length === 0) {
        let blank = true;
        for (const c of raw) if (!" \n\r\t".includes(c)) blank = false;
        if (!blank) throw new Error("XML: text outside the root element");
      } else {
        stack[stack.length - 1].text += decoded;
      }
      i = next < 0 ? text.length : next;
      continue;
    }
    if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i);
      if (end < 0) throw new Error("XML: unterminated comment");
      i = end + 3;
      continue;
    }
    if (text[i + 1] === "/") {
      i += 2;
      const name = readName();
      skipSpace();
      if (text[i] !== ">") throw new Error(`XML: bad end tag </${name}`);
      i++;
      const top = stack.pop();
      if (top?.name !== name) throw new Error(`XML: </${name}> closes <${top?.name}>`);
      continue;
    }
    i++;
    const element: XmlElement = { name: readName(), attrs: new Map(), children: [], text: "" };
    for (;;) {
      const before = i;
      skipSpace();
      if (text[i] === "/" && text[i + 1] === ">") {
        i += 2;
        break;
      }
      if (text[i] === ">") {
        i++;
        stack.push(element);
        break;
      }
      if (i === before) throw new Error(`XML: attributes of <${element.name}> must be separated by spaces`);
      const attr = readName();
      if (text[i] !== "=" || text[i + 1] !== '"') throw new Error(`XML: attribute ${attr} needs ="value"`);
      const end = text.indexOf('"', i + 2);
      if (end < 0) throw new Error(`XML: unterminated attribute ${attr}`);
      if (element.attrs.has(attr)) throw new Error(`XML: duplicate attribute ${attr}`);
      element.attrs.set(attr, decodeEntities(text.slice(i + 2, end), `attribute ${attr}`));
      i = end + 1;
    }
    const parent = stack[stack.length - (stack[stack.length - 1] === element ? 2 : 1)];
    if (parent !== undefined) parent.children.push(element);
    else if (root !== undefined) throw new Error("XML: more than one root element");
    else root = element;
  }
  if (stack.length > 0) throw new Error(`XML: <${stack[stack.length - 1].name}> is never closed`);
  if (root === undefined) throw new Error("XML: no root element");
  return root;
}

/** Every element below (and including) e, depth first. */
export function descendants(e: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const stack = [e];
  while (stack.length > 0) {
    const x = stack.pop()!;
    out.push(x);
    for (let k = x.children.length - 1; k >= 0; k--) stack.push(x.children[k]);
  }
  return out;
}
