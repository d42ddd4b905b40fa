/**
 * Straightforward reference computations on flat float64 arrays, written independently of the
 * kernels (multi-index arithmetic per element, no odometers, no fast paths), for forward checks.
 */
export type Shape = readonly number[];

export function size(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function unravel(flat: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = flat % shape[d];
    flat = Math.floor(flat / shape[d]);
  }
  return idx;
}

export function ravel(idx: readonly number[], shape: Shape): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d] + idx[d];
  return flat;
}

export function broadcastShape(...shapes: Shape[]): number[] {
  const n = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - n + i] ?? 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

/** Value of `data` (shape `shape`) at output index `idx` of a larger broadcast shape. */
export function at(data: ArrayLike<number>, shape: Shape, idx: readonly number[]): number {
  const lead = idx.length - shape.length;
  const own = shape.map((d, i) => (d === 1 ? 0 : idx[lead + i]));
  return data[ravel(own, shape)];
}

export function mapN(
  f: (...v: number[]) => number,
  inputs: { data: ArrayLike<number>; shape: Shape }[],
): { data: number[]; shape: number[] } {
  const shape = broadcastShape(...inputs.map((x) => x.shape));
  const data: number[] = [];
  for (let i = 0; i < size(shape); i++) {
    const idx = unravel(i, shape);
    data.push(f(...inputs.map((x) => at(x.data, x.shape, idx))));
  }
  return { data, shape };
}

export function reduceRef(
  data: ArrayLike<number>,
  shape: Shape,
  axes: readonly number[],
  keepdims: boolean,
  combine: (values: number[]) => number,
): { data: number[]; shape: number[] } {
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const groups = new Map<number, number[]>();
  for (let i = 0; i < size(shape); i++) {
    const idx = unravel(i, shape);
    const key = ravel(
      idx.map((v, d) => (axes.includes(d) ? 0 : v)),
      keptShape,
    );
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(data[i]);
  }
  const out: number[] = [];
  for (let k = 0; k < size(keptShape); k++) out.push(combine(groups.get(k) ?? []));
  const outShape = keepdims ? keptShape : shape.filter((_, i) => !axes.includes(i));
  return { data: out, shape: outShape };
}

export function matmulRef(
  a: ArrayLike<number>,
  aShape: Shape,
  b: ArrayLike<number>,
  bShape: Shape,
): { data: number[]; shape: number[] } {
  const m = aShape[aShape.length - 2];
  const k = aShape[aShape.length - 1];
  const n = bShape[bShape.length - 1];
  const batch = broadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
  const shape = [...batch, m, n];
  const data: number[] = [];
  for (let flat = 0; flat < size(shape); flat++) {
    const idx = unravel(flat, shape);
    const bi = idx.slice(0, -2);
    const [i, j] = idx.slice(-2);
    let s = 0;
    for (let p = 0; p < k; p++) s += at(a, aShape, [...bi, i, p]) * at(b, bShape, [...bi, p, j]);
    data.push(s);
  }
  return { data, shape };
}

/** Max relative difference, with an absolute floor for values near zero. */
export function maxRelDiff(x: ArrayLike<number>, y: ArrayLike<number>, floor = 1e-12): number {
  if (x.length !== y.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i];
    const b = y[i];
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (a === b) continue;
    const d = Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), floor);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

