import { formatTick, niceTicks } from "./ticks.js";

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>; // [x, y]; non-finite y values are skipped
  color?: string;
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Show y values as percentages (values given as fractions 0..1). */
  percent?: boolean;
  /** Plot y on a log10 scale (losses spanning decades). */
  logY?: boolean;
  /** Where the legend goes: top right suits falling curves, bottom right rising ones. */
  legend?: "top-right" | "bottom-right";
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function fmt(n: number): string {
  return Number(n.toFixed(2)).toString();
}

/** A chart as an SVG group placed at (x, y): axes, grid, ticks, one polyline per series and a legend. */
export function chartGroup(options: ChartOptions, x = 0, y = 0): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const margin = { left: 70, right: 20, top: 40, bottom: 50 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const toY = (v: number) => (options.logY ? Math.log10(v) : v);
  const scale = options.percent ? 100 : 1;

  const finite: Array<[number, number]> = [];
  for (const s of options.series) {
    for (const [px, py] of s.points) {
      if (Number.isFinite(px) && Number.isFinite(py) && (!options.logY || py > 0))
        finite.push([px, toY(py * scale)]);
    }
  }
  const xs = finite.map((p) => p[0]);
  const ys = finite.map((p) => p[1]);
  const xTicks = niceTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, 6);
  const yTicks = niceTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1, 5);
  const x0 = xTicks[0];
  const x1 = xTicks[xTicks.length - 1];
  const y0 = yTicks[0];
  const y1 = yTicks[yTicks.length - 1];
  const sx = (v: number) => margin.left + ((v - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (v: number) => margin.top + plotH - ((v - y0) / (y1 - y0 || 1)) * plotH;
  const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : 1;
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;

  const parts: string[] = [];
  parts.push(`<g transform="translate(${x},${y})" font-family="${FONT}" font-size="12" fill="#222">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(
    `<text x="${fmt(width / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  for (const t of yTicks) {
    const py = fmt(sy(t));
    const label = options.logY
      ? formatTick(10 ** t, 10 ** t)
      : `${formatTick(t, yStep)}${options.percent ? "%" : ""}`;
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${py}" y2="${py}" stroke="#e5e5e5"/>`,
    );
    parts.push(
      `<text x="${margin.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${label}</text>`,
    );
  }
  for (const t of xTicks) {
    const px = fmt(sx(t));
    parts.push(
      `<line x1="${px}" x2="${px}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#f0f0f0"/>`,
    );
    parts.push(
      `<text x="${px}" y="${margin.top + plotH + 18}" text-anchor="middle">${formatTick(t, xStep)}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
  );
  parts.push(
    `<text x="${fmt(margin.left + plotW / 2)}" y="${height - 10}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
  );
  parts.push(
    `<text transform="translate(16,${fmt(margin.top + plotH / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(
      options.yLabel + (options.logY ? " (log scale)" : ""),
    )}</text>`,
  );

  const legend: string[] = [];
  const shown = options.series.filter((s) =>
    s.points.some(([px, py]) => Number.isFinite(px) && Number.isFinite(py)),
  );
  const longest = Math.max(0, ...shown.map((t) => t.name.length));
  const lx = margin.left + plotW - 44 - longest * 7;
  const legendTop =
    options.legend === "bottom-right" ? margin.top + plotH - 10 - shown.length * 18 : margin.top + 6;
  shown.forEach((s, k) => {
    const color = s.color ?? PALETTE[options.series.indexOf(s) % PALETTE.length];
    const coords = s.points
      .filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py) && (!options.logY || py > 0))
      .map(([px, py]) => `${fmt(sx(px))},${fmt(sy(toY(py * scale)))}`);
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"${dash} points="${coords.join(" ")}"/>`,
    );
    if (coords.length <= 60) {
      for (const c of coords) {
        const [cx, cy] = c.split(",");
        parts.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`);
      }
    }
    const ly = legendTop + 12 + k * 18;
    legend.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
    );
    legend.push(`<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  if (legend.length) {
    // A white card behind the legend keeps it readable where a curve runs underneath.
    parts.push(
      `<rect x="${lx - 8}" y="${legendTop}" width="${longest * 7 + 44}" height="${shown.length * 18 + 6}" fill="#ffffff" fill-opacity="0.85" stroke="#dddddd"/>`,
    );
    parts.push(...legend);
  }
  parts.push("</g>");
  return parts.join("\n");
}

function svgDocument(width: number, height: number, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${body}\n</svg>\n`;
}

/** One chart as a standalone SVG document. */
export function lineChartSvg(options: ChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  return svgDocument(width, height, chartGroup(options));
}

/** Several charts side by side in one SVG document. */
export function chartsSideBySide(charts: ChartOptions[]): string {
  let x = 0;
  let height = 0;
  const groups: string[] = [];
  for (const c of charts) {
    groups.push(chartGroup(c, x, 0));
    x += c.width ?? 640;
    height = Math.max(height, c.height ?? 400);
  }
  return svgDocument(x, height, groups.join("\n"));
}
