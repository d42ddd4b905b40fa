// The picture model shared by every output format: which boxes exist, how they are labelled, which arrows
// join them and which scope clusters surround them. DOT, Mermaid and SVG only differ in how they print it.
import { ValueError } from "../errors.js";
import type { GraphOptions, TapeNode } from "../graph.js";

/**
 * input: a graph input (f-numbered leaf); param / const: a side input (leaf that requires grad or not);
 * op: one primitive; scope: one collapsed scope instance.
 */
export type PictureKind = "input" | "param" | "const" | "op" | "scope";

export interface PictureNode {
  /** Identifier safe in DOT and Mermaid: n<tape index> for single nodes, b<k> for collapsed scope boxes. */
  id: string;
  kind: PictureKind;
  /** The i of f_i, or null for side inputs. */
  f: number | null;
  /** Label lines, unescaped: e.g. ["f_1", "W_1·f_0 + b_1", "[8, 30]"]. */
  lines: string[];
  /** One line for a tooltip: the tape nodes behind this box, their ops, dtype and shape. */
  detail: string;
  /** Tape indices drawn by this node (one, or every member of a collapsed scope). */
  members: number[];
  /** Index into GraphPicture.clusters of the innermost enclosing scope cluster (full picture), or -1. */
  cluster: number;
}

export interface PictureEdge {
  /** Indices into GraphPicture.nodes. */
  from: number;
  to: number;
}

export interface PictureCluster {
  /** Identifier safe in DOT and Mermaid: c<k>. */
  id: string;
  label: string;
  /** Index of the enclosing cluster, or -1 at the top level. */
  parent: number;
  /** Nesting depth, 0 for outermost scopes. */
  depth: number;
}

export interface GraphPicture {
  /** Inputs first (f_0, f_1, ...), then side inputs and ops/boxes in creation order. */
  nodes: PictureNode[];
  /** Deduplicated, in creation order; never a self-loop. */
  edges: PictureEdge[];
  /** Scope clusters of the full picture, parents before children; empty when scopes are collapsed. */
  clusters: PictureCluster[];
  title: string | undefined;
  rankdir: "LR" | "TB";
}

/** [8, 30] style shape text; [] for a scalar. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Rejects tapes whose indices could not come from a real recording (the picture would be wrong silently). */
export function validateTape(nodes: readonly TapeNode[], caller: string): void {
  if (!Array.isArray(nodes)) throw new ValueError(`${caller}: expected an array of tape nodes`);
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i];
    if (node === null || typeof node !== "object") {
      throw new ValueError(
        `${caller}: tape node ${i} is ${node === null ? "null" : typeof node}, expected an object`,
      );
    }
    if (node.index !== i) {
      throw new ValueError(`${caller}: tape node at position ${i} has index ${node.index}, expected ${i}`);
    }
    const inputs = node.inputs;
    if (!Array.isArray(inputs)) throw new ValueError(`${caller}: node ${i} (${node.op}) has no inputs array`);
    if (node.leaf && inputs.length > 0) {
      throw new ValueError(`${caller}: leaf node ${i} has inputs [${inputs.join(", ")}], expected none`);
    }
    for (const input of inputs) {
      if (!Number.isInteger(input) || input < 0 || input >= i) {
        throw new ValueError(
          `${caller}: node ${i} (${node.op}) has input index ${input}, expected an integer in [0, ${i - 1}] ` +
            "(inputs are created before the node that uses them)",
        );
      }
    }
    if (
      !Array.isArray(node.scope) ||
      !Array.isArray(node.scopeIds) ||
      node.scope.length !== node.scopeIds.length
    ) {
      throw new ValueError(
        `${caller}: node ${i} (${node.op}) has scope [${node.scope}] and scopeIds [${node.scopeIds}], ` +
          "expected two arrays of the same length",
      );
    }
  }
}

function headLine(f: number, name: string | undefined): string {
  return name === undefined || name === "" ? `f_${f}` : `f_${f} = ${name}`;
}

