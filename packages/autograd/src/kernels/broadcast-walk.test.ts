import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { broadcastShapes, broadcastStrides, type Shape } from "../shape.js";
import { broadcastWalk } from "./broadcast-walk.js";

/** Every element's offset into each operand, in order, walking `dims` with each operand's `strides`. */
function offsets(dims: readonly number[], strides: number[][]): number[][] {
  const n = dims.reduce((p, d) => p * d, 1);
  const out: number[][] = strides.map(() => []);
  for (let flat = 0; flat < n; flat++) {
    let rest = flat;
    const offs = strides.map(() => 0);
    for (let d = dims.length - 1; d >= 0; d--) {
      const i = rest % dims[d];
      rest = Math.floor(rest / dims[d]);
      for (let k = 0; k < strides.length; k++) offs[k] += i * strides[k][d];
    }
    for (let k = 0; k < strides.length; k++) out[k].push(offs[k]);
  }
  return out;
}

/** The plain walk: every output dimension, each operand's broadcast strides. */
const naiveOffsets = (outShape: Shape, shapes: Shape[]): number[][] =>
  offsets(
    outShape,
    shapes.map((s) => broadcastStrides(s, outShape)),
  );

/** The merged walk. */
function walkOffsets(outShape: Shape, shapes: Shape[]): number[][] {
  const { dims, strides } = broadcastWalk(outShape, shapes);
  return offsets(dims, strides);
}

const dim = fc.integer({ min: 1, max: 4 });

describe("broadcastWalk", () => {
  it("visits every operand offset in output order, as the per-element walk does", () => {
    const shapes = fc
      .array(dim, { minLength: 0, maxLength: 5 })
      .chain((out) =>
        fc.tuple(
          fc.constant(out),
          fc.array(
            fc.tuple(
              fc.integer({ min: 0, max: out.length }),
              fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
            ),
            { minLength: 1, maxLength: 3 },
          ),
        ),
      )
      .map(([out, ops]) => {
        // Each operand: a suffix of the output shape with some dims broadcast to 1.
        const operands = ops.map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i] ? 1 : d)));
        return { out: operands.reduce((s, o) => broadcastShapes(s, o, "test"), out), operands };
      });
    fc.assert(
      fc.property(shapes, ({ out, operands }) => {
        expect(walkOffsets(out, operands)).toEqual(naiveOffsets(out, operands));
      }),
    );
  });

  it("merges what can be walked as one run", () => {
    // A channel bias over NCHW: runs of H·W with the bias fixed along each (N and C stay apart:
    // the bias steps along C but not along N).
    expect(
      broadcastWalk(
        [8, 16, 5, 5],
        [
          [8, 16, 5, 5],
          [1, 16, 1, 1],
        ],
      ),
    ).toEqual({
      dims: [8, 16, 25],
      strides: [
        [400, 25, 1],
        [0, 1, 0],
      ],
    });
    // A row max subtracted from a batch of square blocks: B·T runs of T.
    expect(
      broadcastWalk(
        [4, 6, 6],
        [
          [4, 6, 6],
          [4, 6, 1],
        ],
      ).dims,
    ).toEqual([24, 6]);
    // Same shapes and scalars: one run.
    expect(broadcastWalk([3, 4, 5], [[3, 4, 5], []]).dims).toEqual([60]);
    expect(broadcastWalk([], [[], []])).toEqual({ dims: [1], strides: [[0], [0]] });
  });
});
