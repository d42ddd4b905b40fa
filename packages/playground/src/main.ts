/// <reference lib="dom" />
import "./style.css";
import { downsample, extent, linePath, type Point, ticks } from "./charts.js";
import {
  ACTIVATIONS,
  checkConfig,
  DEFAULT_CONFIG,
  INITS,
  LOSSES,
  OPTIMIZERS,
  parseSizes,
  suggestedLr,
  type TrainConfig,
} from "./config.js";
import { heatmap, histogramChart, weightTiles } from "./draw.js";
import { mathToHtml, nodeFormula } from "./formulas.js";
import type { GraphModel, GraphNode } from "./graph-model.js";
import { grayFromRgba, SIDE, toMnist } from "./preprocess.js";
import type { Reply, Request, Snapshot } from "./protocol.js";
import { formatNumber, summarize } from "./stats.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: no element #${id}`);
  return el as T;
};

const VALUE_COLOUR = "#0f766e";
const COT_COLOUR = "#c2410c";
const STEP_ANIMATION_MS = 550;

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const send = (request: Request, transfer: Transferable[] = []) => worker.postMessage(request, transfer);

let graph: GraphModel | null = null;
let config: TrainConfig = DEFAULT_CONFIG;
let snapshot: Snapshot | null = null;
let selected: string | null = null;
let running = false;
let animating = false;
let trainLoss: Point[] = [];
let testLoss: Point[] = [];
let testAcc: Point[] = [];
let predictId = 0;

// ---------------------------------------------------------------- controls

const runButton = $<HTMLButtonElement>("run");
const stepButton = $<HTMLButtonElement>("step");
const resetButton = $<HTMLButtonElement>("reset");
const message = $("message");

function fillSelect(id: string, names: readonly string[], value: string): void {
  const select = $<HTMLSelectElement>(id);
  select.replaceChildren(
    ...names.map((n) => {
      const o = document.createElement("option");
      o.value = n;
      o.textContent = n;
      return o;
    }),
  );
  select.value = value;
}
fillSelect("activation", ACTIVATIONS, DEFAULT_CONFIG.activation);
fillSelect("loss", LOSSES, DEFAULT_CONFIG.loss);
fillSelect("optimizer", OPTIMIZERS, DEFAULT_CONFIG.optimizer);
fillSelect("init", INITS, DEFAULT_CONFIG.init);
$<HTMLSelectElement>("optimizer").addEventListener("change", (e) => {
  const name = (e.target as HTMLSelectElement).value as TrainConfig["optimizer"];
  $<HTMLInputElement>("lr").value = String(suggestedLr(name));
});

function readConfig(): TrainConfig | null {
  const error = $("config-error");
  try {
    const value = (id: string) => $<HTMLInputElement>(id).value;
    const c = checkConfig({
      sizes: parseSizes(value("sizes")),
      activation: value("activation"),
      loss: value("loss"),
      optimizer: value("optimizer"),
      lr: Number(value("lr")),
      batchSize: Number(value("batch-size")),
      init: value("init"),
      seed: Number(value("seed")),
    });
    error.hidden = true;
    return c;
  } catch (e) {
    error.textContent = e instanceof Error ? e.message : String(e);
    error.hidden = false;
    return null;
  }
}

function setRunning(on: boolean): void {
  running = on;
  runButton.textContent = on ? "Pause" : "Train";
  runButton.setAttribute("aria-pressed", String(on));
}

runButton.addEventListener("click", () => {
  if (running) send({ type: "pause" });
  else {
    stopAnimation();
    const epochs = Math.max(1, Math.floor(Number($<HTMLInputElement>("epochs").value) || 1));
    send({ type: "run", epochs });
  }
  setRunning(!running);
});
stepButton.addEventListener("click", () => {
  setRunning(false);
  send({ type: "step" });
});
$<HTMLFormElement>("config").addEventListener("submit", (e) => {
  e.preventDefault();
  resetButton.click();
});
resetButton.addEventListener("click", () => {
  const c = readConfig();
  if (!c) return;
  setRunning(false);
  stopAnimation();
  message.textContent = "Starting a new network…";
  send({ type: "reset", config: c });
});