/** Builds the picture of a tape: the one place where the labelling rules live. */
export function graphPicture(
  nodes: readonly TapeNode[],
  opts: GraphOptions = {},
  caller = "graphPicture",
): GraphPicture {
  validateTape(nodes, caller);
  if (opts.rankdir !== undefined && opts.rankdir !== "LR" && opts.rankdir !== "TB") {
    throw new ValueError(`${caller}: rankdir must be "LR" or "TB", got ${JSON.stringify(opts.rankdir)}`);
  }
  const collapse = opts.collapseScopes === true;
  const showShapes = opts.showShapes !== false;
  const shapeLines = (shape: readonly number[]): string[] => (showShapes ? [formatShape(shape)] : []);

  const pictureOf = new Int32Array(nodes.length).fill(-1);
  const pictureNodes: PictureNode[] = [];
  let nextF = 0;

  const home = internalConstants(nodes);

  // Graph inputs: data leaves fed to the first op, in argument order (the article's f_0 = X).
  const firstOp = nodes.find((n) => !n.leaf);
  for (const i of firstOp?.inputs ?? []) {
    const leaf = nodes[i];
    if (!leaf.leaf || leaf.requiresGrad || pictureOf[i] !== -1 || home.ref[i] >= 0) continue;
    const f = nextF++;
    pictureOf[i] = pictureNodes.length;
    pictureNodes.push({
      id: `n${i}`,
      kind: "input",
      f,
      lines: [headLine(f, leaf.name), "input", ...shapeLines(leaf.shape)],
      detail: "",
      members: [i],
      cluster: -1,
    });
  }

  const clusters: PictureCluster[] = [];
  const clusterOf = new Map<number, number>(); // scopeId -> cluster index
  const boxOf = new Map<number, number>(); // outermost scopeId -> picture node index
  const absorbed: number[] = [];

  for (let i = 0; i < nodes.length; i++) {
    if (pictureOf[i] !== -1) continue;
    const node = nodes[i];
    if (home.ref[i] >= 0 && collapse) {
      absorbed.push(i); // joins its box below, once every box exists
      continue;
    }
    if (node.leaf) {
      const kind = node.requiresGrad ? "param" : "const";
      const named = node.name !== undefined && node.name !== "";
      pictureOf[i] = pictureNodes.length;
      pictureNodes.push({
        id: `n${i}`,
        kind,
        f: null,
        // An unnamed side input is only identifiable by its shape, so it keeps the shape even when shapes are off.
        lines: named ? [node.name!, ...shapeLines(node.shape)] : [kind, formatShape(node.shape)],
        detail: "",
        members: [i],
        cluster: home.ref[i] >= 0 ? clusterFor(nodes[home.ref[i]], clusters, clusterOf, home.depth[i]) : -1,
      });
      continue;
    }
    if (collapse && node.scope.length > 0) {
      const scopeId = node.scopeIds[0];
      const box = boxOf.get(scopeId);
      if (box !== undefined) {
        pictureNodes[box].members.push(i);
        pictureOf[i] = box;
        continue;
      }
      boxOf.set(scopeId, pictureNodes.length);
      pictureOf[i] = pictureNodes.length;
      pictureNodes.push({
        id: `b${boxOf.size - 1}`,
        kind: "scope",
        f: nextF++,
        lines: [],
        detail: "",
        members: [i],
        cluster: -1,
      });
      continue;
    }
    pictureOf[i] = pictureNodes.length;
    const f = nextF++;
    pictureNodes.push({
      id: `n${i}`,
      kind: "op",
      f,
      lines: [headLine(f, node.name), node.op, ...shapeLines(node.shape)],
      detail: "",
      members: [i],
      cluster: collapse ? -1 : clusterFor(node, clusters, clusterOf),
    });
  }

  for (const i of absorbed) {
    const box = boxOf.get(nodes[home.ref[i]].scopeIds[0])!;
    pictureOf[i] = box;
    pictureNodes[box].members.push(i);
  }
  // A collapsed box shows its scope label and the shape (and name) of its output, the last op created in it.
  for (const box of boxOf.values()) {
    const p = pictureNodes[box];
    p.members.sort((a, b) => a - b);
    const ops = p.members.filter((i) => !nodes[i].leaf);
    const output = nodes[ops[ops.length - 1]];
    p.lines = [headLine(p.f!, output.name), output.scope[0], ...shapeLines(output.shape)];
  }

  for (const p of pictureNodes) p.detail = detailOf(p, nodes);

  const edges: PictureEdge[] = [];
  const seen = new Set<number>();
  const count = pictureNodes.length;
  for (let i = 0; i < nodes.length; i++) {
    const to = pictureOf[i];
    for (const input of nodes[i].inputs) {
      const from = pictureOf[input];
      const key = from * count + to;
      if (from === to || seen.has(key)) continue;
      seen.add(key);
      edges.push({ from, to });
    }
  }

  return { nodes: pictureNodes, edges, clusters, title: opts.title, rankdir: opts.rankdir ?? "LR" };
}