export function erfRef(x: number): number {
  // Independent of the kernel: Kummer's series erf(x) = (2x/√π)·e^(−x²)·Σ (2x²)ⁿ/(1·3·…·(2n+1)), whose
  // terms are all positive (no cancellation; the alternating Taylor series used before lost up to 1e4 ulp
  // at |x| = 3). About 1e-14 relative error for |x| < 6; the kernel's own bound is tested against
  // mpmath data in issue9-erf.test.ts.
  if (Number.isNaN(x)) return x;
  if (Math.abs(x) >= 6) return Math.sign(x);
  const z = 2 * x * x;
  let term = 1;
  let sum = 1;
  for (let n = 1; n < 400 && term > 1e-18 * sum; n++) {
    term *= z / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * x * Math.exp(-x * x) * sum;
}

// ---- references for the ops added with custom architectures (issue 10) ----

type Ref = { data: number[]; shape: number[] };

/** Positions (flat indices) of every line along `axis`, each in axis order. */
export function linesAlong(shape: Shape, axis: number): number[][] {
  const lines = new Map<string, number[]>();
  for (let i = 0; i < size(shape); i++) {
    const idx = unravel(i, shape);
    idx[axis] = 0;
    const key = idx.join(",");
    if (!lines.has(key)) lines.set(key, []);
    lines.get(key)!.push(i); // flat order visits a line in increasing axis coordinate
  }
  return [...lines.values()];
}

/** Applies f to every line along `axis`, writing its results back at the same positions. */
export function mapLines(
  data: ArrayLike<number>,
  shape: Shape,
  axis: number,
  f: (values: number[]) => number[],
): Ref {
  const out = new Array<number>(size(shape)).fill(0);
  for (const line of linesAlong(shape, axis)) {
    const values = f(line.map((p) => data[p]));
    line.forEach((p, j) => {
      out[p] = values[j];
    });
  }
  return { data: out, shape: shape.slice() };
}

export function cumsumRef(data: ArrayLike<number>, shape: Shape, axis: number): Ref {
  return mapLines(data, shape, axis, (v) => v.map((_, j) => v.slice(0, j + 1).reduce((a, b) => a + b, 0)));
}

/** Sorted lines: NaN largest, ties keep their order (checked against torch.sort(stable=True)). */
export function sortRef(data: ArrayLike<number>, shape: Shape, axis: number, descending: boolean): Ref {
  return mapLines(data, shape, axis, (v) => {
    const order = v.map((_, i) => i);
    const key = (x: number) => (Number.isNaN(x) ? Number.POSITIVE_INFINITY : x);
    order.sort((a, b) => {
      const d = descending ? key(v[b]) - key(v[a]) : key(v[a]) - key(v[b]);
      return d !== 0 && !Number.isNaN(d) ? d : a - b;
    });
    return order.map((i) => v[i]);
  });
}

/** torch.gather: out[p] = x[p with its axis coordinate replaced by index[p]] (negative counts from the end). */
export function takeAlongRef(
  x: ArrayLike<number>,
  shape: Shape,
  index: ArrayLike<number>,
  indexShape: Shape,
  axis: number,
): Ref {
  const data: number[] = [];
  for (let p = 0; p < size(indexShape); p++) {
    const idx = unravel(p, indexShape);
    const j = index[p];
    idx[axis] = j < 0 ? j + shape[axis] : j;
    data.push(x[ravel(idx, shape)]);
  }
  return { data, shape: indexShape.slice() };
}

export function scatterAddAlongRef(
  src: ArrayLike<number>,
  index: ArrayLike<number>,
  indexShape: Shape,
  axis: number,
  shape: Shape,
): Ref {
  const data = new Array<number>(size(shape)).fill(0);
  for (let p = 0; p < size(indexShape); p++) {
    const idx = unravel(p, indexShape);
    const j = index[p];
    idx[axis] = j < 0 ? j + shape[axis] : j;
    data[ravel(idx, shape)] += src[p];
  }
  return { data, shape: shape.slice() };
}

/** out[idx] = x[source(idx)] for an output of shape `outShape`. */
export function remapRef(
  x: ArrayLike<number>,
  shape: Shape,
  outShape: Shape,
  source: (idx: number[]) => number[] | null,
): Ref {
  const data: number[] = [];
  for (let p = 0; p < size(outShape); p++) {
    const src = source(unravel(p, outShape));
    data.push(src === null ? 0 : x[ravel(src, shape)]);
  }
  return { data, shape: outShape.slice() };
}

/**
 * Einstein summation by brute force over every assignment of the labels (letters only, explicit
 * output): the definition, with no lowering.
 */
export function einsumRef(spec: string, ...xs: { data: ArrayLike<number>; shape: Shape }[]): Ref {
  const [lhs, rhs] = spec.split("->");
  const terms = lhs.split(",");
  const sizes = new Map<string, number>();
  terms.forEach((t, i) => {
    [...t].forEach((l, d) => {
      sizes.set(l, Math.max(sizes.get(l) ?? 1, xs[i].shape[d]));
    });
  });
  const labels = [...sizes.keys()];
  const outShape = [...rhs].map((l) => sizes.get(l) as number);
  const data = new Array<number>(size(outShape)).fill(0);
  const total = size(labels.map((l) => sizes.get(l) as number));
  for (let a = 0; a < total; a++) {
    const assign = unravel(
      a,
      labels.map((l) => sizes.get(l) as number),
    );
    const value = (l: string) => assign[labels.indexOf(l)];
    let prod = 1;
    terms.forEach((t, i) => {
      const idx = [...t].map((l, d) => (xs[i].shape[d] === 1 ? 0 : value(l)));
      prod *= xs[i].data[ravel(idx, xs[i].shape)];
    });
    data[ravel([...rhs].map(value), outShape)] += prod;
  }
  return { data, shape: outShape };
}

/** Sliding-window parameters of the naive references below (padding before and after per axis). */
export interface WindowRef {
  stride: [number, number];
  padding: [[number, number], [number, number]];
  dilation: [number, number];
}

/**
 * Direct 2-D cross-correlation, one output element at a time: x [N, C, H, W], w [O, C/groups, KH, KW],
 * optional bias [O]. The definition, summed in float64 with no im2col and no GEMM.
 */
export function conv2dRef(
  x: { data: ArrayLike<number>; shape: Shape },
  w: { data: ArrayLike<number>; shape: Shape },
  b: ArrayLike<number> | null,
  win: WindowRef,
  groups: number,
): { data: number[]; shape: number[] } {
  const [n, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  const { stride, padding, dilation } = win;
  const oh = Math.floor((h + padding[0][0] + padding[0][1] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
  const ow = Math.floor((wd + padding[1][0] + padding[1][1] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
  const og = o / groups;
  const shape = [n, o, oh, ow];
  const data: number[] = [];
  for (let i = 0; i < size(shape); i++) {
    const [bn, oc, y, xx] = unravel(i, shape);
    const group = Math.floor(oc / og);
    let acc = b === null ? 0 : b[oc];
    for (let ci = 0; ci < cg; ci++) {
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          const iy = y * stride[0] - padding[0][0] + ki * dilation[0];
          const ix = xx * stride[1] - padding[1][0] + kj * dilation[1];
          if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
          acc +=
            x.data[ravel([bn, group * cg + ci, iy, ix], [n, c, h, wd])] *
            w.data[ravel([oc, ci, ki, kj], w.shape)];
        }
      }
    }
    data.push(acc);
  }
  return { data, shape };
}

/**
 * Transposed convolution by its definition as a scatter: every input element adds x·w into the
 * output positions its kernel covers (x [N, C, H, W], w [C, O/groups, KH, KW]).
 */
export function convTranspose2dRef(
  x: { data: ArrayLike<number>; shape: Shape },
  w: { data: ArrayLike<number>; shape: Shape },
  b: ArrayLike<number> | null,
  stride: [number, number],
  padding: [number, number],
  outputPadding: [number, number],
  dilation: [number, number],
  groups: number,
): { data: number[]; shape: number[] } {
  const [n, c, h, wd] = x.shape;
  const [, og, kh, kw] = w.shape;
  const cg = c / groups;
  const o = og * groups;
  const oh = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + outputPadding[0] + 1;
  const ow = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + outputPadding[1] + 1;
  const shape = [n, o, oh, ow];
  const data = new Array<number>(size(shape)).fill(0);
  for (let i = 0; i < size(shape); i++) data[i] = b === null ? 0 : b[unravel(i, shape)[1]];
  for (let i = 0; i < size(x.shape); i++) {
    const [bn, ci, y, xx] = unravel(i, x.shape);
    const group = Math.floor(ci / cg);
    for (let oj = 0; oj < og; oj++) {
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          const oy = y * stride[0] - padding[0] + ki * dilation[0];
          const ox = xx * stride[1] - padding[1] + kj * dilation[1];
          if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
          data[ravel([bn, group * og + oj, oy, ox], shape)] +=
            x.data[i] * w.data[ravel([ci, oj, ki, kj], w.shape)];
        }
      }
    }
  }
  return { data, shape };
}

/**
 * Pooling by its definition: each output is `combine` over the window's in-bounds inputs, where
 * window (oy, ox) starts at oy·stride − pad (sizes given by the caller, so ceil mode is the caller's).
 */
export function poolRef(
  x: { data: ArrayLike<number>; shape: Shape },
  kernel: [number, number],
  stride: [number, number],
  pad: [number, number],
  dilation: [number, number],
  outSize: [number, number],
  combine: (values: number[], y: number, x: number) => number,
): { data: number[]; shape: number[] } {
  const [n, c, h, w] = x.shape;
  const shape = [n, c, outSize[0], outSize[1]];
  const data: number[] = [];
  for (let i = 0; i < size(shape); i++) {
    const [bn, ci, oy, ox] = unravel(i, shape);
    const values: number[] = [];
    for (let ki = 0; ki < kernel[0]; ki++) {
      for (let kj = 0; kj < kernel[1]; kj++) {
        const iy = oy * stride[0] - pad[0] + ki * dilation[0];
        const ix = ox * stride[1] - pad[1] + kj * dilation[1];
        if (iy >= 0 && iy < h && ix >= 0 && ix < w) values.push(x.data[ravel([bn, ci, iy, ix], x.shape)]);
      }
    }
    data.push(combine(values, oy, ox));
  }
  return { data, shape };
}