// ---------------------------------------------------------------- graph

const graphEl = $("graph");
const cards = new Map<string, HTMLButtonElement>();
let edges: Array<{ from: string; to: string; path: SVGPathElement; kind: "chain" | "param" | "target" }> = [];
const SVG_NS = "http://www.w3.org/2000/svg";

function shapeText(shape: readonly number[]): string {
  return shape.length === 0 ? "scalar" : `[${shape.join(", ")}]`;
}

function makeCard(node: GraphNode): HTMLButtonElement {
  const card = document.createElement("button");
  card.type = "button";
  card.className = `card ${node.kind}`;
  card.dataset.node = node.id;
  card.setAttribute("aria-pressed", "false");
  const name = node.kind === "input" ? "f_0 = X" : node.label;
  card.setAttribute("aria-label", `${name.replace("_", " ")}: ${node.title}, shape ${shapeText(node.shape)}`);
  const heat = node.kind === "param" || node.kind === "input" || node.kind === "target";
  card.innerHTML = `
    <span class="name"><span class="label">${mathToHtml(node.kind === "input" ? "f_0" : node.label)}</span><span class="shape">${shapeText(node.shape)}</span></span>
    <span class="title">${mathToHtml(node.kind === "op" || node.kind === "loss" ? node.title : node.kind === "input" ? "X, the input batch" : node.kind === "target" ? "Y, one-hot labels" : node.kind === "param" && node.id.startsWith("W") ? "weights" : "biases")}</span>
    ${heat ? '<canvas class="heat" aria-hidden="true"></canvas>' : ""}
    <span class="row v" title="value: mean and norm"><span class="nums" data-part="v">–</span></span>
    ${heat && node.kind !== "param" ? "" : '<canvas data-hist="v" aria-hidden="true"></canvas>'}
    ${node.kind === "target" ? "" : '<span class="row c" title="cotangent ∂L/∂ (this node): mean and norm"><span class="nums" data-part="c">–</span></span><canvas data-hist="c" aria-hidden="true"></canvas>'}`;
  card.addEventListener("click", () => select(node.id));
  cards.set(node.id, card);
  return card;
}

function renderGraph(model: GraphModel): void {
  graph = model;
  cards.clear();
  graphEl.replaceChildren();
  const byId = new Map(model.nodes.map((n) => [n.id, n]));
  const columnOf = new Map(model.chain.map((id, c) => [id, c + 1]));
  graphEl.style.gridTemplateColumns = `repeat(${model.chain.length}, auto)`;
  graphEl.style.gridTemplateRows = "auto auto auto";
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.classList.add("edges");
  svg.setAttribute("aria-hidden", "true");
  graphEl.append(svg);
  for (const id of model.chain) {
    const card = makeCard(byId.get(id) as GraphNode);
    card.style.gridColumn = String(columnOf.get(id));
    card.style.gridRow = "2";
    graphEl.append(card);
  }
  edges = [];
  for (const id of model.chain) {
    const node = byId.get(id) as GraphNode;
    const column = columnOf.get(id) as number;
    // Parameters sit on the row above: the last one (b_l) over its consumer, the ones before (W_l) a column
    // to the left, so no column has to hold two cards.
    const params = node.inputs.map((i) => byId.get(i) as GraphNode).filter((n) => n.kind === "param");
    params.forEach((p, k) => {
      const card = makeCard(p);
      card.style.gridColumn = String(Math.max(1, column - (params.length - 1 - k)));
      card.style.gridRow = "1";
      graphEl.append(card);
    });
    for (const i of node.inputs) {
      const from = byId.get(i) as GraphNode;
      if (from.kind === "target") {
        const card = makeCard(from);
        card.style.gridColumn = String(columnOf.get(i) ?? column);
        card.style.gridRow = "3";
        graphEl.append(card);
      }
      const path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("marker-end", "url(#arrow)");
      svg.append(path);
      edges.push({
        from: i,
        to: id,
        path,
        kind: from.kind === "param" ? "param" : from.kind === "target" ? "target" : "chain",
      });
    }
  }
  svg.insertAdjacentHTML(
    "afterbegin",
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#94a3b8"/></marker></defs>',
  );
  requestAnimationFrame(layoutEdges);
  if (!selected || !cards.has(selected)) selected = model.chain[1] ?? null;
  markSelected();
}

