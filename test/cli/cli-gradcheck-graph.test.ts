import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { layoutDot } from "../../packages/cli/src/commands/graph.js";
import { xmlRoot } from "./check-formats.js";
import { runCli, runInProcess } from "./run-cli.js";

/** The data rows of gradcheck's table: param, shape, |tape-delta|, rel, |tape-fd|, rel, probes, check. */
function tableRows(stdout: string): string[][] {
  return stdout
    .split("\n")
    .filter((l) => /^[Wb]_\d+ /.test(l))
    .map((l) => l.trim().split(/\s{2,}/));
}

describe("tapegrad gradcheck", () => {
  it("checks the article's network on real digits: tape, deltas and finite differences agree", async () => {
    const r = await runCli(["gradcheck", "--batch-size", "4", "--samples", "8"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      "[784, 30, 10] sigmoid, quadratic loss, init normal, float64, one batch of 4 MNIST digits",
    );
    const rows = tableRows(r.stdout);
    expect(rows.map((row) => row.slice(0, 2))).toEqual([
      ["W_1", "[784, 30]"],
      ["b_1", "[1, 30]"],
      ["W_2", "[30, 10]"],
      ["b_2", "[1, 10]"],
    ]);
    for (const row of rows) {
      expect(Number(row[3])).toBeLessThan(1e-10); // tape vs hand-derived deltas
      expect(Number(row[5])).toBeLessThan(1e-6); // tape vs central differences
      expect(row[7]).toBe("ok");
    }
    expect(r.stdout).toMatch(/^agree: /m);
  });

  it("checks any --sizes, activation and loss, every element with --samples 0", async () => {
    const r = await runInProcess([
      "gradcheck",
      "--sizes",
      "6,5,4,3",
      "--activation",
      "tanh",
      "--loss",
      "softmaxCrossEntropy",
      "--samples",
      "0",
    ]);
    expect(r.code).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      expect(row[6]).toBe("all");
      expect(row[7]).toBe("ok");
    }
  });

  it("fails with exit code 1 when the tolerance cannot be met", async () => {
    const r = await runInProcess(["gradcheck", "--sizes", "4,3,2", "--tolerance", "1e-30", "--samples", "0"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^DISAGREE: /m);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("tapegrad graph", () => {
  let dir: string;
  let stdout: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tapegrad-cli-graph-"));
    const r = await runCli(["graph", "--out", dir]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    stdout = r.stdout;
  }, 120_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("names every file it wrote", () => {
    for (const f of [
      "graph.svg",
      "graph.dot",
      "graph.mmd",
      "graph-full.svg",
      "graph-full.dot",
      "graph-full.mmd",
    ]) {
      expect(stdout).toContain(join(dir, f));
    }
  });

  it("draws the article's level as f_0 ... f_5 with W_1, b_1, W_2, b_2 and Y as side inputs", async () => {
    const dot = await readFile(join(dir, "graph.dot"), "utf8");
    expect(dot).toMatch(/^digraph /);
    expect(dot).toContain("rankdir=LR");
    for (let i = 0; i <= 5; i++) expect(dot).toContain(`f_${i}`);
    expect(dot).not.toContain("f_6");
    for (const name of [
      "W_1",
      "b_1",
      "W_2",
      "b_2",
      "Y",
      "W_1·f_0 + b_1",
      "W_2·f_2 + b_2",
      "sigmoid",
      "loss",
    ]) {
      expect(dot).toContain(name);
    }
    // Graphviz accepts the DOT (and rejects broken DOT, so this check can fail).
    expect(xmlRoot(await layoutDot(dot))).toBe("svg");
    await expect(layoutDot("digraph { a -> }")).rejects.toThrow();
  });

  it("draws every primitive in the full picture", async () => {
    const dot = await readFile(join(dir, "graph-full.dot"), "utf8");
    for (const op of ["matmul", "add", "sigmoid", "sub", "square", "sum"]) expect(dot).toContain(op);
    expect(dot).toContain("f_9");
    expect(dot).toContain("subgraph");
  });

  it("writes SVG pictures with one svg root and Mermaid flowcharts left to right", async () => {
    for (const f of ["graph.svg", "graph-full.svg"]) {
      const svg = await readFile(join(dir, f), "utf8");
      expect(xmlRoot(svg)).toBe("svg");
      expect(svg).toContain("f_5");
    }
    for (const f of ["graph.mmd", "graph-full.mmd"]) {
      const mmd = await readFile(join(dir, f), "utf8");
      expect(mmd).toMatch(/^flowchart LR$/m);
      expect(mmd).toMatch(/-->/);
      expect(mmd).toContain("f_5");
    }
  });

  it("--no-graphviz uses autograd's own SVG; --sizes draws a deeper network", async () => {
    const out = join(dir, "own");
    const r = await runInProcess([
      "graph",
      "--no-graphviz",
      "--sizes",
      "4,8,8,2",
      "--level",
      "article",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    const svg = await readFile(join(out, "graph.svg"), "utf8");
    expect(xmlRoot(svg)).toBe("svg");
    expect(svg).not.toContain("Generated by graphviz");
    const dot = await readFile(join(out, "graph.dot"), "utf8");
    expect(dot).toContain("f_7"); // three layers: f_1 ... f_6, then the loss
    await expect(readFile(join(out, "graph-full.dot"), "utf8")).rejects.toThrow(/ENOENT/);
  });
});
