import { describe, expect, it } from "vitest";
import { ValueError } from "./errors.js";
import { articleNetworkTape } from "./graph/article-network.fixture.js";
import { readDot, readXml } from "./graph/format-checks.fixture.js";
import { type GraphPicture, graphPicture, type TapeNode, toDot, toMermaid, toSvg } from "./graph.js";

/** A hand-made tape: leaves and ops with optional nested scopes given as [label, id] pairs. */
function tape(
  specs: {
    op: string;
    inputs?: number[];
    shape?: number[];
    name?: string;
    grad?: boolean;
    scopes?: [string, number][];
  }[],
): TapeNode[] {
  return specs.map((s, index) => ({
    index,
    op: s.op,
    inputs: s.inputs ?? [],
    shape: s.shape ?? [2, 3],
    dtype: "float32",
    scope: (s.scopes ?? []).map(([label]) => label),
    scopeIds: (s.scopes ?? []).map(([, id]) => id),
    ...(s.name === undefined ? {} : { name: s.name }),
    leaf: s.op === "leaf",
    requiresGrad: s.grad ?? s.op !== "leaf",
  }));
}

/** Edges as "first label line -> first label line", the way a reader of the picture sees them. */
function edgeNames(picture: GraphPicture): string[] {
  return picture.edges.map((e) => `${picture.nodes[e.from].lines[0]} -> ${picture.nodes[e.to].lines[0]}`);
}