const DETAIL_OPS = 12;

function detailOf(p: PictureNode, nodes: readonly TapeNode[]): string {
  const first = nodes[p.members[0]];
  if (p.kind !== "scope") {
    const what = first.leaf ? `leaf, ${first.requiresGrad ? "requires grad" : "no grad"}` : first.op;
    const where = first.scope.length > 0 ? ` in ${first.scope.join(" / ")}` : "";
    return `tape node ${first.index}: ${what}${where}, ${first.dtype} ${formatShape(first.shape)}`;
  }
  const ops = p.members.filter((i) => !nodes[i].leaf);
  const listed = ops.slice(0, DETAIL_OPS).map((i) => `${i} (${nodes[i].op})`);
  if (ops.length > DETAIL_OPS) listed.push(`… ${ops.length - DETAIL_OPS} more`);
  const output = nodes[ops[ops.length - 1]];
  return `tape nodes ${listed.join(", ")} -> ${output.dtype} ${formatShape(output.shape)}`;
}

/** Where an internal constant is drawn: inside the scope path of `ref` cut to `depth` entries. */
interface Home {
  ref: Int32Array; // a node whose scope path holds the constant's scopes; -1 = not internal
  depth: Int32Array;
}

/**
 * Unnamed constants used only inside one scope call belong to that step (a loss's 0.5 or divisor n): drawn
 * inside the scope's cluster, or hidden in its collapsed box. A constant counts if it was created inside the
 * scope, or if it is scalar-sized (a number operand), so unnamed data tensors made outside stay visible.
 * Its home is the innermost scope call holding every use (and its creation, if it has a scope). Such a
 * constant is never a graph input, even when the first op reads it.
 */
function internalConstants(nodes: readonly TapeNode[]): Home {
  const ref = new Int32Array(nodes.length).fill(-1);
  const depth = new Int32Array(nodes.length);
  const candidate = new Uint8Array(nodes.length);
  const used = new Uint8Array(nodes.length);
  nodes.forEach((n, i) => {
    const named = n.name !== undefined && n.name !== "";
    if (!n.leaf || n.requiresGrad || named) return;
    let size = 1;
    for (const d of n.shape) size *= d;
    if (n.scopeIds.length > 0) {
      candidate[i] = 1;
      ref[i] = i;
      depth[i] = n.scopeIds.length;
    } else if (size <= 1) {
      candidate[i] = 1;
    }
  });
  nodes.forEach((n, c) => {
    for (const i of n.inputs) {
      if (!candidate[i]) continue;
      if (!used[i]) {
        used[i] = 1;
        if (ref[i] === -1) {
          ref[i] = c;
          depth[i] = n.scopeIds.length;
        }
      }
      const path = nodes[ref[i]].scopeIds;
      let common = 0;
      while (common < depth[i] && common < n.scopeIds.length && n.scopeIds[common] === path[common]) common++;
      depth[i] = common;
    }
  });
  for (let i = 0; i < nodes.length; i++) if (!candidate[i] || !used[i] || depth[i] === 0) ref[i] = -1;
  return { ref, depth };
}

/** The cluster of a scope path cut to `depth` entries, creating the chain of enclosing clusters on first sight. */
function clusterFor(
  node: TapeNode,
  clusters: PictureCluster[],
  clusterOf: Map<number, number>,
  depth = node.scopeIds.length,
): number {
  let parent = -1;
  for (let d = 0; d < depth; d++) {
    const scopeId = node.scopeIds[d];
    let cluster = clusterOf.get(scopeId);
    if (cluster === undefined) {
      cluster = clusters.length;
      clusterOf.set(scopeId, cluster);
      clusters.push({ id: `c${cluster}`, label: node.scope[d], parent, depth: d });
    }
    parent = cluster;
  }
  return parent;
}
