import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lineChartSvg } from "../../packages/cli/src/charts/line-chart.js";
import { formatTick, niceTicks } from "../../packages/cli/src/charts/ticks.js";
import { inkOnBlack, SIDE, toMnistField } from "../../packages/cli/src/data/digit-image.js";
import { countArrayItems, parseNumberArray } from "../../packages/cli/src/data/parse-numbers.js";
import { seededPermutation } from "../../packages/cli/src/data/split-rng.js";
import { parseSchedule, parseSizes, scheduleFactor } from "../../packages/cli/src/options.js";
import { xmlRoot } from "./check-formats.js";

describe("flag parsing", () => {
  it("reads sizes and rejects zero, negative, fractional and missing sizes", () => {
    expect(parseSizes("784,30,10")).toEqual([784, 30, 10]);
    expect(parseSizes(" 4, 8 ,1")).toEqual([4, 8, 1]);
    for (const bad of ["784,0,10", "784", "784,,10", "784,-3,10", "784,2.5,10", "a,b", ""]) {
      expect(() => parseSizes(bad)).toThrow(/--sizes/);
    }
  });

  it("reads schedules and gives per-epoch factors", () => {
    expect(parseSchedule("none")).toEqual({ kind: "none" });
    const step = parseSchedule("step:10:0.5");
    expect([0, 9, 10, 25].map((e) => scheduleFactor(step, e, 30))).toEqual([1, 1, 0.5, 0.25]);
    expect(scheduleFactor(parseSchedule("exp:0.9"), 2, 30)).toBeCloseTo(0.81, 12);
    const cosine = parseSchedule("cosine");
    expect(scheduleFactor(cosine, 0, 30)).toBe(1);
    expect(scheduleFactor(cosine, 15, 30)).toBeCloseTo(0.5, 12);
    expect([0, 1, 2, 3].map((e) => scheduleFactor(parseSchedule("warmup:3"), e, 30))).toEqual([
      1 / 3,
      2 / 3,
      1,
      1,
    ]);
    for (const bad of ["step:0", "step:2.5", "exp:-1", "cosine:3", "linear", "warmup:x"]) {
      expect(() => parseSchedule(bad)).toThrow(/--schedule/);
    }
  });
});

