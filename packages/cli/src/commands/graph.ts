import { join } from "node:path";
import { randn, record, type Tape, tensor } from "@tapegrad/autograd";
import type { CliIO } from "../io.js";
import { line } from "../io.js";
import { buildNetwork, describeActivations } from "../model-spec.js";
import type { ActivationName, LossName } from "../options.js";
import { writeFileAtomic } from "../util/atomic.js";
import { UsageError } from "../util/errors.js";

export interface GraphFlags {
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
  if (flags.sizes.length > 12)
    throw new UsageError(`--sizes: ${flags.sizes.length - 1} layers is too many to draw (at most 11)`);
  const tape = recordArticleGraph(flags);
  const levels: Array<{ suffix: string; collapse: boolean; title: string }> = [];
  if (flags.level !== "full") levels.push({ suffix: "", collapse: true, title: "the article's f_i graph" });
  if (flags.level !== "article") levels.push({ suffix: "-full", collapse: false, title: "every primitive" });
  const written: string[] = [];
  for (const level of levels) {
    const opts = {
      collapseScopes: level.collapse,
      title: `[${flags.sizes.join(", ")}] ${describeActivations(flags)}, ${flags.loss} loss: ${level.title}`,
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
    `recorded ${tape.nodes.length} tape nodes for [${flags.sizes.join(", ")}] ${describeActivations(flags)} + ${flags.loss}`,
  );
  for (const path of written) line(io.stdout, `wrote ${path}`);
}