function layoutEdges(): void {
  const box = graphEl.getBoundingClientRect();
  for (const e of edges) {
    const a = cards.get(e.from)?.getBoundingClientRect();
    const b = cards.get(e.to)?.getBoundingClientRect();
    if (!a || !b) continue;
    let d: string;
    if (e.kind === "chain") {
      const y1 = a.top + a.height / 2 - box.top;
      const y2 = b.top + b.height / 2 - box.top;
      d = `M${a.right - box.left} ${y1} L${b.left - box.left - 2} ${y2}`;
    } else if (e.kind === "param") {
      const x1 = a.left + a.width / 2 - box.left;
      const y1 = a.bottom - box.top;
      const x2 = b.left + b.width / 2 - box.left;
      const y2 = b.top - box.top - 2;
      d = `M${x1} ${y1} C${x1} ${(y1 + y2) / 2} ${x2} ${(y1 + y2) / 2} ${x2} ${y2}`;
    } else {
      const x = a.left + a.width / 2 - box.left;
      d = `M${x} ${a.top - box.top} L${b.left + b.width / 2 - box.left} ${b.bottom - box.top + 2}`;
    }
    e.path.setAttribute("d", d);
  }
}
new ResizeObserver(() => layoutEdges()).observe(graphEl);

function setStats(el: HTMLElement, values: ArrayLike<number>): void {
  const s = summarize(values);
  el.innerHTML = `<span>μ ${formatNumber(s.mean)}</span><span>‖·‖ ${formatNumber(s.norm)}</span>`;
}

function updateGraph(snap: Snapshot): void {
  for (const [id, card] of cards) {
    const t = snap.nodes[id];
    if (!t) continue;
    const v = card.querySelector<HTMLElement>('[data-part="v"]');
    if (v) setStats(v, t.value);
    const c = card.querySelector<HTMLElement>('[data-part="c"]');
    if (c && t.cotangent) setStats(c, t.cotangent);
    const shape = card.querySelector<HTMLElement>(".shape");
    if (shape) shape.textContent = shapeText(t.shape);
    // A histogram of one number says nothing: the loss card shows its value only.
    const hv = card.querySelector<HTMLCanvasElement>('canvas[data-hist="v"]');
    if (hv) hv.hidden = t.value.length === 1;
    if (hv && !hv.hidden) histogramChart(hv, t.value, VALUE_COLOUR);
    const hc = card.querySelector<HTMLCanvasElement>('canvas[data-hist="c"]');
    if (hc) hc.hidden = !t.cotangent || t.cotangent.length === 1;
    if (hc && t.cotangent && !hc.hidden) histogramChart(hc, t.cotangent, COT_COLOUR);
    const heat = card.querySelector<HTMLCanvasElement>("canvas.heat");
    if (heat) {
      const [rows, cols] = t.shape.length === 2 ? t.shape : [1, t.shape[0] ?? 1];
      // W is drawn units × inputs (transposed) so a wide card shows it; X and Y row by row.
      if (card.classList.contains("param"))
        heatmap(heat, transpose(t.value, rows, cols), cols, rows, "signed");
      else if (card.classList.contains("input")) digitStrip(heat, t.value, Math.min(rows, 4));
      else heatmap(heat, t.value, rows, cols, "signed", 1);
    }
  }
}

function transpose(v: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c];
  return out;
}

