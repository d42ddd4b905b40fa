import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { gatherLast, scatterAddAlong, scatterAddLast, takeAlong } from "../along-axis.js";
import {
  getKernelBackend,
  getKernelThreads,
  kernelStats,
  resetKernelStats,
  setKernelBackend,
  setKernelThreads,
  wasmAvailable,
} from "../backend.js";
import {
  type ConvDims,
  col2im,
  convForward,
  convInputGrad,
  convWeightGrad,
  im2col,
  maxPoolArgmax,
  type Window2d,
} from "../conv.js";
import { convKernelStats, resetConvStats } from "../conv-stats.js";
import { gatherRows, scatterAddRows } from "../layout.js";
import { wasmRuntime } from "./runtime.js";
import { setHelpersMustJoin, threadsSupported, waitForHelpers } from "./workers.js";

/**
 * The WASM convolution/pooling kernels against the JS loops (the reference), bit for bit: the
 * kernels only copy, compare, or add in the same order. Random geometries cover padding (taps
 * clipped on both sides), stride, dilation (the element-by-element path) and groups.
 */
const previous = getKernelBackend();
afterAll(() => setKernelBackend(previous));

const geometry = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 11 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 6 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    ph: fc.integer({ min: 0, max: 2 }),
    pw: fc.integer({ min: 0, max: 3 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    f32: fc.boolean(),
    seed: fc.integer({ min: 1, max: 1000 }),
  })
  .map((s) => {
    const oh = Math.floor((s.h + 2 * s.ph - s.dh * (s.kh - 1) - 1) / s.sh) + 1;
    const ow = Math.floor((s.w + 2 * s.pw - s.dw * (s.kw - 1) - 1) / s.sw) + 1;
    return { ...s, oh, ow };
  })
  .filter((s) => s.oh >= 1 && s.ow >= 1);

function values(n: number, f32: boolean, seed: number): Float32Array | Float64Array {
  const a = f32 ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(seed * 7.1 + i * 1.37) * 3;
  return a;
}

function both<T>(run: () => T): [T, T] {
  setKernelBackend("js");
  const js = run();
  setKernelBackend("wasm");
  return [js, run()];
}

