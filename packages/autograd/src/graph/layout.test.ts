import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assignRanks, type Layout, type LayoutGraph, layeredLayout, NODE_GAP } from "./layout.js";

/** A random DAG shaped like a tape: side inputs have no predecessors, ops take 1-3 earlier nodes. */
const dagArb = fc
  .record({
    n: fc.integer({ min: 1, max: 40 }),
    seed: fc.array(fc.nat(), { minLength: 160, maxLength: 160 }),
    rankdir: fc.constantFrom<"LR" | "TB">("LR", "TB"),
  })
  .map(({ n, seed, rankdir }): LayoutGraph => {
    let k = 0;
    const next = (m: number): number => seed[k++ % seed.length] % m;
    const side: boolean[] = [];
    const edges: { from: number; to: number }[] = [];
    const sizes = [];
    for (let i = 0; i < n; i++) {
      const isSide = i > 0 && next(3) === 0;
      side.push(isSide);
      sizes.push({ width: 40 + next(160), height: 20 + next(60) });
      if (isSide || i === 0 || next(5) === 0) continue;
      const fanIn = 1 + next(3);
      for (let j = 0; j < fanIn; j++) edges.push({ from: next(i), to: i });
    }
    return { sizes, edges, side, rankdir };
  });

function along(layout: Layout, i: number, lr: boolean): [number, number] {
  const b = layout.boxes[i];
  return lr ? [b.x, b.x + b.width] : [b.y, b.y + b.height];
}

function across(layout: Layout, i: number, lr: boolean): [number, number] {
  const b = layout.boxes[i];
  return lr ? [b.y, b.y + b.height] : [b.x, b.x + b.width];
}