// ---------------------------------------------------------------- detail panel

function select(id: string): void {
  selected = id;
  markSelected();
  renderDetail();
}

function markSelected(): void {
  for (const [id, card] of cards) card.setAttribute("aria-pressed", String(id === selected));
}

function summaryBlock(title: string, cls: "v" | "c", values: ArrayLike<number>): string {
  const s = summarize(values);
  const row = (k: string, v: number) => `<dt>${k}</dt><dd>${formatNumber(v)}</dd>`;
  return `<div class="summary"><h3 class="${cls}">${mathToHtml(title)}</h3><dl>${row("mean", s.mean)}${row("std", s.std)}${row("min", s.min)}${row("max", s.max)}${row("norm", s.norm)}</dl><canvas class="hist" data-detail-hist="${cls}" aria-hidden="true"></canvas></div>`;
}

function renderDetail(): void {
  const body = $("detail-body");
  const node = graph?.nodes.find((n) => n.id === selected);
  if (!graph || !node) {
    body.innerHTML = '<p class="muted">Select a node in the graph.</p>';
    return;
  }
  const layers = config.sizes.length - 1;
  const formula = nodeFormula(node, layers, config.loss, config.activation);
  const t = snapshot?.nodes[node.id];
  const label = node.kind === "input" ? "f_0 = X" : node.label;
  $("detail-title").innerHTML = `Node ${mathToHtml(label)}`;
  const ops =
    node.ops.length > 0
      ? `tape: ${node.ops.join(", ")}`
      : node.kind === "param"
        ? "a parameter (leaf)"
        : "a leaf";
  body.innerHTML = `
    <div class="detail-head"><span class="label">${mathToHtml(label)}</span>${node.title === node.label || node.kind !== "op" ? "" : `<span>${mathToHtml(node.title)}</span>`}
      <span class="muted">${shapeText(t?.shape ?? node.shape)} float32</span></div>
    <div class="ops">${ops}</div>
    <div class="formula">
      <p class="def">${mathToHtml(formula.definition)}</p>
      <p class="delta">${mathToHtml(formula.delta)}</p>
      <p class="note">${mathToHtml(formula.note)}</p>
    </div>
    ${t ? `<div class="detail-grid">${summaryBlock("value", "v", t.value)}${t.cotangent ? summaryBlock(`∂L/∂${label.split(" ")[0]}`, "c", t.cotangent) : ""}</div>` : ""}
    <div class="heatmaps" id="detail-heat"></div>`;
  if (!t) return;
  const hv = body.querySelector<HTMLCanvasElement>('[data-detail-hist="v"]');
  if (hv) histogramChart(hv, t.value, VALUE_COLOUR, 40);
  const hc = body.querySelector<HTMLCanvasElement>('[data-detail-hist="c"]');
  if (hc && t.cotangent) histogramChart(hc, t.cotangent, COT_COLOUR, 40);
  const heat = $("detail-heat");
  if (t.shape.length === 2 && t.value.length > 1) {
    const [rows, cols] = t.shape;
    const add = (title: string, draw: (c: HTMLCanvasElement) => void) => {
      const h = document.createElement("h3");
      h.innerHTML = mathToHtml(title);
      const c = document.createElement("canvas");
      c.setAttribute("role", "img");
      c.setAttribute("aria-label", title);
      draw(c);
      heat.append(h, c);
    };
    if (node.kind === "param" && rows === 784) {
      add(`${node.id}: each unit's 784 incoming weights as a 28×28 image (blue −, red +)`, (c) =>
        weightTiles(c, t.value, rows, cols),
      );
    } else if (node.kind === "input") {
      add("the batch, one 28×28 digit per row", (c) => digitStrip(c, t.value, rows));
    } else {
      add(`${node.id === "Y" ? "Y" : label} as a heat-map, ${rows} × ${cols}`, (c) =>
        heatmap(c, t.value, rows, cols, "signed"),
      );
      if (t.cotangent && t.cotangent.length === rows * cols)
        add(`∂L/∂${label.split(" ")[0]}, ${rows} × ${cols}`, (c) =>
          heatmap(c, t.cotangent as Float32Array, rows, cols, "signed"),
        );
    }
    for (const c of heat.querySelectorAll("canvas")) {
      // Whole pixels per cell, the map at most ~560 px wide and 200 px high; narrower screens shrink it.
      const cell = Math.max(1, Math.min(14, Math.floor(600 / c.width), Math.floor(200 / c.height)));
      c.style.width = `${c.width * cell}px`;
      c.style.aspectRatio = `${c.width} / ${c.height}`;
      c.style.height = "auto";
    }
  }
}

