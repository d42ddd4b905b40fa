import { Rng, Tensor, ValueError } from "@tapegrad/autograd";
import { allocFloat, type FloatDType } from "../util.js";

/**
 * `classes` interleaved spiral arms of n points each in the plane (the classic CS231n toy set):
 * x [n·classes, 2], y int32 class ids [n·classes]. Seeded angular noise (default 0.2).
 */
export function spiral(
  n: number,
  classes = 3,
  seed = 0,
  opts: { noise?: number; dtype?: FloatDType } = {},
): { x: Tensor; y: Tensor } {
  if (!Number.isInteger(n) || n < 2) throw new ValueError(`spiral: n must be an integer >= 2, got ${n}`);
  if (!Number.isInteger(classes) || classes < 1)
    throw new ValueError(`spiral: classes must be >= 1, got ${classes}`);
  const rng = new Rng(seed);
  const noise = opts.noise ?? 0.2;
  const x = allocFloat(opts.dtype ?? "float32", n * classes * 2);
  const y = new Int32Array(n * classes);
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < n; i++) {
      const row = c * n + i;
      const r = i / (n - 1);
      const theta = c * 4 + (4 * i) / (n - 1) + noise * rng.normal();
      x[2 * row] = r * Math.sin(theta);
      x[2 * row + 1] = r * Math.cos(theta);
      y[row] = c;
    }
  }
  return { x: new Tensor(x, [n * classes, 2]), y: new Tensor(y, [n * classes]) };
}

/**
 * XOR: rows cycle through the corners (0,0), (0,1), (1,0), (1,1) with targets 0, 1, 1, 0 as [n, 1];
 * optional seeded Gaussian noise on the inputs. Default: the four corners once.
 */
export function xor(opts: { n?: number; noise?: number; seed?: number; dtype?: FloatDType } = {}): {
  x: Tensor;
  y: Tensor;
} {
  const n = opts.n ?? 4;
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`xor: n must be a positive integer, got ${n}`);
  const noise = opts.noise ?? 0;
  const rng = new Rng(opts.seed ?? 0);
  const dtype = opts.dtype ?? "float32";
  const x = allocFloat(dtype, n * 2);
  const y = allocFloat(dtype, n);
  for (let i = 0; i < n; i++) {
    const a = (i >> 1) & 1;
    const b = i & 1;
    x[2 * i] = a + (noise > 0 ? noise * rng.normal() : 0);
    x[2 * i + 1] = b + (noise > 0 ? noise * rng.normal() : 0);
    y[i] = a ^ b;
  }
  return { x: new Tensor(x, [n, 2]), y: new Tensor(y, [n, 1]) };
}
