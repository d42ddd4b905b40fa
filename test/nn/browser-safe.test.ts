import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../../packages/nn/src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

describe("@tapegrad/nn loads without Node built-ins", () => {
  it("no source file imports a node: module at run time (type-only imports are erased)", () => {
    const offenders: string[] = [];
    for (const file of sources(root)) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"(node:[^"]+)"/gm)) {
        if (!m[1]) offenders.push(`${relative(root, file)}: ${m[2]}`);
      }
      if (/\brequire\(\s*"node:/.test(text) || /import\(\s*"node:/.test(text))
        offenders.push(relative(root, file));
    }
    expect(offenders).toEqual([]);
  });

  it("Node built-ins are reached lazily in one place, used only by the data readers, io.ts and atomic.ts", () => {
    const users = sources(root)
      .filter((f) => readFileSync(f, "utf8").includes("getBuiltinModule"))
      .map((f) => relative(root, f))
      .sort();
    expect(users).toEqual(["node-builtin.ts"]);
    const callers = sources(root)
      .filter((f) => /from "\.\.?\/node-builtin\.js"/.test(readFileSync(f, "utf8")))
      .map((f) => relative(root, f))
      .sort();
    expect(callers).toEqual(["atomic.ts", "data/csv.ts", "data/idx.ts", "io.ts"]);
  });
});