describe.runIf(wasmAvailable())("conv kernels: WASM against the JS loops", () => {
  it("im2col and col2im agree bit for bit and the WASM path ran", () => {
    resetConvStats();
    fc.assert(
      fc.property(geometry, (s) => {
        const g: Window2d = s;
        const layout = { n: s.n, c: s.cg * s.groups, groups: s.groups };
        const x = values(s.n * layout.c * s.h * s.w, s.f32, s.seed);
        const colsLen = s.n * s.oh * s.ow * layout.c * s.kh * s.kw;
        const [a, b] = both(() => {
          const out = s.f32 ? new Float32Array(colsLen) : new Float64Array(colsLen);
          im2col(x, layout, g, out);
          return out;
        });
        expect(b).toEqual(a);
        const cols = values(colsLen, s.f32, s.seed + 1);
        const [c, d] = both(() => {
          const out = s.f32 ? new Float32Array(x.length) : new Float64Array(x.length);
          col2im(cols, layout, g, out);
          return out;
        });
        expect(d).toEqual(c);
      }),
      { seed: 11, numRuns: 60 },
    );
    expect(convKernelStats().wasm).toBeGreaterThanOrEqual(120);
  });

  it("max-pool argmax: the float32 SIMD path (width and stride 2 along rows) agrees, ties and NaN included", () => {
    fc.assert(
      fc.property(
        fc.record({
          planes: fc.integer({ min: 1, max: 3 }),
          h: fc.integer({ min: 2, max: 7 }),
          w: fc.integer({ min: 8, max: 21 }),
          kh: fc.integer({ min: 1, max: 3 }),
          sh: fc.integer({ min: 1, max: 2 }),
          ph: fc.integer({ min: 0, max: 1 }),
          pw: fc.integer({ min: 0, max: 1 }),
          dh: fc.integer({ min: 1, max: 2 }),
          ties: fc.boolean(),
          seed: fc.integer({ min: 1, max: 1000 }),
        }),
        (s) => {
          const ph = Math.min(s.ph, s.kh >> 1);
          const oh = Math.floor((s.h + 2 * ph - s.dh * (s.kh - 1) - 1) / s.sh) + 1;
          const ow = Math.floor((s.w + 2 * s.pw - 2) / 2) + 1;
          if (oh < 1) return;
          const g: Window2d = {
            kh: s.kh,
            kw: 2,
            sh: s.sh,
            sw: 2,
            ph,
            pw: s.pw,
            dh: s.dh,
            dw: 1,
            h: s.h,
            w: s.w,
            oh,
            ow,
          };
          const x = values(s.planes * s.h * s.w, true, s.seed);
          if (s.ties) for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i] / 2);
          if (s.seed % 3 === 0) x[(s.seed * 7) % x.length] = Number.NaN;
          const [a, b] = both(() => {
            const out = new Int32Array(s.planes * oh * ow);
            maxPoolArgmax(x, s.planes, g, out);
            return out;
          });
          expect(b).toEqual(a);
        },
      ),
      { seed: 13, numRuns: 80 },
    );
  });

  it("max-pool argmax, gather and scatter-add agree (first maximum on ties, NaN wins)", () => {
    resetConvStats();
    fc.assert(
      fc.property(geometry, fc.boolean(), (s, ties) => {
        const g: Window2d = { ...s, ph: Math.min(s.ph, s.kh >> 1), pw: Math.min(s.pw, s.kw >> 1) };
        g.oh = Math.floor((s.h + 2 * g.ph - s.dh * (s.kh - 1) - 1) / s.sh) + 1;
        g.ow = Math.floor((s.w + 2 * g.pw - s.dw * (s.kw - 1) - 1) / s.sw) + 1;
        if (g.oh < 1 || g.ow < 1) return;
        const planes = s.n * s.cg;
        const x = values(planes * s.h * s.w, s.f32, s.seed);
        if (ties) for (let i = 0; i < x.length; i++) x[i] = Math.round(x[i]);
        if (s.seed % 5 === 0) x[s.seed % x.length] = Number.NaN;
        const [a, b] = both(() => {
          const out = new Int32Array(planes * g.oh * g.ow);
          maxPoolArgmax(x, planes, g, out);
          return out;
        });
        expect(b).toEqual(a);
        // A window wholly in the padding has no maximum (-1); maxPool2d rejects it before any gather.
        if (a.some((i) => i < 0)) return;
        const m = g.oh * g.ow;
        const size = s.h * s.w;
        const [c, d] = both(() => {
          const out = s.f32 ? new Float32Array(planes * m) : new Float64Array(planes * m);
          gatherLast(x, size, a, m, planes, out);
          return out;
        });
        expect(d).toEqual(c);
        const [e, f] = both(() => {
          const out = s.f32 ? new Float32Array(x.length) : new Float64Array(x.length);
          scatterAddLast(c, size, a, m, planes, out);
          return out;
        });
        expect(f).toEqual(e);
      }),
      { seed: 12, numRuns: 60 },
    );
    expect(convKernelStats().wasm).toBeGreaterThan(0);
  });

  it("takeAlong/scatterAddAlong at the last axis (max pooling's primitive) run the WASM gather, equal to JS", () => {
    // Below that axis (inner > 1) the JS loop runs: these shapes put the index axis last.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 1, max: 90 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        (rows, size, m, f32, seed) => {
          const x = values(rows * size, f32, seed);
          const index = new Int32Array(rows * m);
          for (let i = 0; i < index.length; i++) index[i] = (i * 7919 + seed) % size;
          resetConvStats();
          const [a, b] = both(() => {
            const out = f32 ? new Float32Array(rows * m) : new Float64Array(rows * m);
            takeAlong(x, [rows, size], index, [rows, m], 1, out);
            return out;
          });
          expect(b).toEqual(a);
          const [c, d] = both(() => {
            const out = f32 ? new Float32Array(rows * size) : new Float64Array(rows * size);
            scatterAddAlong(a, index, [rows, m], 1, out, [rows, size]);
            return out;
          });
          expect(d).toEqual(c);
          // The 'wasm' backend ran both calls there (no size threshold), the 'js' one in JS.
          expect(convKernelStats()).toEqual({ js: 2, wasm: 2 });
        },
      ),
      { seed: 13, numRuns: 40 },
    );
  });
});

/** The three convolution kernels of one call, on the current backend and thread setting. */
function convAll(d: ConvDims, f32: boolean, seed: number): (Float32Array | Float64Array)[] {
  const cg = d.c / d.groups;
  const x = values(d.n * d.c * d.h * d.w, f32, seed);
  const w = values(d.o * cg * d.kh * d.kw, f32, seed + 1);
  const b = values(d.o, f32, seed + 2);
  const g = values(d.n * d.o * d.oh * d.ow, f32, seed + 3);
  const make = (n: number) => (f32 ? new Float32Array(n) : new Float64Array(n));
  const y = make(g.length);
  const dx = make(x.length);
  const dw = make(w.length);
  convForward(x, w, b, y, d);
  convInputGrad(g, w, dx, d);
  convWeightGrad(x, g, dw, d);
  return [y, dx, dw];
}

