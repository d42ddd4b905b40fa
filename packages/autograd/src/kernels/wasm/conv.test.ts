import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { getKernelBackend, setKernelBackend, wasmAvailable } from "../backend.js";
import { col2im, gatherLast, im2col, maxPoolArgmax, scatterAddLast, type Window2d } from "../conv.js";
import { convKernelStats, resetConvStats } from "../conv-stats.js";

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
});
