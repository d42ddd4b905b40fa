import type { FloatArray } from "./types.js";

/**
 * Reference GEMM in plain JavaScript: C[m,n] = op(A)[m,k] · op(B)[k,n], overwriting C.
 * A is stored row-major as [m,k], or as [k,m] when transA; B as [k,n], or as [n,k] when transB.
 * Offsets let batched callers address one matrix of a larger buffer without subarray allocation.
 * The i-k-j loop order streams rows of B and C, which is what makes plain JS reasonably fast here.
 */
export function gemmJs(
  a: FloatArray,
  aOff: number,
  b: FloatArray,
  bOff: number,
  c: FloatArray,
  cOff: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): void {
  c.fill(0, cOff, cOff + m * n);
  if (m === 0 || n === 0 || k === 0) return;
  const aRowStride = transA ? 1 : k;
  const aColStride = transA ? m : 1;
  if (!transB) {
    for (let i = 0; i < m; i++) {
      const cRow = cOff + i * n;
      const aRow = aOff + i * aRowStride;
      for (let p = 0; p < k; p++) {
        const av = a[aRow + p * aColStride];
        const bRow = bOff + p * n;
        for (let j = 0; j < n; j++) c[cRow + j] += av * b[bRow + j];
      }
    }
    return;
  }
  // B stored [n,k]: each C element is a dot product of an A row with a B row.
  for (let i = 0; i < m; i++) {
    const cRow = cOff + i * n;
    const aRow = aOff + i * aRowStride;
    for (let j = 0; j < n; j++) {
      const bRow = bOff + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[aRow + p * aColStride] * b[bRow + p];
      c[cRow + j] = s;
    }
  }
}