describe("the article's network, collapsed to scopes", () => {
  const picture = graphPicture(articleNetworkTape(), { collapseScopes: true });

  it("has exactly the boxes f_0 .. f_5 with the article's labels", () => {
    const numbered = picture.nodes.filter((n) => n.f !== null);
    expect(numbered.map((n) => n.lines)).toEqual([
      ["f_0 = X", "input", "[8, 784]"],
      ["f_1", "W_1·f_0 + b_1", "[8, 30]"],
      ["f_2", "sigmoid", "[8, 30]"],
      ["f_3", "W_2·f_2 + b_2", "[8, 10]"],
      ["f_4", "sigmoid", "[8, 10]"],
      ["f_5", "loss", "[]"],
    ]);
    expect(numbered.map((n) => n.f)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(numbered.map((n) => n.kind)).toEqual(["input", "scope", "scope", "scope", "scope", "scope"]);
  });

  it("draws parameters and the target as side inputs without f-numbers", () => {
    const side = picture.nodes.filter((n) => n.f === null);
    expect(side.map((n) => [n.kind, ...n.lines])).toEqual([
      ["param", "W_1", "[784, 30]"],
      ["param", "b_1", "[1, 30]"],
      ["param", "W_2", "[30, 10]"],
      ["param", "b_2", "[1, 10]"],
      ["const", "Y", "[8, 10]"],
    ]);
  });

  it("joins the boxes in a chain, with each side input pointing into its box", () => {
    expect(edgeNames(picture).sort()).toEqual(
      [
        "f_0 = X -> f_1",
        "W_1 -> f_1",
        "b_1 -> f_1",
        "f_1 -> f_2",
        "f_2 -> f_3",
        "W_2 -> f_3",
        "b_2 -> f_3",
        "f_3 -> f_4",
        "f_4 -> f_5",
        "Y -> f_5",
      ].sort(),
    );
    expect(picture.clusters).toEqual([]);
  });

  it("keeps every primitive of a box as a member, in creation order, and lists them in its detail", () => {
    const loss = picture.nodes.find((n) => n.lines[1] === "loss")!;
    expect(loss.members).toEqual([12, 13, 14]);
    expect(loss.detail).toBe("tape nodes 12 (sub), 13 (square), 14 (sum) -> float64 []");
    expect(picture.nodes.map((n) => n.detail).slice(0, 3)).toEqual([
      "tape node 0: leaf, no grad, float64 [8, 784]",
      "tape node 1: leaf, requires grad, float64 [784, 30]",
      "tape nodes 2 (matmul), 4 (add) -> float64 [8, 30]",
    ]);
    expect(graphPicture(articleNetworkTape()).nodes.find((n) => n.id === "n2")!.detail).toBe(
      "tape node 2: matmul in W_1·f_0 + b_1, float64 [8, 30]",
    );
  });

  it("prints DOT whose every edge joins declared nodes", () => {
    const dot = readDot(toDot(articleNetworkTape(), { collapseScopes: true }));
    expect(dot.labels.size).toBe(11);
    expect(dot.edges).toHaveLength(10);
    expect([...dot.labels.values()]).toContain("f_1\nW_1·f_0 + b_1\n[8, 30]");
    expect(dot.clusters.size).toBe(0);
  });

  it("matches the DOT snapshot", () => {
    expect(toDot(articleNetworkTape(), { collapseScopes: true })).toMatchInlineSnapshot(`
      "digraph tapegrad {
        graph [rankdir=LR, fontname="Helvetica", nodesep=0.25, ranksep=0.4];
        node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];
        edge [arrowsize=0.7, color="#4b5563"];
        n0 [label="f_0 = X\\ninput\\n[8, 784]", fillcolor="#dbeafe", color="#2563eb"];
        n1 [label="W_1\\n[784, 30]", fillcolor="#fef3c7", color="#b45309"];
        b0 [label="f_1\\nW_1·f_0 + b_1\\n[8, 30]", fillcolor="#ecfdf5", color="#047857"];
        n3 [label="b_1\\n[1, 30]", fillcolor="#fef3c7", color="#b45309"];
        b1 [label="f_2\\nsigmoid\\n[8, 30]", fillcolor="#ecfdf5", color="#047857"];
        n6 [label="W_2\\n[30, 10]", fillcolor="#fef3c7", color="#b45309"];
        b2 [label="f_3\\nW_2·f_2 + b_2\\n[8, 10]", fillcolor="#ecfdf5", color="#047857"];
        n8 [label="b_2\\n[1, 10]", fillcolor="#fef3c7", color="#b45309"];
        b3 [label="f_4\\nsigmoid\\n[8, 10]", fillcolor="#ecfdf5", color="#047857"];
        n11 [label="Y\\n[8, 10]", fillcolor="#f3f4f6", color="#6b7280"];
        b4 [label="f_5\\nloss\\n[]", fillcolor="#ecfdf5", color="#047857"];
        n0 -> b0;
        n1 -> b0;
        n3 -> b0;
        b0 -> b1;
        b1 -> b2;
        n6 -> b2;
        n8 -> b2;
        b2 -> b3;
        b3 -> b4;
        n11 -> b4;
      }
      "
    `);
  });

  it("matches the Mermaid snapshot", () => {
    expect(toMermaid(articleNetworkTape(), { collapseScopes: true })).toMatchInlineSnapshot(`
      "flowchart LR
        n0["f_0 = X<br/>input<br/>[8, 784]"]
        n1["W_1<br/>[784, 30]"]
        b0["f_1<br/>W_1·f_0 + b_1<br/>[8, 30]"]
        n3["b_1<br/>[1, 30]"]
        b1["f_2<br/>sigmoid<br/>[8, 30]"]
        n6["W_2<br/>[30, 10]"]
        b2["f_3<br/>W_2·f_2 + b_2<br/>[8, 10]"]
        n8["b_2<br/>[1, 10]"]
        b3["f_4<br/>sigmoid<br/>[8, 10]"]
        n11["Y<br/>[8, 10]"]
        b4["f_5<br/>loss<br/>[]"]
        n0 --> b0
        n1 --> b0
        n3 --> b0
        b0 --> b1
        b1 --> b2
        n6 --> b2
        n8 --> b2
        b2 --> b3
        b3 --> b4
        n11 --> b4
        classDef inputBox fill:#dbeafe,stroke:#2563eb
        class n0 inputBox
        classDef paramBox fill:#fef3c7,stroke:#b45309
        class n1,n3,n6,n8 paramBox
        classDef constBox fill:#f3f4f6,stroke:#6b7280
        class n11 constBox
        classDef scopeBox fill:#ecfdf5,stroke:#047857
        class b0,b1,b2,b3,b4 scopeBox
      "
    `);
  });
});

describe("the article's network, every primitive", () => {
  const nodes = articleNetworkTape();
  const picture = graphPicture(nodes);

  it("numbers the input f_0 and every primitive f_1 .. f_9 in creation order", () => {
    const numbered = picture.nodes.filter((n) => n.f !== null);
    expect(numbered.map((n) => n.lines[0])).toEqual(
      Array.from({ length: 10 }, (_, i) => (i === 0 ? "f_0 = X" : `f_${i}`)),
    );
    const ops = nodes.filter((n) => !n.leaf);
    expect(numbered.slice(1).map((n) => n.lines[1])).toEqual(ops.map((n) => n.op));
    expect(numbered.slice(1).map((n) => n.members[0])).toEqual(ops.map((n) => n.index));
  });

  it("has one edge per distinct tape input", () => {
    const expected = nodes.flatMap((n) => n.inputs.map((i) => `n${i} -> n${n.index}`));
    expect(picture.edges.map((e) => `${picture.nodes[e.from].id} -> ${picture.nodes[e.to].id}`)).toEqual(
      expected,
    );
  });

  it("puts each primitive in the cluster of its scope call", () => {
    expect(picture.clusters.map((c) => c.label)).toEqual([
      "W_1·f_0 + b_1",
      "sigmoid",
      "W_2·f_2 + b_2",
      "sigmoid",
      "loss",
    ]);
    const dot = readDot(toDot(nodes));
    expect([...dot.clusters.values()]).toEqual([
      ["n2", "n4"],
      ["n5"],
      ["n7", "n9"],
      ["n10"],
      ["n12", "n13", "n14"],
    ]);
    expect([...dot.clusterLabels.values()]).toEqual(picture.clusters.map((c) => c.label));
    expect(dot.edges).toHaveLength(14);
  });

  it("matches the DOT snapshot", () => {
    expect(toDot(nodes)).toMatchInlineSnapshot(`
      "digraph tapegrad {
        graph [rankdir=LR, fontname="Helvetica", nodesep=0.25, ranksep=0.4];
        node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];
        edge [arrowsize=0.7, color="#4b5563"];
        n0 [label="f_0 = X\\ninput\\n[8, 784]", fillcolor="#dbeafe", color="#2563eb"];
        n1 [label="W_1\\n[784, 30]", fillcolor="#fef3c7", color="#b45309"];
        n3 [label="b_1\\n[1, 30]", fillcolor="#fef3c7", color="#b45309"];
        n6 [label="W_2\\n[30, 10]", fillcolor="#fef3c7", color="#b45309"];
        n8 [label="b_2\\n[1, 10]", fillcolor="#fef3c7", color="#b45309"];
        n11 [label="Y\\n[8, 10]", fillcolor="#f3f4f6", color="#6b7280"];
        subgraph cluster_c0 {
          label="W_1·f_0 + b_1"; style="rounded,dashed,filled"; fillcolor="#f8fafc"; color="#94a3b8"; fontcolor="#475569"; fontsize=10;
          n2 [label="f_1\\nmatmul\\n[8, 30]", fillcolor="#ffffff", color="#374151"];
          n4 [label="f_2\\nadd\\n[8, 30]", fillcolor="#ffffff", color="#374151"];
        }
        subgraph cluster_c1 {
          label="sigmoid"; style="rounded,dashed,filled"; fillcolor="#f8fafc"; color="#94a3b8"; fontcolor="#475569"; fontsize=10;
          n5 [label="f_3\\nsigmoid\\n[8, 30]", fillcolor="#ffffff", color="#374151"];
        }
        subgraph cluster_c2 {
          label="W_2·f_2 + b_2"; style="rounded,dashed,filled"; fillcolor="#f8fafc"; color="#94a3b8"; fontcolor="#475569"; fontsize=10;
          n7 [label="f_4\\nmatmul\\n[8, 10]", fillcolor="#ffffff", color="#374151"];
          n9 [label="f_5\\nadd\\n[8, 10]", fillcolor="#ffffff", color="#374151"];
        }
        subgraph cluster_c3 {
          label="sigmoid"; style="rounded,dashed,filled"; fillcolor="#f8fafc"; color="#94a3b8"; fontcolor="#475569"; fontsize=10;
          n10 [label="f_6\\nsigmoid\\n[8, 10]", fillcolor="#ffffff", color="#374151"];
        }
        subgraph cluster_c4 {
          label="loss"; style="rounded,dashed,filled"; fillcolor="#f8fafc"; color="#94a3b8"; fontcolor="#475569"; fontsize=10;
          n12 [label="f_7\\nsub\\n[8, 10]", fillcolor="#ffffff", color="#374151"];
          n13 [label="f_8\\nsquare\\n[8, 10]", fillcolor="#ffffff", color="#374151"];
          n14 [label="f_9\\nsum\\n[]", fillcolor="#ffffff", color="#374151"];
        }
        n0 -> n2;
        n1 -> n2;
        n2 -> n4;
        n3 -> n4;
        n4 -> n5;
        n5 -> n7;
        n6 -> n7;
        n7 -> n9;
        n8 -> n9;
        n9 -> n10;
        n10 -> n12;
        n11 -> n12;
        n12 -> n13;
        n13 -> n14;
      }
      "
    `);
  });

  it("matches the Mermaid snapshot", () => {
    expect(toMermaid(nodes)).toMatchInlineSnapshot(`
      "flowchart LR
        n0["f_0 = X<br/>input<br/>[8, 784]"]
        n1["W_1<br/>[784, 30]"]
        n3["b_1<br/>[1, 30]"]
        n6["W_2<br/>[30, 10]"]
        n8["b_2<br/>[1, 10]"]
        n11["Y<br/>[8, 10]"]
        subgraph c0["W_1·f_0 + b_1"]
          n2["f_1<br/>matmul<br/>[8, 30]"]
          n4["f_2<br/>add<br/>[8, 30]"]
        end
        subgraph c1["sigmoid"]
          n5["f_3<br/>sigmoid<br/>[8, 30]"]
        end
        subgraph c2["W_2·f_2 + b_2"]
          n7["f_4<br/>matmul<br/>[8, 10]"]
          n9["f_5<br/>add<br/>[8, 10]"]
        end
        subgraph c3["sigmoid"]
          n10["f_6<br/>sigmoid<br/>[8, 10]"]
        end
        subgraph c4["loss"]
          n12["f_7<br/>sub<br/>[8, 10]"]
          n13["f_8<br/>square<br/>[8, 10]"]
          n14["f_9<br/>sum<br/>[]"]
        end
        n0 --> n2
        n1 --> n2
        n2 --> n4
        n3 --> n4
        n4 --> n5
        n5 --> n7
        n6 --> n7
        n7 --> n9
        n8 --> n9
        n9 --> n10
        n10 --> n12
        n11 --> n12
        n12 --> n13
        n13 --> n14
        classDef inputBox fill:#dbeafe,stroke:#2563eb
        class n0 inputBox
        classDef paramBox fill:#fef3c7,stroke:#b45309
        class n1,n3,n6,n8 paramBox
        classDef constBox fill:#f3f4f6,stroke:#6b7280
        class n11 constBox
        classDef opBox fill:#ffffff,stroke:#374151
        class n2,n4,n5,n7,n9,n10,n12,n13,n14 opBox
        classDef scopeCluster fill:#f8fafc,stroke:#94a3b8,stroke-dasharray:4 3
        class c0,c1,c2,c3,c4 scopeCluster
      "
    `);
  });
});

describe("labelling rules", () => {
  it("gives f-numbers to the data inputs of the first op, in argument order", () => {
    const nodes = tape([
      { op: "leaf", name: "A" },
      { op: "leaf", name: "B" },
      { op: "leaf", name: "P", grad: true },
      { op: "mul", inputs: [1, 2] },
      { op: "add", inputs: [3, 0] },
    ]);
    const p = graphPicture(nodes);
    expect(p.nodes.map((n) => n.lines[0])).toEqual(["f_0 = B", "A", "P", "f_1", "f_2"]);
    expect(p.nodes.map((n) => n.kind)).toEqual(["input", "const", "param", "op", "op"]);
  });

  it("labels unnamed side inputs param/const with their shape, even with shapes off", () => {
    const nodes = tape([
      { op: "leaf", grad: true, shape: [3] },
      { op: "leaf", grad: false, shape: [] },
      { op: "exp", inputs: [0], shape: [3] },
      { op: "mul", inputs: [2, 1], shape: [3] },
    ]);
    expect(graphPicture(nodes).nodes.map((n) => n.lines)).toEqual([
      ["param", "[3]"],
      ["const", "[]"],
      ["f_0", "exp", "[3]"],
      ["f_1", "mul", "[3]"],
    ]);
    expect(graphPicture(nodes, { showShapes: false }).nodes.map((n) => n.lines)).toEqual([
      ["param", "[3]"],
      ["const", "[]"],
      ["f_0", "exp"],
      ["f_1", "mul"],
    ]);
  });

  it("shows a tensor name on op nodes and on the output of a collapsed box", () => {
    const nodes = tape([
      { op: "leaf", name: "x" },
      { op: "exp", inputs: [0], scopes: [["s", 7]] },
      { op: "neg", inputs: [1], scopes: [["s", 7]], name: "y_hat" },
      { op: "sum", inputs: [2], shape: [], name: "L" },
    ]);
    expect(graphPicture(nodes, { collapseScopes: true }).nodes.map((n) => n.lines)).toEqual([
      ["f_0 = x", "input", "[2, 3]"],
      ["f_1 = y_hat", "s", "[2, 3]"],
      ["f_2 = L", "sum", "[]"],
    ]);
  });

  it("makes one box per scope call, even when two calls share a label, and nests only in the full picture", () => {
    const nodes = tape([
      { op: "leaf", name: "x" },
      { op: "tanh", inputs: [0], scopes: [["layer", 1]] },
      { op: "tanh", inputs: [1], scopes: [["layer", 2]] },
      {
        op: "exp",
        inputs: [2],
        scopes: [
          ["outer", 3],
          ["inner", 4],
        ],
      },
      { op: "log", inputs: [3], scopes: [["outer", 3]] },
      { op: "neg", inputs: [4] },
    ]);
    const collapsed = graphPicture(nodes, { collapseScopes: true });
    expect(
      collapsed.nodes.map((n) => n.lines[0] + (n.lines[1] === undefined ? "" : ` ${n.lines[1]}`)),
    ).toEqual(["f_0 = x input", "f_1 layer", "f_2 layer", "f_3 outer", "f_4 neg"]);
    expect(edgeNames(collapsed)).toEqual(["f_0 = x -> f_1", "f_1 -> f_2", "f_2 -> f_3", "f_3 -> f_4"]);

    const full = graphPicture(nodes);
    expect(full.clusters.map((c) => [c.label, c.parent, c.depth])).toEqual([
      ["layer", -1, 0],
      ["layer", -1, 0],
      ["outer", -1, 0],
      ["inner", 2, 1],
    ]);
    const dotText = toDot(nodes);
    const dot = readDot(dotText);
    expect([...dot.clusters.entries()]).toEqual([
      ["cluster_c0", ["n1"]],
      ["cluster_c1", ["n2"]],
      ["cluster_c2", ["n4"]],
      ["cluster_c3", ["n3"]],
    ]);
    // The inner cluster is printed inside the outer one.
    expect(dotText.indexOf("subgraph cluster_c3")).toBeGreaterThan(dotText.indexOf("subgraph cluster_c2"));
    expect(dotText.indexOf("subgraph cluster_c3")).toBeLessThan(dotText.lastIndexOf("  }\n  n0 -> n1;"));
    const mermaid = toMermaid(nodes);
    expect(mermaid).toContain(
      '  subgraph c2["outer"]\n    n4["f_4<br/>log<br/>[2, 3]"]\n    subgraph c3["inner"]\n',
    );
    expect(mermaid).toContain('      n3["f_3<br/>exp<br/>[2, 3]"]\n    end\n  end\n');
  });

  it("keeps an unnamed constant made and used inside one scope call inside that scope", () => {
    const loss: [string, number] = ["loss", 5];
    const nodes = tape([
      { op: "leaf", name: "x" },
      { op: "square", inputs: [0], scopes: [loss] },
      { op: "sum", inputs: [1], shape: [], scopes: [loss] },
      { op: "leaf", shape: [], scopes: [loss] }, // the divisor n, created inside the scope
      { op: "div", inputs: [2, 3], shape: [], scopes: [loss] },
      { op: "leaf", shape: [], scopes: [loss], name: "named" }, // named: stays a side input
      { op: "leaf", shape: [], scopes: [loss] }, // used outside the scope: stays a side input
      { op: "mul", inputs: [4, 5] },
      { op: "add", inputs: [7, 6] },
    ]);
    const collapsed = graphPicture(nodes, { collapseScopes: true });
    expect(collapsed.nodes.map((n) => n.lines)).toEqual([
      ["f_0 = x", "input", "[2, 3]"],
      ["f_1", "loss", "[]"],
      ["named", "[]"],
      ["const", "[]"],
      ["f_2", "mul", "[2, 3]"],
      ["f_3", "add", "[2, 3]"],
    ]);
    expect(collapsed.nodes[1].members).toEqual([1, 2, 3, 4]);
    expect(edgeNames(collapsed)).toEqual([
      "f_0 = x -> f_1",
      "f_1 -> f_2",
      "named -> f_2",
      "f_2 -> f_3",
      "const -> f_3",
    ]);

    const full = graphPicture(nodes);
    expect(full.nodes.filter((n) => n.cluster === 0).map((n) => n.id)).toEqual(["n1", "n2", "n3", "n4"]);
    expect([...readDot(toDot(nodes)).clusters.values()]).toEqual([["n1", "n2", "n3", "n4"]]);
  });

  it("treats number operands used inside one scope call as part of it, but not unnamed data made outside", () => {
    const outer: [string, number] = ["softmaxCrossEntropy", 1];
    const inner: [string, number] = ["logSoftmax", 2];
    const nodes = tape([
      { op: "leaf", name: "z" },
      { op: "leaf", shape: [] }, // a number operand, read first inside the inner scope
      { op: "sub", inputs: [0, 1], scopes: [outer, inner] },
      { op: "mul", inputs: [2, 1], scopes: [outer] }, // ... and again in the outer one
      { op: "leaf" }, // unnamed data, not scalar-sized: stays a side input
      { op: "mul", inputs: [3, 4], scopes: [outer] },
    ]);
    const collapsed = graphPicture(nodes, { collapseScopes: true });
    expect(collapsed.nodes.map((n) => n.lines[0])).toEqual(["f_0 = z", "f_1", "const"]);
    expect(collapsed.nodes[1].members).toEqual([1, 2, 3, 5]);
    expect(edgeNames(collapsed)).toEqual(["f_0 = z -> f_1", "const -> f_1"]);
    const full = graphPicture(nodes);
    expect(full.clusters.map((c) => c.label)).toEqual(["softmaxCrossEntropy", "logSoftmax"]);
    expect(full.nodes.map((n) => [n.id, n.cluster])).toEqual([
      ["n0", -1],
      ["n1", 0], // the common scope of its two uses
      ["n2", 1],
      ["n3", 0],
      ["n4", -1],
      ["n5", 0],
    ]);
  });

  it("draws an edge once even when an op uses the same input twice", () => {
    const nodes = tape([
      { op: "leaf", name: "x" },
      { op: "mul", inputs: [0, 0] },
    ]);
    expect(graphPicture(nodes).edges).toEqual([{ from: 0, to: 1 }]);
  });

  it("draws an empty tape as an empty graph", () => {
    expect(readDot(toDot([])).labels.size).toBe(0);
    expect(toMermaid([])).toBe("flowchart LR\n");
    expect(readXml(toSvg([])).name).toBe("svg");
  });
});

describe("formats", () => {
  it("starts Mermaid with flowchart LR, or TB when asked, after an optional title block", () => {
    const nodes = articleNetworkTape();
    expect(toMermaid(nodes).startsWith("flowchart LR\n")).toBe(true);
    expect(toMermaid(nodes, { rankdir: "TB" }).startsWith("flowchart TB\n")).toBe(true);
    expect(
      toMermaid(nodes, { title: 'The "net"' }).startsWith('---\ntitle: "The \\"net\\""\n---\nflowchart LR\n'),
    ).toBe(true);
  });

  it("passes rankdir and the title to DOT", () => {
    const dot = toDot(articleNetworkTape(), { rankdir: "TB", title: "Net" });
    expect(dot).toContain('graph [rankdir=TB, fontname="Helvetica", nodesep=0.25, ranksep=0.4, label="Net"');
  });

  it("escapes odd names in DOT so that they read back unchanged", () => {
    const odd = 'a"b\\c<d>&e #35; `f`\nnext';
    const nodes = tape([
      { op: "leaf", name: odd },
      { op: "exp", inputs: [0], scopes: [[odd, 1]] },
    ]);
    for (const collapseScopes of [false, true]) {
      const dot = readDot(toDot(nodes, { collapseScopes, title: odd }));
      expect(dot.labels.get("n0")).toBe(`f_0 = ${odd}\ninput\n[2, 3]`);
    }
    expect(readDot(toDot(nodes)).clusterLabels.get("cluster_c0")).toBe(odd);
  });

  it("escapes odd names in Mermaid with entity codes, never raw quotes or markup", () => {
    const odd = 'a"b[c]<d>&e #35; `f`';
    const nodes = tape([
      { op: "leaf", name: odd },
      { op: "exp", inputs: [0], scopes: [[odd, 1]] },
    ]);
    const text = toMermaid(nodes);
    const label = "a#quot;b[c]#lt;d#gt;#amp;e #35;35; #96;f#96;";
    expect(text).toContain(`n0["f_0 = ${label}<br/>input<br/>[2, 3]"]`);
    expect(text).toContain(`subgraph c0["${label}"]`);
    // Every label is one quoted string: two quotes per node line, none inside.
    for (const line of text.split("\n").filter((l) => l.includes('["'))) {
      expect(line.split('"')).toHaveLength(3);
    }
  });

  it("keeps · and _ as they are in every format", () => {
    const nodes = articleNetworkTape();
    for (const text of [toDot(nodes, { collapseScopes: true }), toMermaid(nodes, { collapseScopes: true })]) {
      expect(text).toContain("W_1·f_0 + b_1");
    }
    expect(toSvg(nodes, { collapseScopes: true })).toContain(">W_1·f_0 + b_1</text>");
  });

  it("is deterministic: the same tape gives byte-identical text", () => {
    for (const opts of [{}, { collapseScopes: true }, { rankdir: "TB" as const, title: "t" }]) {
      expect(toDot(articleNetworkTape(), opts)).toBe(toDot(structuredClone(articleNetworkTape()), opts));
      expect(toMermaid(articleNetworkTape(), opts)).toBe(
        toMermaid(structuredClone(articleNetworkTape()), opts),
      );
      expect(toSvg(articleNetworkTape(), opts)).toBe(toSvg(structuredClone(articleNetworkTape()), opts));
    }
  });
});

describe("malformed tapes", () => {
  const bad = (mutate: (nodes: TapeNode[]) => void): TapeNode[] => {
    const nodes = articleNetworkTape();
    mutate(nodes);
    return nodes;
  };

  it.each([
    [
      "an input index equal to the node's own",
      (n: TapeNode[]) => n[4].inputs.splice(1, 1, 4),
      /toDot: node 4 \(add\) has input index 4, expected an integer in \[0, 3\]/,
    ],
    [
      "a later input index",
      (n: TapeNode[]) => n[2].inputs.splice(0, 1, 9),
      /toDot: node 2 \(matmul\) has input index 9/,
    ],
    [
      "a negative input index",
      (n: TapeNode[]) => n[5].inputs.splice(0, 1, -1),
      /toDot: node 5 \(sigmoid\) has input index -1/,
    ],
    ["a fractional input index", (n: TapeNode[]) => n[5].inputs.splice(0, 1, 1.5), /input index 1.5/],
    [
      "an index that is not the position",
      (n: TapeNode[]) => (n[3].index = 7),
      /tape node at position 3 has index 7, expected 3/,
    ],
    [
      "a leaf with inputs",
      (n: TapeNode[]) => n[3].inputs.push(0),
      /leaf node 3 has inputs \[0\], expected none/,
    ],
    [
      "scope labels without ids",
      (n: TapeNode[]) => (n[2].scopeIds = []),
      /node 2 \(matmul\) has scope \[W_1·f_0 \+ b_1\] and scopeIds \[\]/,
    ],
  ])("rejects %s", (_what, mutate, message) => {
    const nodes = bad(mutate);
    expect(() => toDot(nodes)).toThrow(ValueError);
    expect(() => toDot(nodes)).toThrow(message);
    expect(() => toMermaid(nodes)).toThrow(/^toMermaid: /);
    expect(() => toSvg(nodes)).toThrow(/^toSvg: /);
  });

  it("rejects an unknown rankdir", () => {
    expect(() => toSvg(articleNetworkTape(), { rankdir: "RL" as "LR" })).toThrow(
      'toSvg: rankdir must be "LR" or "TB", got "RL"',
    );
  });
});