function digitStrip(canvas: HTMLCanvasElement, x: ArrayLike<number>, count: number): void {
  const n = Math.min(count, 10);
  const values = new Float32Array(SIDE * (SIDE * n + n - 1));
  const width = SIDE * n + n - 1;
  for (let k = 0; k < n; k++)
    for (let p = 0; p < SIDE * SIDE; p++)
      values[Math.floor(p / SIDE) * width + k * (SIDE + 1) + (p % SIDE)] = x[k * 784 + p];
  heatmap(canvas, values, SIDE, width, "ink");
}

// ---------------------------------------------------------------- backward animation

let animationTimer: ReturnType<typeof setTimeout> | null = null;
const caption = $("backward-caption");

function stopAnimation(): void {
  if (animationTimer !== null) clearTimeout(animationTimer);
  animationTimer = null;
  animating = false;
  for (const card of cards.values()) card.classList.remove("active", "visited", "pending");
  for (const e of edges) e.path.classList.remove("hot");
}

function animateBackward(order: readonly string[]): void {
  stopAnimation();
  if (!graph) return;
  animating = true;
  for (const card of cards.values()) if (!card.classList.contains("target")) card.classList.add("pending");
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  let k = 0;
  const next = () => {
    for (const card of cards.values()) card.classList.remove("active");
    if (k >= order.length) {
      animating = false;
      caption.innerHTML = mathToHtml(
        "Backward pass done: every parameter has its gradient, and the optimiser has taken its step. Press Step again for the next batch.",
      );
      for (const card of cards.values()) card.classList.remove("pending", "visited");
      for (const e of edges) e.path.classList.remove("hot");
      animationTimer = null;
      return;
    }
    const id = order[k++];
    const card = cards.get(id);
    card?.classList.add("active", "visited");
    card?.classList.remove("pending");
    for (const e of edges) if (e.to === id) e.path.classList.add("hot");
    const node = nodes.get(id);
    if (node) {
      const f = nodeFormula(node, config.sizes.length - 1, config.loss, config.activation);
      caption.innerHTML = `<b>backward ${k}/${order.length}:</b> ${mathToHtml(f.delta)}`;
      select(id);
    }
    animationTimer = setTimeout(next, STEP_ANIMATION_MS);
  };
  next();
}

// ---------------------------------------------------------------- tape vs deltas

function renderComparison(snap: Snapshot): void {
  const rows = snap.comparison
    .map(
      (c) =>
        `<tr><th scope="row">${mathToHtml(`∂L/∂${c.name}`)}</th><td>${formatNumber(c.relDiff)}</td><td>${formatNumber(c.maxAbsDiff)}</td></tr>`,
    )
    .join("");
  $("compare-rows").innerHTML = rows;
  const worst = Math.max(...snap.comparison.map((c) => c.relDiff));
  const out = $("tape-diff");
  out.textContent = formatNumber(worst);
  out.dataset.value = String(worst);
  out.className = worst < 1e-4 ? "ok" : "bad";
  out.title = worst < 1e-4 ? "agree to float32 precision" : "larger than expected for float32";
}

// ---------------------------------------------------------------- charts

