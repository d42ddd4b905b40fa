/**
 * The article-level f_i graph, built from a recorded tape: one node per leaf with a name (X, Y, W_1, b_1, ...)
 * and one per outermost scope (NN labels each step, so matmul+add collapse into f_1 = W_1·f_0 + b_1), numbered
 * f_0 = X, f_1, f_2, ... in tape order. Also the order in which the tape's backward walk reaches them.
 */
import type { TapeNode } from "@tapegrad/autograd";

export type NodeKind = "input" | "target" | "param" | "op" | "loss";

export interface GraphNode {
  id: string;
  /** "f_3", "W_2", "Y". */
  label: string;
  /** The scope label or leaf name, e.g. "W_2·f_2 + b_2", "sigmoid", "loss". */
  title: string;
  kind: NodeKind;
  /** f index on the chain (X is 0); undefined for parameters and the target. */
  f?: number;
  shape: number[];
  /** The tape's primitives inside this node: "matmul #3". */
  ops: string[];
  /** Graph node ids feeding this one. */
  inputs: string[];
}

export interface GraphModel {
  nodes: GraphNode[];
  /** Ids of the chain f_0 ... f_n in order (the main row of the picture). */
  chain: string[];
  /** Graph ids in the order the backward pass reaches them (decreasing tape index), loss first. */
  backwardOrder: string[];
}

export function buildGraph(tape: readonly TapeNode[], inputName = "X"): GraphModel {
  const owner = new Map<number, string>(); // tape index -> graph id (absent: an unnamed constant)
  const nodes: GraphNode[] = [];
  const byId = new Map<string, GraphNode>();
  const groupOf = new Map<number, GraphNode>(); // scope id or -(tape index)-1 -> node
  const add = (n: GraphNode) => {
    nodes.push(n);
    byId.set(n.id, n);
    return n;
  };
  let f = 0;
  const input = tape.find((t) => t.leaf && t.name === inputName);
  if (!input) throw new Error(`buildGraph: the tape has no leaf named ${inputName}`);
  for (const t of tape) {
    if (t.leaf) {
      if (t.name === undefined) continue;
      const kind: NodeKind = t.name === inputName ? "input" : t.requiresGrad ? "param" : "target";
      const node =
        byId.get(t.name) ??
        add({
          id: t.name,
          label: kind === "input" ? "f_0" : t.name,
          title: t.name,
          kind,
          f: kind === "input" ? 0 : undefined,
          shape: [...t.shape],
          ops: [],
          inputs: [],
        });
      owner.set(t.index, node.id);
      continue;
    }
    const key = t.scopeIds.length > 0 ? t.scopeIds[0] : -t.index - 1;
    let node = groupOf.get(key);
    if (!node) {
      f++;
      node = add({
        id: `f_${f}`,
        label: `f_${f}`,
        title: t.scope.length > 0 ? t.scope[0] : t.op,
        kind: "op",
        f,
        shape: [...t.shape],
        ops: [],
        inputs: [],
      });
      groupOf.set(key, node);
    }
    node.ops.push(`${t.op} #${t.index}`);
    node.shape = [...t.shape];
    owner.set(t.index, node.id);
    for (const i of t.inputs) {
      const from = owner.get(i);
      if (from !== undefined && from !== node.id && !node.inputs.includes(from)) node.inputs.push(from);
    }
  }
  const ops = nodes.filter((n) => n.kind === "op");
  if (ops.length === 0) throw new Error("buildGraph: the tape recorded no operations");
  ops[ops.length - 1].kind = "loss";
  const chain = nodes
    .filter((n) => n.f !== undefined)
    .sort((a, b) => (a.f as number) - (b.f as number))
    .map((n) => n.id);

  // The backward walk visits op nodes by decreasing index; a parameter receives its gradient when the
  // op that read it runs its vjp.
  const backwardOrder: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string | undefined) => {
    if (id !== undefined && !seen.has(id)) {
      seen.add(id);
      backwardOrder.push(id);
    }
  };
  for (let k = tape.length - 1; k >= 0; k--) {
    const t = tape[k];
    if (t.leaf) continue;
    visit(owner.get(t.index));
    for (const i of t.inputs) {
      const from = owner.get(i);
      if (from !== undefined && byId.get(from)?.kind === "param") visit(from);
    }
  }
  return { nodes, chain, backwardOrder };
}
