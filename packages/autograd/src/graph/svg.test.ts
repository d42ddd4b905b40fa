import { describe, expect, it } from "vitest";
import { graphPicture, type TapeNode, toSvg } from "../graph.js";
import { articleNetworkTape } from "./article-network.fixture.js";
import { xmlText } from "./escape.js";
import { descendants, readXml, type XmlElement } from "./format-checks.fixture.js";

function attr(e: XmlElement, name: string): string {
  const value = e.attrs.get(name);
  if (value === undefined) throw new Error(`<${e.name}> has no ${name}`);
  return value;
}

function rectOf(e: XmlElement): { x: number; y: number; width: number; height: number } {
  return {
    x: Number(attr(e, "x")),
    y: Number(attr(e, "y")),
    width: Number(attr(e, "width")),
    height: Number(attr(e, "height")),
  };
}

function groups(svg: XmlElement, cls: string): XmlElement[] {
  return descendants(svg).filter((e) => e.name === "g" && (e.attrs.get("class") ?? "").split(" ")[0] === cls);
}

describe("toSvg", () => {
  for (const collapseScopes of [true, false]) {
    for (const rankdir of ["LR", "TB"] as const) {
      it(`draws every node and edge inside the canvas (collapseScopes: ${collapseScopes}, ${rankdir})`, () => {
        const nodes = articleNetworkTape();
        const picture = graphPicture(nodes, { collapseScopes, rankdir });
        const svg = readXml(toSvg(nodes, { collapseScopes, rankdir }));
        expect(svg.name).toBe("svg");
        expect(attr(svg, "xmlns")).toBe("http://www.w3.org/2000/svg");
        const width = Number(attr(svg, "width"));
        const height = Number(attr(svg, "height"));
        expect(attr(svg, "viewBox")).toBe(`0 0 ${width} ${height}`);

        const drawn = groups(svg, "node");
        expect(drawn.map((g) => attr(g, "id"))).toEqual(picture.nodes.map((n) => n.id));
        drawn.forEach((g, i) => {
          expect(g.children.filter((c) => c.name === "text").map((t) => t.text)).toEqual(
            picture.nodes[i].lines,
          );
          expect(g.children.find((c) => c.name === "title")?.text).toBe(picture.nodes[i].detail);
          const r = rectOf(g.children.find((c) => c.name === "rect")!);
          expect(r.x).toBeGreaterThanOrEqual(0);
          expect(r.y).toBeGreaterThanOrEqual(0);
          expect(r.x + r.width).toBeLessThanOrEqual(width);
          expect(r.y + r.height).toBeLessThanOrEqual(height);
        });

        const markers = descendants(svg).filter((e) => e.name === "marker");
        expect(markers).toHaveLength(1);
        const paths = descendants(svg).filter((e) => e.name === "path" && e.attrs.get("class") === "edge");
        expect(paths.map((p) => `${attr(p, "data-from")}->${attr(p, "data-to")}`)).toEqual(
          picture.edges.map((e) => `${picture.nodes[e.from].id}->${picture.nodes[e.to].id}`),
        );
        for (const p of paths) {
          expect(attr(p, "marker-end")).toBe(`url(#${attr(markers[0], "id")})`);
          expect(attr(p, "d")).toMatch(/^M[\d.]+,[\d.]+( C[\d.]+,[\d.]+ [\d.]+,[\d.]+ [\d.]+,[\d.]+)+$/);
        }
      });
    }
  }

  it("draws each scope as a labelled rectangle behind its nodes in the full picture", () => {
    const nodes = articleNetworkTape();
    const picture = graphPicture(nodes);
    const svg = readXml(toSvg(nodes));
    const scopes = groups(svg, "scope");
    expect(scopes.map((g) => g.children[1].text)).toEqual(picture.clusters.map((c) => c.label));
    const boxes = new Map(
      groups(svg, "node").map((g) => [attr(g, "id"), rectOf(g.children.find((c) => c.name === "rect")!)]),
    );
    picture.nodes.forEach((node) => {
      if (node.cluster < 0) return;
      const outer = rectOf(scopes[node.cluster].children[0]);
      const inner = boxes.get(node.id)!;
      expect(inner.x).toBeGreaterThan(outer.x);
      expect(inner.y).toBeGreaterThan(outer.y);
      expect(inner.x + inner.width).toBeLessThan(outer.x + outer.width);
      expect(inner.y + inner.height).toBeLessThan(outer.y + outer.height);
    });
    // Scopes come first in the document, so they are painted behind edges and nodes.
    const order = svg.children.filter((c) => c.name === "g").map((g) => attr(g, "class"));
    expect(order).toEqual(["scopes", "edges", "nodes"]);
  });

  it("escapes odd names and titles so the document stays well-formed and reads back unchanged", () => {
    const odd = `a"b'c<d>&e]]>f&amp; ·_`;
    const nodes: TapeNode[] = [
      {
        index: 0,
        op: "leaf",
        inputs: [],
        shape: [2],
        dtype: "float32",
        scope: [],
        scopeIds: [],
        name: odd,
        leaf: true,
        requiresGrad: false,
      },
      {
        index: 1,
        op: "exp",
        inputs: [0],
        shape: [2],
        dtype: "float32",
        scope: [odd],
        scopeIds: [1],
        leaf: false,
        requiresGrad: true,
      },
    ];
    for (const collapseScopes of [false, true]) {
      const svg = readXml(toSvg(nodes, { collapseScopes, title: odd }));
      const texts = descendants(svg)
        .filter((e) => e.name === "text" || e.name === "title")
        .map((e) => e.text);
      expect(texts).toContain(`f_0 = ${odd}`);
      expect(texts.filter((t) => t === odd).length).toBeGreaterThanOrEqual(2); // <title>, heading, scope label
    }
  });

  it("replaces characters XML cannot hold", () => {
    expect(xmlText("a\u0000b\u001fc\td\ue000")).toBe("a\uFFFDb\uFFFDc\td\ue000");
    expect(xmlText("x\uD800y\uDC00z\uD83D\uDE00")).toBe("x\uFFFDy\uFFFDz\uD83D\uDE00");
    expect(() => readXml(`<svg><text>${xmlText("<&>\"'")}</text></svg>`)).not.toThrow();
  });

  it("is byte-identical for the same tape", () => {
    const a = toSvg(articleNetworkTape(), { collapseScopes: true, title: "f" });
    const b = toSvg(structuredClone(articleNetworkTape()), { collapseScopes: true, title: "f" });
    expect(a).toBe(b);
  });

  it("matches the snapshot of the article's collapsed network", () => {
    expect(
      toSvg(articleNetworkTape(), { collapseScopes: true, title: "The article's network" }),
    ).toMatchSnapshot();
  });

  it("draws a tape of a few thousand nodes", () => {
    // A deep residual-style chain: every step adds a parameter and reuses the value from two steps back.
    const nodes: TapeNode[] = [
      {
        index: 0,
        op: "leaf",
        inputs: [],
        shape: [4],
        dtype: "float32",
        scope: [],
        scopeIds: [],
        name: "x",
        leaf: true,
        requiresGrad: false,
      },
    ];
    let last = 0;
    let before = 0;
    for (let step = 0; step < 1000; step++) {
      const p = nodes.length;
      nodes.push({
        index: p,
        op: "leaf",
        inputs: [],
        shape: [4],
        dtype: "float32",
        scope: [],
        scopeIds: [],
        leaf: true,
        requiresGrad: true,
      });
      const scope = [`block ${step}`];
      const scopeIds = [step + 1];
      const mul = nodes.length;
      nodes.push({
        index: mul,
        op: "mul",
        inputs: [last, p],
        shape: [4],
        dtype: "float32",
        scope,
        scopeIds,
        leaf: false,
        requiresGrad: true,
      });
      const add = nodes.length;
      nodes.push({
        index: add,
        op: "add",
        inputs: [mul, before],
        shape: [4],
        dtype: "float32",
        scope,
        scopeIds,
        leaf: false,
        requiresGrad: true,
      });
      before = last;
      last = add;
    }
    for (const collapseScopes of [false, true]) {
      const svg = readXml(toSvg(nodes, { collapseScopes }));
      expect(groups(svg, "node")).toHaveLength(collapseScopes ? 2001 : 3001);
      expect(Number.isFinite(Number(attr(svg, "width")))).toBe(true);
    }
  });
});