function chart(
  svgId: string,
  input: Array<{ points: Point[]; cls: string; dots?: boolean }>,
  yFixed?: [number, number],
  axis: "percent" | "log" = "log",
): void {
  const svg = $(svgId) as unknown as SVGSVGElement;
  const box = { left: 38, top: 8, width: 312, height: 136 };
  // Losses fall over orders of magnitude: plot log10 so the later epochs are not a flat line.
  const series =
    axis === "log"
      ? input.map((s) => ({
          ...s,
          points: s.points.filter((p) => p.y > 0).map((p) => ({ x: p.x, y: Math.log10(p.y) })),
        }))
      : input;
  const percent = axis === "percent";
  const all = series.flatMap((s) => s.points);
  const xr: [number, number] = [0, Math.max(1, ...all.map((p) => p.x))];
  const yr = yFixed ?? extent(all.map((p) => p.y));
  const xt = ticks(xr[0], xr[1], 5);
  const yt = axis === "log" ? logTicks(yr) : ticks(yr[0], yr[1], 4);
  const sx = (x: number) => box.left + ((x - xr[0]) / (xr[1] - xr[0])) * box.width;
  const sy = (y: number) => box.top + box.height - ((y - yr[0]) / (yr[1] - yr[0])) * box.height;
  let html = "";
  for (const y of yt) {
    if (y < yr[0] || y > yr[1]) continue;
    html += `<line class="grid" x1="${box.left}" x2="${box.left + box.width}" y1="${sy(y)}" y2="${sy(y)}"/><text x="${box.left - 4}" y="${sy(y) + 3}" text-anchor="end">${percent ? `${Math.round(y * 100)}%` : formatNumber(axis === "log" ? 10 ** y : y)}</text>`;
  }
  for (const x of xt)
    html += `<text x="${sx(x)}" y="${box.top + box.height + 14}" text-anchor="middle">${formatNumber(x)}</text>`;
  html += `<text x="${box.left + box.width}" y="${box.top + box.height + 26}" text-anchor="end">epochs</text>`;
  html += `<line class="axis" x1="${box.left}" x2="${box.left + box.width}" y1="${box.top + box.height}" y2="${box.top + box.height}"/>`;
  for (const s of series) {
    html += `<path class="${s.cls}" d="${linePath(downsample(s.points, 400), xr, yr, box)}"/>`;
    if (s.dots)
      for (const p of s.points) html += `<circle class="${s.cls}" cx="${sx(p.x)}" cy="${sy(p.y)}" r="2.2"/>`;
  }
  svg.innerHTML = html;
}

/** Whole powers of ten in the (log10) range, or ordinary ticks on the exponent when there are fewer than two. */
function logTicks(range: [number, number]): number[] {
  const out: number[] = [];
  for (let k = Math.ceil(range[0]); k <= Math.floor(range[1]); k++) out.push(k);
  return out.length >= 2 ? out : ticks(range[0], range[1], 3);
}

function renderCharts(): void {
  chart("loss-chart", [
    { points: trainLoss, cls: "train" },
    { points: testLoss, cls: "test" },
  ]);
  const lo = Math.min(0.5, ...testAcc.map((p) => p.y));
  chart(
    "acc-chart",
    [{ points: testAcc, cls: "acc", dots: testAcc.length < 40 }],
    [Math.floor(lo * 10) / 10, 1],
    "percent",
  );
}

// ---------------------------------------------------------------- drawing pad

