// A small layered (Sugiyama-style) layout: ranks by longest path, dummy points for long edges, a few
// barycentre sweeps against crossings, then coordinates. Every pass is linear in nodes + edges (plus a sort
// per rank), so a tape of thousands of nodes still lays out quickly; output is fully deterministic.
//
// Geometry is computed along the flow ("u", x for LR) and across it ("v", y for LR) and mapped at the end.

export interface Size {
  width: number;
  height: number;
}

export interface LayoutGraph {
  sizes: readonly Size[];
  edges: readonly { from: number; to: number }[];
  /** Side inputs: placed in the rank just before their first consumer instead of at rank 0. */
  side: readonly boolean[];
  rankdir: "LR" | "TB";
}

export interface Point {
  x: number;
  y: number;
}

/** One cubic Bézier piece of an edge: from p0 with controls c1, c2 to p1. */
export interface Cubic {
  p0: Point;
  c1: Point;
  c2: Point;
  p1: Point;
}

export interface Box extends Point, Size {}

export interface Layout {
  /** Top-left corner and size of every node. */
  boxes: Box[];
  rank: Int32Array;
  /** One path per edge (same order as the input edges), ending on the target's border. */
  paths: Cubic[][];
  /** Bounding box of boxes and paths. */
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export const RANK_GAP = 56;
export const NODE_GAP = 18;
const DUMMY_SIZE = 6;
const SWEEPS = 3;

interface Item {
  rank: number;
  /** Size along the flow and across it. */
  along: number;
  across: number;
  preds: number[];
  succs: number[];
  /** Tie-break within a rank: 0 ordinary node, 1 side input, 2 dummy. */
  tier: number;
}

export function layeredLayout(graph: LayoutGraph): Layout {
  const n = graph.sizes.length;
  const lr = graph.rankdir === "LR";
  const rank = assignRanks(graph);

  // Items: the real nodes, then one dummy per rank crossed by a long edge.
  const items: Item[] = graph.sizes.map((s, i) => ({
    rank: rank[i],
    along: lr ? s.width : s.height,
    across: lr ? s.height : s.width,
    preds: [],
    succs: [],
    tier: graph.side[i] ? 1 : 0,
  }));
  let span = 0;
  for (const e of graph.edges) span += Math.max(0, rank[e.to] - rank[e.from] - 1);
  // Beyond this budget (e.g. one input feeding every node of a long chain) long edges are drawn directly.
  const useDummies = span <= 4 * (n + graph.edges.length) + 256;
  const chains: number[][] = graph.edges.map((e) => {
    const chain = [e.from];
    if (useDummies) {
      for (let r = rank[e.from] + 1; r < rank[e.to]; r++) {
        chain.push(items.length);
        items.push({ rank: r, along: 0, across: DUMMY_SIZE, preds: [], succs: [], tier: 2 });
      }
    }
    chain.push(e.to);
    for (let k = 1; k < chain.length; k++) {
      items[chain[k - 1]].succs.push(chain[k]);
      items[chain[k]].preds.push(chain[k - 1]);
    }
    return chain;
  });

  const layers = orderLayers(items);
  const vTop = placeAcross(items, layers);

  // Along the flow: each rank is a column (LR) or row (TB) as wide as its widest node.
  const rankStart: number[] = [];
  const rankSize: number[] = layers.map((layer) => layer.reduce((m, i) => Math.max(m, items[i].along), 0));
  let u = 0;
  for (let r = 0; r < layers.length; r++) {
    rankStart.push(u);
    u += rankSize[r] + RANK_GAP;
  }
  const uTop = (i: number): number =>
    rankStart[items[i].rank] + (rankSize[items[i].rank] - items[i].along) / 2;
  const toPoint = (along: number, across: number): Point =>
    lr ? { x: along, y: across } : { x: across, y: along };

  const boxes: Box[] = [];
  for (let i = 0; i < n; i++) {
    const p = toPoint(uTop(i), vTop[i]);
    boxes.push({ x: p.x, y: p.y, width: graph.sizes[i].width, height: graph.sizes[i].height });
  }

  // Arrows entering one node are spread along its border, ordered by where they come from.
  const entryV = new Float64Array(chains.length);
  const incoming: number[][] = Array.from({ length: n }, () => []);
  chains.forEach((chain, k) => {
    incoming[chain[chain.length - 1]].push(k);
  });
  const centreV = (i: number): number => vTop[i] + items[i].across / 2;
  for (let t = 0; t < n; t++) {
    const ks = incoming[t];
    const prevV = (k: number): number => centreV(chains[k][chains[k].length - 2]);
    ks.sort((a, b) => prevV(a) - prevV(b) || a - b);
    const step = ks.length > 1 ? Math.min(10, (items[t].across * 0.6) / (ks.length - 1)) : 0;
    ks.forEach((k, j) => {
      entryV[k] = centreV(t) + (j - (ks.length - 1) / 2) * step;
    });
  }

  const paths: Cubic[][] = chains.map((chain, k) => {
    const pieces: Cubic[] = [];
    let fromU = uTop(chain[0]) + items[chain[0]].along;
    let fromV = centreV(chain[0]);
    for (let j = 1; j < chain.length; j++) {
      const item = chain[j];
      const last = j === chain.length - 1;
      const toU = uTop(item);
      const toV = last ? entryV[k] : centreV(item);
      const bend = Math.max(Math.abs(toU - fromU) / 2, 12);
      pieces.push({
        p0: toPoint(fromU, fromV),
        c1: toPoint(fromU + bend, fromV),
        c2: toPoint(toU - bend, toV),
        p1: toPoint(toU, toV),
      });
      if (!last) {
        // A dummy is a straight run across its column.
        const outU = rankStart[items[item].rank] + rankSize[items[item].rank];
        pieces.push({
          p0: toPoint(toU, toV),
          c1: toPoint(toU, toV),
          c2: toPoint(outU, toV),
          p1: toPoint(outU, toV),
        });
        fromU = outU;
        fromV = toV;
      }
    }
    return pieces;
  });

  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  let maxX = Number.NEGATIVE_INFINITY;
  let maxY = Number.NEGATIVE_INFINITY;
  const grow = (p: Point): void => {
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x);
    maxY = Math.max(maxY, p.y);
  };
  for (const b of boxes) {
    grow(b);
    grow({ x: b.x + b.width, y: b.y + b.height });
  }
  for (const path of paths) for (const c of path) for (const p of [c.p0, c.c1, c.c2, c.p1]) grow(p);
  if (n === 0) minX = minY = maxX = maxY = 0;
  return { boxes, rank: rank, paths, minX, minY, maxX, maxY };
}

