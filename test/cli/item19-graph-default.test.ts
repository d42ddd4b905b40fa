import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runInProcess } from "./run-cli.js";

// Issue 9, item 19: `pnpm tapegrad graph` draws the README's pictured 784-30-10 network.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tapegrad-item19-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("item 19: the default graph", () => {
  it("item 19: graph with no flags draws the README's 784-30-10 network, as in docs/img/article-graph.mmd", async () => {
    const r = await runInProcess(["graph", "--out", dir, "--level", "article", "--no-graphviz"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^recorded \d+ tape nodes for \[784, 30, 10\] sigmoid \+ l2$/m);
    const drawn = await readFile(join(dir, "graph.mmd"), "utf8");
    const pictured = await readFile(join(ROOT, "docs", "img", "article-graph.mmd"), "utf8");
    expect(drawn).toBe(pictured);
  });

  it("item 19: the README and docs/cli.md name the same defaults", async () => {
    const help = await runInProcess(["graph", "--help"]);
    expect(help.stdout).toContain("784,30,10");
    const docs = await readFile(join(ROOT, "docs", "cli.md"), "utf8");
    const section = docs.slice(docs.indexOf("## `tapegrad graph`"), docs.indexOf("## `tapegrad eval`"));
    expect(section).toContain("| `--sizes LIST` | `784,30,10` |");
    expect(section).toContain("| `--batch-size N` | `10` |");
  });
});