const pad = $<HTMLCanvasElement>("pad");
const padCtx = pad.getContext("2d", { willReadFrequently: true }) as CanvasRenderingContext2D;
function clearPad(): void {
  padCtx.fillStyle = "#000";
  padCtx.fillRect(0, 0, pad.width, pad.height);
  $("prediction").textContent = "–";
  $("prediction").dataset.value = "";
  $("prob-bars").replaceChildren();
  $("draw-hint").hidden = false;
  for (const id of ["input28", "saliency"]) {
    const c = $<HTMLCanvasElement>(id);
    c.getContext("2d")?.clearRect(0, 0, c.width, c.height);
  }
}
clearPad();
let drawing = false;
let last: { x: number; y: number } | null = null;
function padPoint(e: PointerEvent): { x: number; y: number } {
  const r = pad.getBoundingClientRect();
  return {
    x: ((e.clientX - r.left) / r.width) * pad.width,
    y: ((e.clientY - r.top) / r.height) * pad.height,
  };
}
let sampleShown = false;
pad.addEventListener("pointerdown", (e) => {
  if (sampleShown) clearPad(); // a drawing starts on a clean pad, not over a test digit
  sampleShown = false;
  drawing = true;
  pad.setPointerCapture(e.pointerId);
  last = padPoint(e);
  stroke(last, last);
});
pad.addEventListener("pointermove", (e) => {
  if (!drawing || !last) return;
  const p = padPoint(e);
  stroke(last, p);
  last = p;
});
const endStroke = () => {
  if (!drawing) return;
  drawing = false;
  last = null;
  predict();
};
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
function stroke(a: { x: number; y: number }, b: { x: number; y: number }): void {
  padCtx.strokeStyle = "#fff";
  padCtx.lineWidth = 20;
  padCtx.lineCap = "round";
  padCtx.lineJoin = "round";
  padCtx.beginPath();
  padCtx.moveTo(a.x, a.y);
  padCtx.lineTo(b.x, b.y);
  padCtx.stroke();
}
$("clear").addEventListener("click", clearPad);
$("sample").addEventListener("click", () => send({ type: "sample" }));

/** Paints a 28×28 test digit, scaled up and smoothed, on the pad and asks for its prediction. */
function showSample(pixels: Float32Array, label: number, index: number): void {
  const small = document.createElement("canvas");
  heatmap(
    small,
    pixels.map((v) => 1 - v),
    SIDE,
    SIDE,
    "ink",
  ); // ink() draws 1 as black: invert for light-on-dark
  clearPad();
  padCtx.imageSmoothingEnabled = true;
  padCtx.drawImage(small, 0, 0, pad.width, pad.height);
  pad.setAttribute("aria-label", `Drawing area, showing test digit ${index}, labelled ${label}`);
  sampleShown = true;
  predict();
}

let lastDrawing: Float32Array | null = null;
function predict(): void {
  const img = padCtx.getImageData(0, 0, pad.width, pad.height);
  const x = toMnist(grayFromRgba(img.data, pad.width, pad.height));
  lastDrawing = x;
  if (!x) return;
  heatmap($<HTMLCanvasElement>("input28"), x, SIDE, SIDE, "ink");
  send({ type: "predict", id: ++predictId, pixels: Float32Array.from(x) });
}

function renderPrediction(p: {
  id: number;
  probs: number[];
  predicted: number;
  saliency: Float32Array;
}): void {
  if (p.id !== predictId) return;
  const out = $("prediction");
  $("draw-hint").hidden = true;
  out.textContent = String(p.predicted);
  out.dataset.value = String(p.predicted);
  $("prob-bars").replaceChildren(
    ...p.probs.map((q, k) => {
      const li = document.createElement("li");
      if (k === p.predicted) li.className = "top";
      li.setAttribute("aria-label", `${k}: ${(100 * q).toFixed(1)}%`);
      li.innerHTML = `<span>${k}</span><span class="bar"><span style="width:${(100 * q).toFixed(1)}%"></span></span><span>${(100 * q).toFixed(1)}%</span>`;
      return li;
    }),
  );
  heatmap($<HTMLCanvasElement>("saliency"), p.saliency, SIDE, SIDE, "signed");
  $("saliency-caption").innerHTML = `saliency ∂ŷ<sub>${p.predicted}</sub>/∂x (red raises ${p.predicted})`;
}

// ---------------------------------------------------------------- messages from the worker