describe("assignRanks", () => {
  it("ranks ops by longest path and puts side inputs just before their first consumer", () => {
    fc.assert(
      fc.property(dagArb, (g) => {
        const rank = assignRanks(g);
        const n = g.sizes.length;
        const preds: number[][] = Array.from({ length: n }, () => []);
        const succs: number[][] = Array.from({ length: n }, () => []);
        for (const e of g.edges) {
          preds[e.to].push(e.from);
          succs[e.from].push(e.to);
        }
        expect(Math.min(...rank)).toBe(0);
        const sourceRanks = new Set<number>();
        for (let v = 0; v < n; v++) {
          if (g.side[v]) {
            if (succs[v].length > 0) expect(rank[v]).toBe(Math.min(...succs[v].map((w) => rank[w])) - 1);
            continue;
          }
          const mainPreds = preds[v].filter((u) => !g.side[u]);
          if (mainPreds.length === 0) sourceRanks.add(rank[v]);
          else expect(rank[v]).toBe(Math.max(...mainPreds.map((u) => rank[u])) + 1);
        }
        expect(sourceRanks.size).toBeLessThanOrEqual(1);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it("terminates on a cycle (which no tape can record) and still ranks every node", () => {
    const g: LayoutGraph = {
      sizes: Array.from({ length: 4 }, () => ({ width: 10, height: 10 })),
      edges: [
        { from: 0, to: 1 },
        { from: 1, to: 2 },
        { from: 2, to: 1 },
        { from: 2, to: 3 },
      ],
      side: [false, false, false, false],
      rankdir: "LR",
    };
    expect(Array.from(assignRanks(g))).toEqual([0, 1, 2, 3]);
    const layout = layeredLayout(g);
    for (const b of layout.boxes) expect(Number.isFinite(b.x) && Number.isFinite(b.y)).toBe(true);
  });
});

describe("layeredLayout", () => {
  it("places ranks in order along the flow, never overlaps boxes, and joins borders with every path", () => {
    fc.assert(
      fc.property(dagArb, (g) => {
        const layout = layeredLayout(g);
        const lr = g.rankdir === "LR";
        const n = g.sizes.length;
        for (let i = 0; i < n; i++) {
          expect(layout.boxes[i].width).toBe(g.sizes[i].width);
          expect(layout.boxes[i].height).toBe(g.sizes[i].height);
          for (let j = i + 1; j < n; j++) {
            const [ri, rj] = [layout.rank[i], layout.rank[j]];
            if (ri === rj) {
              const [a0, a1] = across(layout, i, lr);
              const [b0, b1] = across(layout, j, lr);
              expect(a1 + NODE_GAP - 1e-6 <= b0 || b1 + NODE_GAP - 1e-6 <= a0).toBe(true);
            } else {
              const [first, second] = ri < rj ? [i, j] : [j, i];
              expect(along(layout, first, lr)[1]).toBeLessThan(along(layout, second, lr)[0]);
            }
          }
        }
        g.edges.forEach((e, k) => {
          const path = layout.paths[k];
          expect(path.length).toBeGreaterThan(0);
          const start = path[0].p0;
          const end = path[path.length - 1].p1;
          const [s0, s1] = across(layout, e.from, lr);
          const [t0, t1] = across(layout, e.to, lr);
          const startAlong = lr ? start.x : start.y;
          const startAcross = lr ? start.y : start.x;
          const endAlong = lr ? end.x : end.y;
          const endAcross = lr ? end.y : end.x;
          expect(startAlong).toBeCloseTo(along(layout, e.from, lr)[1], 9);
          expect(endAlong).toBeCloseTo(along(layout, e.to, lr)[0], 9);
          expect(startAcross).toBeGreaterThanOrEqual(s0);
          expect(startAcross).toBeLessThanOrEqual(s1);
          expect(endAcross).toBeGreaterThanOrEqual(t0);
          expect(endAcross).toBeLessThanOrEqual(t1);
          // Consecutive pieces join up.
          for (let j = 1; j < path.length; j++) expect(path[j].p0).toEqual(path[j - 1].p1);
        });
        for (const b of layout.boxes) {
          expect(b.x).toBeGreaterThanOrEqual(layout.minX);
          expect(b.y).toBeGreaterThanOrEqual(layout.minY);
          expect(b.x + b.width).toBeLessThanOrEqual(layout.maxX);
          expect(b.y + b.height).toBeLessThanOrEqual(layout.maxY);
        }
        expect(layeredLayout(g)).toEqual(layout);
      }),
      { seed: 42, numRuns: 150 },
    );
  });

  it("routes a long edge around the ranks it crosses instead of through their boxes", () => {
    // x -> a -> b -> c, plus x -> c: the long edge gets a waypoint beside a and b.
    const g: LayoutGraph = {
      sizes: Array.from({ length: 4 }, () => ({ width: 60, height: 40 })),
      edges: [
        { from: 0, to: 1 },
        { from: 1, to: 2 },
        { from: 2, to: 3 },
        { from: 0, to: 3 },
      ],
      side: [false, false, false, false],
      rankdir: "LR",
    };
    const layout = layeredLayout(g);
    const long = layout.paths[3];
    expect(long.length).toBe(5); // in, across a's rank, between, across b's rank, out
    for (const piece of long.slice(1, 4)) {
      for (const box of [layout.boxes[1], layout.boxes[2]]) {
        const insideX = piece.p1.x > box.x && piece.p1.x < box.x + box.width;
        const insideY = piece.p1.y > box.y && piece.p1.y < box.y + box.height;
        expect(insideX && insideY).toBe(false);
      }
    }
  });

  it("lays out thousands of nodes, with and without waypoints for long edges", () => {
    const n = 3000;
    const sizes = Array.from({ length: n }, () => ({ width: 80, height: 50 }));
    const side = Array.from({ length: n }, () => false);
    const skips: { from: number; to: number }[] = [];
    const hub: { from: number; to: number }[] = [];
    for (let i = 1; i < n; i++) {
      skips.push({ from: i - 1, to: i });
      hub.push({ from: i - 1, to: i }, { from: 0, to: i });
      if (i >= 4) skips.push({ from: i - 4, to: i });
    }
    for (const edges of [skips, hub]) {
      const layout = layeredLayout({ sizes, edges, side, rankdir: "LR" });
      expect(layout.rank[n - 1]).toBe(n - 1);
      expect(Number.isFinite(layout.maxX + layout.maxY + layout.minX + layout.minY)).toBe(true);
      expect(layout.paths).toHaveLength(edges.length);
    }
  });
});
