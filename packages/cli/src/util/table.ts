/** A plain text table: columns padded to their widest cell, numbers right-aligned. */
export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  const numeric = header.map((_, c) => rows.every((r) => /^[-+0-9.e%]*$/i.test(r[c] ?? "")));
  const fmt = (r: string[]) =>
    r
      .map((cell, c) => (numeric[c] ? (cell ?? "").padStart(widths[c]) : (cell ?? "").padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [fmt(header), rule, ...rows.map(fmt)].join("\n");
}