function pct(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

worker.onmessage = (event: MessageEvent<Reply>) => {
  const reply = event.data;
  switch (reply.type) {
    case "ready":
      config = reply.config;
      trainLoss = [];
      testLoss = [];
      testAcc = [];
      renderGraph(reply.graph);
      for (const b of [runButton, stepButton, resetButton, $<HTMLButtonElement>("sample")])
        b.disabled = false;
      $("epochs-done").textContent = "0";
      $("epochs-done").dataset.value = "0";
      $("epoch-seconds").textContent = "–";
      message.textContent = `${reply.trainCount.toLocaleString("en")} training and ${reply.testCount.toLocaleString("en")} test digits loaded. [${reply.config.sizes.join("-")}] ${reply.config.activation}, ${reply.config.loss} loss, ${reply.config.optimizer} lr ${reply.config.lr}, batch ${reply.config.batchSize}.`;
      return;
    case "snapshot":
      snapshot = reply.snapshot;
      updateGraph(reply.snapshot);
      renderComparison(reply.snapshot);
      if (reply.snapshot.backwardOrder) animateBackward(reply.snapshot.backwardOrder);
      else if (!animating) renderDetail();
      return;
    case "progress": {
      const p = reply.progress;
      const x = p.epoch + p.batch / p.batchesPerEpoch;
      if (Number.isFinite(p.loss)) trainLoss.push({ x, y: p.loss });
      if (!p.running && running) setRunning(false);
      $("batch").textContent = `${p.batch} / ${p.batchesPerEpoch}`;
      $("train-loss").textContent = formatNumber(p.loss);
      $<HTMLProgressElement>("epoch-progress").value = p.batch / p.batchesPerEpoch;
      renderCharts();
      return;
    }
    case "evaluation": {
      const e = reply.evaluation;
      testLoss.push({ x: e.epochs, y: e.testLoss });
      testAcc.push({ x: e.epochs, y: e.testAccuracy });
      const out = $("test-accuracy");
      out.textContent = pct(e.testAccuracy);
      out.dataset.value = String(e.testAccuracy);
      renderCharts();
      if (lastDrawing) predict();
      return;
    }
    case "epoch": {
      const d = reply.done;
      $("epochs-done").textContent = String(d.epoch);
      $("epochs-done").dataset.value = String(d.epoch);
      const s = $("epoch-seconds");
      s.textContent = `${d.seconds.toFixed(2)} s`;
      s.dataset.value = String(d.seconds);
      const products = d.kernels.wasm + d.kernels.js;
      const share = products > 0 ? d.kernels.wasm / products : 0;
      const k = $("kernels");
      k.textContent = `WASM SIMD ${Math.round(100 * share)}%${d.kernels.fusedMultiplyAdd ? " · FMA" : ""}`;
      k.dataset.value = String(share);
      k.dataset.fma = String(d.kernels.fusedMultiplyAdd);
      k.title = `${d.kernels.wasm} of ${products} matrix products ran in the WebAssembly SIMD kernels, the others (the smallest) in plain JS${d.kernels.fusedMultiplyAdd ? "; the SIMD products use fused multiply-adds (relaxed SIMD)" : ""}`;
      s.title = `${d.seconds.toFixed(2)} s in training steps, ${d.wallSeconds.toFixed(2)} s wall time with the live views`;
      message.textContent = `Epoch ${d.epoch}: test accuracy ${pct(d.testAccuracy)}, ${d.seconds.toFixed(2)} s of training (${d.wallSeconds.toFixed(2)} s with the live views).`;
      return;
    }
    case "prediction":
      renderPrediction(reply.prediction);
      return;
    case "sample":
      showSample(reply.pixels, reply.label, reply.index);
      return;
    case "error":
      setRunning(false);
      message.textContent = `Error: ${reply.message}`;
      message.classList.add("error");
      console.error(`playground worker: ${reply.message}`);
      return;
  }
};
worker.onerror = (e) => {
  message.textContent = `The training worker failed: ${e.message}`;
};

send({ type: "init", dataUrl: new URL("digits.bin", document.baseURI).href, config: DEFAULT_CONFIG });
