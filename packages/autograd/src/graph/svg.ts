// A standalone SVG picture of the f_i graph with our own layered layout: no Graphviz, no DOM, no fonts to load.
import type { GraphOptions, TapeNode } from "../graph.js";
import { xmlText } from "./escape.js";
import { type Box, layeredLayout, type Point } from "./layout.js";
import { type GraphPicture, graphPicture } from "./picture.js";
import { BOX_STYLES, CLUSTER_STYLE, EDGE_COLOR } from "./style.js";

// Monospace text has a known advance (0.6 em), so boxes can be sized without measuring fonts.
const FONT_SIZE = 12;
const LINE_HEIGHT = 16;
const PAD_X = 12;
const PAD_Y = 7;
const MIN_WIDTH = 48;
const MARGIN = 16;
const CLUSTER_PAD = 10;
const CLUSTER_LABEL = 18;
const TITLE_HEIGHT = 30;
const FONT_FAMILY = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace";

export function toSvg(nodes: readonly TapeNode[], opts: GraphOptions = {}): string {
  return pictureToSvg(graphPicture(nodes, opts, "toSvg"));
}

/** Width of a line in the monospace font, counting code points (so "·" is one character). */
function textWidth(text: string, fontSize = FONT_SIZE): number {
  let chars = 0;
  for (const _ of text) chars++;
  return chars * fontSize * 0.6;
}

/** Coordinates rounded to 0.1 px: short, stable output (and never "-0"). */
function num(v: number): string {
  const r = Math.round(v * 10) / 10;
  return r === 0 ? "0" : String(r);
}

