import type * as Fs from "node:fs";
import { Tensor, ValueError } from "@tapegrad/autograd";
import { nodeBuiltin } from "../node-builtin.js";
import { allocFloat, type FloatDType } from "../util.js";

export interface CsvOptions {
  /** The target column: its header name, or its 0-based index (negative counts from the end). */
  target: string | number;
  /** Whether the first line holds column names (default: detected, true when it has a non-numeric cell). */
  header?: boolean;
  delimiter?: string;
  dtype?: FloatDType;
}

export interface CsvData {
  /** Features [rows, columns − 1]. */
  x: Tensor;
  /** Targets [rows, 1]. */
  y: Tensor;
  /** Names of the feature columns, in x's column order (column1, column2, ... without a header). */
  columns: string[];
  /** Name of the target column. */
  target: string;
}

function splitLine(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (line.startsWith(delimiter, i)) {
      cells.push(cell.trim());
      cell = "";
      i += delimiter.length - 1;
    } else cell += ch;
  }
  cells.push(cell.trim());
  return cells;
}

function parseNumber(cell: string): number {
  if (cell === "") return Number.NaN;
  const v = Number(cell);
  return Number.isFinite(v) ? v : Number.NaN;
}

/** Parses CSV text of numbers into features and a target column; `source` names it in errors. */
export function parseCsv(text: string, opts: CsvOptions, source = "csv"): CsvData {
  const delimiter = opts.delimiter ?? ",";
  const lines = text.split(/\r?\n/).map((l, i) => ({ line: i + 1, text: l }));
  const rows = lines.filter((l) => l.text.trim() !== "");
  if (rows.length === 0) throw new ValueError(`readCsv: ${source} is empty`);
  const first = splitLine(rows[0].text, delimiter);
  const header = opts.header ?? first.some((c) => Number.isNaN(parseNumber(c)));
  const names = header ? first : first.map((_, i) => `column${i + 1}`);
  const width = names.length;
  const body = header ? rows.slice(1) : rows;
  if (body.length === 0) throw new ValueError(`readCsv: ${source} has a header but no data rows`);

  let t: number;
  if (typeof opts.target === "number") {
    t = opts.target < 0 ? width + opts.target : opts.target;
    if (!Number.isInteger(t) || t < 0 || t >= width) {
      throw new ValueError(
        `readCsv: ${source}: target column ${opts.target} is outside the ${width} columns`,
      );
    }
  } else {
    t = names.indexOf(opts.target);
    if (t < 0) {
      throw new ValueError(
        `readCsv: ${source}: no column named "${opts.target}" (columns: ${names.join(", ")}${header ? "" : "; the file has no header"})`,
      );
    }
  }
  const dtype = opts.dtype ?? "float32";
  const x = allocFloat(dtype, body.length * (width - 1));
  const y = allocFloat(dtype, body.length);
  body.forEach((row, r) => {
    const cells = splitLine(row.text, delimiter);
    if (cells.length !== width) {
      throw new ValueError(`readCsv: ${source} line ${row.line}: ${cells.length} cells, expected ${width}`);
    }
    let k = r * (width - 1);
    for (let c = 0; c < width; c++) {
      const v = parseNumber(cells[c]);
      if (Number.isNaN(v)) {
        throw new ValueError(
          `readCsv: ${source} line ${row.line}, column ${c + 1} ("${names[c]}"): "${cells[c]}" is not a finite number`,
        );
      }
      if (c === t) y[r] = v;
      else x[k++] = v;
    }
  });
  return {
    x: new Tensor(x, [body.length, width - 1]),
    y: new Tensor(y, [body.length, 1]),
    columns: names.filter((_, c) => c !== t),
    target: names[t],
  };
}

/** Reads a CSV file of numbers (Node only): see parseCsv. */
export function readCsv(path: string, opts: CsvOptions): CsvData {
  const fs = nodeBuiltin<typeof Fs>("node:fs", "readCsv", "use parseCsv on the text instead");
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    throw new ValueError(`readCsv: cannot read ${path}: ${(e as Error).message}`);
  }
  return parseCsv(text, opts, path);
}