/**
 * Longest path from the sources for ordinary nodes; side inputs go one rank before their first consumer.
 * Edges that close a cycle (impossible from a real tape) are ignored for ranking.
 */
export function assignRanks(graph: LayoutGraph): Int32Array {
  const n = graph.sizes.length;
  const succs: number[][] = Array.from({ length: n }, () => []);
  const indegree = new Int32Array(n);
  for (const e of graph.edges) {
    succs[e.from].push(e.to);
    indegree[e.to]++;
  }
  // Kahn's algorithm in index order; on a cycle, release the lowest-index node still waiting.
  const order: number[] = [];
  const done = new Uint8Array(n);
  const queue: number[] = [];
  for (let i = 0; i < n; i++) if (indegree[i] === 0) queue.push(i);
  let head = 0;
  let lowest = 0;
  while (order.length < n) {
    if (head === queue.length) {
      while (done[lowest] || indegree[lowest] === 0) lowest++;
      indegree[lowest] = 0;
      queue.push(lowest);
    }
    const v = queue[head++];
    if (done[v]) continue;
    done[v] = 1;
    order.push(v);
    for (const w of succs[v]) if (!done[w] && --indegree[w] === 0) queue.push(w);
  }
  const position = new Int32Array(n);
  order.forEach((v, p) => {
    position[v] = p;
  });

  const rank = new Int32Array(n);
  for (const v of order) {
    if (graph.side[v]) continue;
    for (const w of succs[v]) {
      if (!graph.side[w] && position[w] > position[v]) rank[w] = Math.max(rank[w], rank[v] + 1);
    }
  }
  let minRank = 0;
  for (let v = 0; v < n; v++) {
    if (!graph.side[v] || succs[v].length === 0) continue;
    let r = Number.POSITIVE_INFINITY;
    for (const w of succs[v]) r = Math.min(r, rank[w] - 1);
    rank[v] = r;
    minRank = Math.min(minRank, r);
  }
  if (minRank < 0) for (let v = 0; v < n; v++) rank[v] -= minRank;
  return rank;
}

