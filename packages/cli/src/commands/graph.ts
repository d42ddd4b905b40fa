import { join } from "node:path";
import { randn, record, type Tape, tensor } from "@tapegrad/autograd";
import { buildCnn, describeLayers } from "../cnn.js";
import type { CliIO } from "../io.js";
import { line } from "../io.js";
import { buildNetwork, describeActivations, lossByName } from "../model-spec.js";
import type { ActivationName, LossName, ModelName } from "../options.js";
import { writeFileAtomic } from "../util/atomic.js";
import { UsageError } from "../util/errors.js";

export interface GraphFlags {
  /** mlp (default): the network of --sizes; cnn: the CNN of `train --model cnn` on 28x28 digits. */
  model?: ModelName;
  sizes: number[];
  activation: ActivationName;
  outputActivation?: ActivationName;
  loss: LossName;
  batchSize: number;
  out: string;
  name: string;
  level: "article" | "full" | "both";
  graphviz: boolean;
}

/** Records the loss of the article's network once and returns the tape (nodes f_0 ... f_n). */
export function recordArticleGraph(
  flags: Pick<GraphFlags, "sizes" | "activation" | "outputActivation" | "loss" | "batchSize">,
): Tape {
  const { sizes, batchSize } = flags;
  const net = buildNetwork({ ...flags, init: "normal", dtype: "float64", seed: 1 });
  const x = randn([batchSize, sizes[0]], { dtype: "float64", seed: 2 });
  x.name = "X";
  const out = sizes[sizes.length - 1];
  const targets = new Float64Array(batchSize * out);
  for (let r = 0; r < batchSize; r++) targets[r * out + (r % out)] = 1;
  const y = tensor(targets, { shape: [batchSize, out] });
  y.name = "Y";
  return record(() => net.evalLoss(x, y)).tape;
}

/**
 * Records the softmax cross-entropy loss of the CNN (in training mode, as `train --model cnn` runs it) on a
 * batch of random 28x28 images: one node per primitive, the convolutions and pools among them.
 */
export function recordCnnGraph(batchSize: number): { tape: Tape; summary: string } {
  const net = buildCnn({ rows: 28, cols: 28, classes: 10, dtype: "float64", seed: 1 });
  const x = randn([batchSize, 784], { dtype: "float64", seed: 2 });
  x.name = "X";
  const y = tensor(
    Int32Array.from({ length: batchSize }, (_, r) => r % 10),
    { shape: [batchSize] },
  );
  y.name = "Y";
  const loss = lossByName("softmaxCrossEntropy");
  const { tape } = record(() => loss.fn(net.forward(x), y));
  return { tape, summary: `cnn (${describeLayers(net.architecture())})` };
}

let vizPromise:
  | Promise<{ renderString(dot: string, opts: { format: string; engine?: string }): string }>
  | undefined;

/** Lays out DOT with Graphviz compiled to WebAssembly (@viz-js/viz); throws on DOT that Graphviz rejects. */
export async function layoutDot(dot: string): Promise<string> {
  vizPromise ??= import("@viz-js/viz").then((m) => m.instance());
  const viz = await vizPromise;
  return viz.renderString(dot, { format: "svg", engine: "dot" });
}

/** Graphviz's picture, or null when the wasm module cannot load here (autograd's own SVG is used then). */
async function graphvizSvg(dot: string): Promise<string | null> {
  try {
    return await layoutDot(dot);
  } catch {
    return null;
  }
}

export async function graphCommand(flags: GraphFlags, io: CliIO): Promise<void> {
  const cnn = flags.model === "cnn";
  if (flags.sizes.length > 12 && !cnn)
    throw new UsageError(`--sizes: ${flags.sizes.length - 1} layers is too many to draw (at most 11)`);
  const recorded = cnn ? recordCnnGraph(flags.batchSize) : undefined;
  const tape = recorded?.tape ?? recordArticleGraph(flags);
  const network =
    recorded?.summary ?? `[${flags.sizes.join(", ")}] ${describeActivations(flags)}, ${flags.loss} loss`;
  const levels: Array<{ suffix: string; collapse: boolean; title: string }> = [];
  // The CNN's layers record no f_i scopes: its graph is one node per primitive, written once.
  if (cnn) levels.push({ suffix: "", collapse: false, title: "every primitive" });
  else {
    if (flags.level !== "full") levels.push({ suffix: "", collapse: true, title: "the article's f_i graph" });
    if (flags.level !== "article")
      levels.push({ suffix: "-full", collapse: false, title: "every primitive" });
  }
  const written: string[] = [];
  for (const level of levels) {
    const opts = {
      collapseScopes: level.collapse,
      title: `${network}: ${level.title}`,
    };
    const dot = tape.toDot(opts);
    const svg = (flags.graphviz ? await graphvizSvg(dot) : null) ?? tape.toSvg(opts);
    const base = join(flags.out, `${flags.name}${level.suffix}`);
    await writeFileAtomic(`${base}.dot`, dot);
    await writeFileAtomic(`${base}.mmd`, tape.toMermaid(opts));
    await writeFileAtomic(`${base}.svg`, svg);
    written.push(`${base}.svg`, `${base}.dot`, `${base}.mmd`);
  }
  line(
    io.stdout,
    `recorded ${tape.nodes.length} tape nodes for ${recorded ? `${recorded.summary} + softmaxCrossEntropy` : `[${flags.sizes.join(", ")}] ${describeActivations(flags)} + ${flags.loss}`}`,
  );
  for (const path of written) line(io.stdout, `wrote ${path}`);
}
