// Label escaping for each output format. Labels are plain text (tensor names may hold anything).

/**
 * A double-quoted DOT string body: backslash and quote escaped, lines joined with DOT's centred break.
 * Graphviz also decodes HTML entities (&amp;, &#35;) inside ordinary labels, so '&' is written as &amp;.
 */
export function dotString(lines: readonly string[]): string {
  return lines
    .map((line) =>
      line
        .replace(/&/g, "&amp;")
        .replace(/\\/g, "\\\\")
        .replace(/"/g, '\\"')
        .replace(/\r?\n|\r/g, "\\n"),
    )
    .join("\\n");
}

const MERMAID_ENTITIES: Record<string, string> = {
  '"': "#quot;",
  "#": "#35;",
  "&": "#amp;",
  "<": "#lt;",
  ">": "#gt;",
  "`": "#96;",
};

/**
 * A Mermaid quoted label body. Mermaid decodes #name; / #number; entity codes itself, so '#' must be encoded
 * too; a leading backtick would switch to a markdown string, so it is encoded as well.
 */
export function mermaidString(lines: readonly string[]): string {
  return lines
    .map((line) => line.replace(/["#&<>`]/g, (c) => MERMAID_ENTITIES[c]).replace(/\r?\n|\r/g, "<br/>"))
    .join("<br/>");
}

const XML_ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

/** Text or attribute content for XML; characters XML 1.0 forbids (controls, lone surrogates) become U+FFFD. */
export function xmlText(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ch = text[i];
    if (ch in XML_ENTITIES) {
      out += XML_ENTITIES[ch];
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += ch + text[i + 1];
        i++;
      } else {
        out += "\uFFFD";
      }
    } else if (
      (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) ||
      (c >= 0xdc00 && c <= 0xdfff) ||
      c >= 0xfffe
    ) {
      out += "\uFFFD";
    } else {
      out += ch;
    }
  }
  return out;
}