describe("the digit-file parser", () => {
  it("reads any JSON number array exactly as JSON.parse does", () => {
    const number = fc.oneof(
      fc.integer({ min: 0, max: 1000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: -1e300, max: 1e300, noNaN: true, noDefaultInfinity: true }),
    );
    fc.assert(
      fc.property(
        fc.array(number, { minLength: 1, maxLength: 40 }),
        fc.constantFrom("", " ", "\n"),
        (values, space) => {
          const text = `{ "data": [${values.map((v) => JSON.stringify(v)).join(`,${space}`)}]}`;
          const bytes = new TextEncoder().encode(text);
          const out = new Float64Array(countArrayItems(bytes));
          expect(parseNumberArray(bytes, out, 0, "t")).toBe(values.length);
          expect(Array.from(out)).toEqual(JSON.parse(text).data);
        },
      ),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe("seeded permutations", () => {
  it("are permutations, fixed by the seed", () => {
    const p = seededPermutation(1000, 3);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(seededPermutation(1000, 3))).toEqual(Array.from(p));
    expect(Array.from(seededPermutation(1000, 4))).not.toEqual(Array.from(p));
  });
});

describe("chart axes", () => {
  it("nice ticks cover the data with steps of 1, 2 or 5 times a power of ten", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
        (lo, spanDraw) => {
          // Spans far below the values' own precision (12 digits in tick labels) are not chart data.
          const span = Math.max(spanDraw, Math.abs(lo) * 1e-6);
          const ticks = niceTicks(lo, lo + span);
          const step = ticks[1] - ticks[0];
          // Covered up to a millionth of a step (the rounding that keeps 0.30000000000000004 from adding a tick).
          expect(ticks[0]).toBeLessThanOrEqual(lo + 1e-6 * step);
          expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(lo + span - 1e-6 * step);
          const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
          expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-4)).toBe(true);
          expect(ticks.length).toBeLessThanOrEqual(12);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
    expect(formatTick(0.30000000000000004, 0.1)).toBe("0.3");
  });

  it("draws a well-formed SVG with one polyline per series and skips missing values", () => {
    const svg = lineChartSvg({
      title: "Loss <& friends>",
      xLabel: "epoch",
      yLabel: "loss",
      series: [
        {
          name: "a",
          points: [
            [1, 0.5],
            [2, 0.25],
            [3, Number.NaN],
          ],
        },
        {
          name: "b",
          points: [
            [1, 0.6],
            [2, 0.3],
          ],
        },
        { name: "empty", points: [[1, Number.NaN]] },
      ],
    });
    expect(xmlRoot(svg)).toBe("svg");
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain("Loss &lt;&amp; friends&gt;");
    expect(svg).not.toContain("NaN");
  });
});

describe("pictures of digits into MNIST's 28x28 field", () => {
  it("inverts dark ink on light paper and keeps MNIST's white on black", () => {
    const paper = new Float64Array(10 * 10).fill(1);
    paper[55] = 0;
    expect(inkOnBlack(paper, 10, 10)[55]).toBe(1);
    const mnist = new Float64Array(10 * 10);
    mnist[55] = 1;
    expect(inkOnBlack(mnist, 10, 10)).toBe(mnist);
  });

  it("scales a large stroke into a 20-pixel box centred by its mass", () => {
    const w = 100;
    const h = 200;
    const ink = new Float64Array(w * h);
    for (let y = 20; y < 180; y++) for (let x = 40; x < 60; x++) ink[y * w + x] = 1; // a tall bar
    const field = toMnistField(ink, w, h);
    expect(field.length).toBe(SIDE * SIDE);
    let mass = 0;
    let cx = 0;
    let cy = 0;
    let top = SIDE;
    let bottom = -1;
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const v = field[y * SIDE + x];
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
        if (v > 0.5) {
          top = Math.min(top, y);
          bottom = Math.max(bottom, y);
        }
        mass += v;
        cx += v * x;
        cy += v * y;
      }
    }
    expect(bottom - top + 1).toBe(20);
    expect(Math.abs(cx / mass - 13.5)).toBeLessThanOrEqual(1);
    expect(Math.abs(cy / mass - 13.5)).toBeLessThanOrEqual(1);
  });

  it("takes a 28x28 picture as it is, and a blank one stays blank", () => {
    const field = new Float64Array(SIDE * SIDE).map((_, i) => (i % 7) / 7);
    expect(toMnistField(field, SIDE, SIDE)).toBe(field);
    expect(Math.max(...toMnistField(new Float64Array(50 * 40), 50, 40))).toBe(0);
  });
});

describe("the progress bar", () => {
  it("draws on a terminal and clears its line", async () => {
    const { ProgressBar } = await import("../../packages/cli/src/util/progress.js");
    let text = "";
    const write = (s: string) => {
      text += s;
      return true;
    };
    const tty = { isTTY: true, columns: 60, write };
    const bar = new ProgressBar(tty, 4);
    bar.update(4, "epoch 1/2", "loss 0.5000");
    expect(text.startsWith("\repoch 1/2 ████")).toBe(true);
    expect(text.endsWith(" 4/4  loss 0.5000\u001b[K")).toBe(true);
    bar.clear();
    expect(text.endsWith("\r\x1b[K")).toBe(true);
  });

  it("stays silent on a pipe", async () => {
    const { ProgressBar } = await import("../../packages/cli/src/util/progress.js");
    let text = "";
    const write = (s: string) => {
      text += s;
      return true;
    };
    const pipe = { isTTY: false, write };
    const bar = new ProgressBar(pipe, 4);
    bar.update(4, "epoch 1/2");
    bar.clear();
    expect(text).toBe("");
  });
});