const convCase = (
  n: number,
  c: number,
  o: number,
  h: number,
  k: number,
  groups: number,
  pad: number,
): ConvDims => {
  const oh = h + 2 * pad - k + 1;
  return { n, c, o, groups, kh: k, kw: k, sh: 1, sw: 1, ph: pad, pw: pad, dh: 1, dw: 1, h, w: h, oh, ow: oh };
};

describe.runIf(wasmAvailable())("conv GEMM kernels: WASM (fused) against the JS composition", () => {
  const previousThreads = getKernelThreads();
  afterAll(() => setKernelThreads(previousThreads));

  it("forward (with bias), input and weight gradients agree with the JS loops and GEMM", () => {
    setKernelThreads(1);
    for (const [d, f32] of [
      [convCase(2, 3, 4, 9, 3, 1, 1), false],
      [convCase(3, 4, 6, 7, 2, 2, 0), false],
      [convCase(2, 6, 6, 8, 3, 6, 1), true],
      [{ ...convCase(2, 2, 5, 11, 3, 1, 2), sh: 2, sw: 3, dh: 2, dw: 1, oh: 5, ow: 4 }, false],
      // float32, no padding, stride 1, ow a multiple of 4: the forward im2cols straight into packed B
      // (the reference CNN's two layers, a dilated one, and 36 columns: a half-filled last strip).
      [convCase(2, 1, 16, 28, 5, 1, 0), true],
      [convCase(3, 16, 32, 12, 5, 1, 0), true],
      [{ ...convCase(2, 3, 5, 12, 3, 1, 0), dh: 2, dw: 2, oh: 8, ow: 8 }, true],
      [{ ...convCase(3, 2, 5, 8, 5, 1, 0), h: 7, oh: 3 }, true],
    ] as const) {
      const [js, wasm] = both(() => convAll(d, f32, 5));
      for (let i = 0; i < 3; i++) {
        // float32 sums of up to ~1,000 terms in another order: rounding, not indexing, stays below 5e-4.
        const tol = f32 ? 5e-4 : 1e-13;
        js[i].forEach((v, j) => {
          expect(Math.abs(wasm[i][j] - v)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(v)));
        });
      }
    }
  });

  it.runIf(threadsSupported(wasmRuntime()!))(
    "split over two threads, the results are bit-identical to one thread",
    () => {
      setKernelBackend("wasm");
      // Padded (a column matrix, packed by both threads), unpadded (im2col straight into packed B,
      // the column tiles then split), and unpadded with a half-filled last strip (N·L = 12).
      for (const d of [
        convCase(8, 8, 16, 16, 5, 1, 2),
        convCase(8, 8, 16, 16, 5, 1, 0),
        { ...convCase(1, 128, 128, 6, 3, 1, 0), h: 5, oh: 3 },
      ]) {
        setKernelThreads(1);
        const one = convAll(d, true, 9);
        expect(waitForHelpers(wasmRuntime()!, 1, 60_000)).toBe(1);
        setKernelThreads(2);
        setHelpersMustJoin(true);
        resetKernelStats();
        try {
          const two = convAll(d, true, 9);
          for (let i = 0; i < 3; i++) expect(two[i]).toEqual(one[i]);
          expect(kernelStats().wasmThreads[2]).toBeGreaterThan(0);
        } finally {
          setHelpersMustJoin(false);
          setKernelThreads(1);
        }
      }
    },
  );
});

describe.runIf(wasmAvailable())(
  "index_select's row gather and scatter-add: WASM against the JS loops",
  () => {
    it("agree bit for bit over outer/size/inner shapes and repeated indices", () => {
      resetConvStats();
      fc.assert(
        fc.property(
          fc.record({
            outer: fc.integer({ min: 1, max: 4 }),
            size: fc.integer({ min: 1, max: 6 }),
            inner: fc.integer({ min: 1, max: 9 }),
            f32: fc.boolean(),
            seed: fc.integer({ min: 1, max: 1000 }),
          }),
          fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
          (s, raw) => {
            const index = Int32Array.from(raw, (v) => v % s.size);
            const x = values(s.outer * s.size * s.inner, s.f32, s.seed);
            const m = index.length;
            const [a, b] = both(() => {
              const out = s.f32
                ? new Float32Array(s.outer * m * s.inner)
                : new Float64Array(s.outer * m * s.inner);
              gatherRows(x, s.size, index, out, s.outer, s.inner);
              return out;
            });
            expect(b).toEqual(a);
            const [c, d] = both(() => {
              const out = s.f32 ? new Float32Array(x.length) : new Float64Array(x.length);
              scatterAddRows(a, index, out, s.size, s.outer, s.inner);
              return out;
            });
            expect(d).toEqual(c);
          },
        ),
        { seed: 14, numRuns: 80 },
      );
      expect(convKernelStats().wasm).toBeGreaterThanOrEqual(160);
    });
  },
);