/** Items grouped by rank, then reordered by barycentre sweeps (down using preds, up using succs). */
function orderLayers(items: Item[]): number[][] {
  let ranks = 0;
  for (const item of items) ranks = Math.max(ranks, item.rank + 1);
  const layers: number[][] = Array.from({ length: ranks }, () => []);
  items.forEach((item, i) => {
    layers[item.rank].push(i);
  });
  const pos = new Float64Array(items.length);
  const setPositions = (layer: number[]): void => {
    layer.forEach((i, p) => {
      pos[i] = p;
    });
  };
  layers.forEach(setPositions);
  const key = new Float64Array(items.length);
  const sweep = (layer: number[], neighbours: (i: number) => number[]): void => {
    for (const i of layer) {
      const ns = neighbours(i);
      if (ns.length === 0) {
        key[i] = pos[i];
        continue;
      }
      let sum = 0;
      for (const j of ns) sum += pos[j];
      key[i] = sum / ns.length;
    }
    // On a tie, real nodes before dummies and side inputs below the op they feed, so side inputs rarely
    // cover a scope's label drawn at its top.
    layer.sort((a, b) => key[a] - key[b] || items[a].tier - items[b].tier || pos[a] - pos[b]);
    setPositions(layer);
  };
  for (let s = 0; s < SWEEPS; s++) {
    for (let r = 1; r < ranks; r++) sweep(layers[r], (i) => items[i].preds);
    for (let r = ranks - 2; r >= 0; r--) sweep(layers[r], (i) => items[i].succs);
  }
  return layers;
}

/**
 * Across-flow coordinates (top edge of each item). Each pass pulls items towards the mean centre of their
 * neighbours, then packs the layer: the mean of a top-down and a bottom-up packing keeps the order and gaps.
 */
function placeAcross(items: Item[], layers: number[][]): Float64Array {
  const top = new Float64Array(items.length);
  for (const layer of layers) {
    let v = 0;
    for (const i of layer) {
      top[i] = v;
      v += items[i].across + NODE_GAP;
    }
    // Centre each layer on 0 so the first pass starts balanced.
    for (const i of layer) top[i] -= (v - NODE_GAP) / 2;
  }
  const centre = (i: number): number => top[i] + items[i].across / 2;
  const desired: number[] = [];
  const pass = (layer: number[], neighbours: (i: number) => number[]): void => {
    desired.length = 0;
    for (const i of layer) {
      const ns = neighbours(i);
      if (ns.length === 0) {
        desired.push(centre(i));
        continue;
      }
      let sum = 0;
      for (const j of ns) sum += centre(j);
      desired.push(sum / ns.length);
    }
    pack(layer, desired, items, top);
  };
  const both = (i: number): number[] => items[i].preds.concat(items[i].succs);
  for (let r = 1; r < layers.length; r++) pass(layers[r], (i) => items[i].preds);
  for (let r = layers.length - 2; r >= 0; r--) pass(layers[r], (i) => items[i].succs);
  for (let r = 0; r < layers.length; r++) pass(layers[r], both);
  return top;
}

function pack(layer: number[], desired: number[], items: Item[], top: Float64Array): void {
  const m = layer.length;
  if (m === 0) return;
  const down = new Float64Array(m);
  const up = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    const want = desired[k] - items[layer[k]].across / 2;
    down[k] = k === 0 ? want : Math.max(want, down[k - 1] + items[layer[k - 1]].across + NODE_GAP);
  }
  for (let k = m - 1; k >= 0; k--) {
    const want = desired[k] - items[layer[k]].across / 2;
    up[k] = k === m - 1 ? want : Math.min(want, up[k + 1] - NODE_GAP - items[layer[k]].across);
  }
  for (let k = 0; k < m; k++) top[layer[k]] = (down[k] + up[k]) / 2;
}