export function pictureToSvg(picture: GraphPicture): string {
  const sizes = picture.nodes.map((node) => ({
    width: Math.max(MIN_WIDTH, Math.max(...node.lines.map((l) => textWidth(l))) + 2 * PAD_X),
    height: node.lines.length * LINE_HEIGHT + 2 * PAD_Y,
  }));
  const layout = layeredLayout({
    sizes,
    edges: picture.edges,
    side: picture.nodes.map((node) => node.kind === "param" || node.kind === "const"),
    rankdir: picture.rankdir,
  });

  // Scope rectangles: the bounding box of their nodes and inner scopes, children (created later) first.
  const clusterBoxes: (Box | null)[] = picture.clusters.map(() => null);
  const union = (a: Box | null, b: Box): Box => {
    if (a === null) return { ...b };
    const x = Math.min(a.x, b.x);
    const y = Math.min(a.y, b.y);
    return {
      x,
      y,
      width: Math.max(a.x + a.width, b.x + b.width) - x,
      height: Math.max(a.y + a.height, b.y + b.height) - y,
    };
  };
  picture.nodes.forEach((node, i) => {
    if (node.cluster >= 0) clusterBoxes[node.cluster] = union(clusterBoxes[node.cluster], layout.boxes[i]);
  });
  for (let c = picture.clusters.length - 1; c >= 0; c--) {
    const inner = clusterBoxes[c]!;
    const padded = {
      x: inner.x - CLUSTER_PAD,
      y: inner.y - CLUSTER_PAD - CLUSTER_LABEL,
      width: Math.max(
        inner.width + 2 * CLUSTER_PAD,
        textWidth(picture.clusters[c].label, 11) + 2 * CLUSTER_PAD,
      ),
      height: inner.height + 2 * CLUSTER_PAD + CLUSTER_LABEL,
    };
    clusterBoxes[c] = padded;
    const parent = picture.clusters[c].parent;
    if (parent >= 0) clusterBoxes[parent] = union(clusterBoxes[parent], padded);
  }

  let { minX, minY, maxX, maxY } = layout;
  for (const b of clusterBoxes) {
    minX = Math.min(minX, b!.x);
    minY = Math.min(minY, b!.y);
    maxX = Math.max(maxX, b!.x + b!.width);
    maxY = Math.max(maxY, b!.y + b!.height);
  }
  const title = picture.title !== undefined && picture.title !== "" ? picture.title : undefined;
  const titleHeight = title === undefined ? 0 : TITLE_HEIGHT;
  const contentWidth = Math.max(maxX - minX, title === undefined ? 0 : textWidth(title, 15));
  const width = Math.ceil(contentWidth + 2 * MARGIN);
  const height = Math.ceil(maxY - minY + 2 * MARGIN + titleHeight);
  const dx = MARGIN - minX;
  const dy = MARGIN + titleHeight - minY;
  const pt = (p: Point): string => `${num(p.x + dx)},${num(p.y + dy)}`;

  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" ` +
      `font-family="${xmlText(FONT_FAMILY)}" font-size="${FONT_SIZE}">`,
    `<title>${xmlText(title ?? "tapegrad graph")}</title>`,
    "<defs>",
    '<marker id="tapegrad-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" ' +
      'markerUnits="userSpaceOnUse" orient="auto">',
    `<path d="M0,1 L10,5 L0,9 z" fill="${EDGE_COLOR}"/>`,
    "</marker>",
    "</defs>",
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  if (title !== undefined) {
    out.push(
      `<text x="${num(width / 2)}" y="${num(MARGIN + 15)}" text-anchor="middle" font-size="15" ` +
        `font-weight="bold" fill="#111827">${xmlText(title)}</text>`,
    );
  }

  out.push('<g class="scopes">');
  picture.clusters.forEach((cluster, c) => {
    const b = clusterBoxes[c]!;
    out.push(
      `<g class="scope" id="${cluster.id}">` +
        `<rect x="${num(b.x + dx)}" y="${num(b.y + dy)}" width="${num(b.width)}" height="${num(b.height)}" rx="8" ` +
        `fill="${CLUSTER_STYLE.fill}" stroke="${CLUSTER_STYLE.stroke}" stroke-dasharray="4 3"/>` +
        `<text x="${num(b.x + dx + CLUSTER_PAD)}" y="${num(b.y + dy + 14)}" font-size="11" ` +
        `fill="${CLUSTER_STYLE.text}">${xmlText(cluster.label)}</text></g>`,
    );
  });
  out.push("</g>");

  out.push(`<g class="edges" fill="none" stroke="${EDGE_COLOR}" stroke-width="1.2">`);
  picture.edges.forEach((edge, k) => {
    const pieces = layout.paths[k];
    const d = [`M${pt(pieces[0].p0)}`, ...pieces.map((c) => `C${pt(c.c1)} ${pt(c.c2)} ${pt(c.p1)}`)].join(
      " ",
    );
    const from = picture.nodes[edge.from].id;
    const to = picture.nodes[edge.to].id;
    out.push(
      `<path class="edge" data-from="${from}" data-to="${to}" d="${d}" marker-end="url(#tapegrad-arrow)"/>`,
    );
  });
  out.push("</g>");

  out.push('<g class="nodes" text-anchor="middle">');
  picture.nodes.forEach((node, i) => {
    const b = layout.boxes[i];
    const style = BOX_STYLES[node.kind];
    const cx = num(b.x + dx + b.width / 2);
    const lines = node.lines.map((line, k) => {
      const weight = k === 0 ? ' font-weight="bold"' : "";
      const y = b.y + dy + PAD_Y + (k + 1) * LINE_HEIGHT - 4;
      return `<text x="${cx}" y="${num(y)}"${weight}>${xmlText(line)}</text>`;
    });
    out.push(
      `<g class="node ${node.kind}" id="${node.id}"><title>${xmlText(node.detail)}</title>` +
        `<rect x="${num(b.x + dx)}" y="${num(b.y + dy)}" width="${num(b.width)}" height="${num(b.height)}" rx="6" ` +
        `fill="${style.fill}" stroke="${style.stroke}"/>${lines.join("")}</g>`,
    );
  });
  out.push("</g>");
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
