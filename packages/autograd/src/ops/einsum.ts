import { promoteTypes } from "../dtype.js";
import { ValueError } from "../errors.js";
import { formatShape } from "../shape.js";
import { Tensor } from "../tensor.js";
import { gather } from "./indexing.js";
import { matmul } from "./matmul.js";
import { sum } from "./reduce.js";
import { broadcastTo, cast, reshape, transpose } from "./shape.js";
import { composite, requireFloat } from "./util.js";

/*
 * einsum lowered to primitives that are already fast and differentiable: diagonals (repeated labels in
 * one operand) by a gather on the merged axes, labels nobody else needs summed first, then a left-to-
 * right chain of batched matmuls with each pair laid out as [batch, kept, contracted], and a final
 * transpose to the output order. Labels are strings: letters, or ".0", ".1", … for the ellipsis dims
 * (numbered from the left of the longest ellipsis, so shorter ones align right and broadcast).
 */

interface Term {
  labels: string[];
  tensor: Tensor;
}

function fail(spec: string, why: string): never {
  throw new ValueError(`einsum: ${why} in spec '${spec}'`);
}

/** Letters of one subscript term, with "..." as null; checks the characters. */
function parseTerm(term: string, spec: string): (string | null)[] {
  const out: (string | null)[] = [];
  for (let i = 0; i < term.length; i++) {
    if (term.startsWith("...", i)) {
      if (out.includes(null)) fail(spec, `'${term}' has more than one ellipsis`);
      out.push(null);
      i += 2;
    } else if (/[a-zA-Z]/.test(term[i])) out.push(term[i]);
    else fail(spec, `'${term[i]}' is not a letter or '...' (in '${term}')`);
  }
  return out;
}

/**
 * Einstein summation, as torch.einsum / np.einsum: 'ij,jk->ik' (explicit output), 'ij,jk' (implicit:
 * the labels seen once, in alphabetical order), batch labels ('bij,bjk->bik'), repeated labels in one
 * operand for diagonals and traces ('ii->i', 'ii'), '...' for leading dims (broadcast like NumPy), and
 * sums over labels missing from the output. Differentiable (twice), since it lowers to matmul, sum,
 * transpose, reshape and gather.
 */
export const einsum = composite("einsum", function einsum(spec: string, ...operands: Tensor[]): Tensor {
  if (typeof spec !== "string")
    throw new ValueError(`einsum: spec must be a string like 'ij,jk->ik', got ${typeof spec}`);
  const clean = spec.replace(/\s+/g, "");
  const arrow = clean.indexOf("->");
  if (arrow !== -1 && clean.indexOf("->", arrow + 1) !== -1) fail(spec, "more than one '->'");
  const lhs = arrow === -1 ? clean : clean.slice(0, arrow);
  const rhs = arrow === -1 ? null : clean.slice(arrow + 2);
  const inputTerms = lhs.split(",");
  if (inputTerms.length !== operands.length) {
    fail(spec, `${inputTerms.length} operand term(s) but ${operands.length} tensor(s) were given`);
  }
  operands.forEach((t, i) => {
    if (!(t instanceof Tensor)) fail(spec, `operand ${i} is not a Tensor`);
    requireFloat(t, "einsum");
  });
  const parsed = inputTerms.map((t) => parseTerm(t, spec));

  // Expand ellipses into labels; every operand's ellipsis dims align on the right.
  const ellipsisDims = parsed.map((p, i) => {
    const letters = p.filter((l) => l !== null).length;
    const t = operands[i];
    if (p.includes(null) ? t.ndim < letters : t.ndim !== letters) {
      fail(
        spec,
        `operand ${i} has shape ${formatShape(t.shape)} (${t.ndim} dims) but its term '${inputTerms[i]}' has ${letters} label(s)${p.includes(null) ? " and an ellipsis" : ""}`,
      );
    }
    return p.includes(null) ? t.ndim - letters : 0;
  });
  const maxEllipsis = Math.max(0, ...ellipsisDims);
  const ellipsisLabels = Array.from({ length: maxEllipsis }, (_, k) => `.${k}`);
  const terms: Term[] = parsed.map((p, i) => {
    const labels: string[] = [];
    for (const l of p) {
      if (l !== null) labels.push(l);
      else for (let k = maxEllipsis - ellipsisDims[i]; k < maxEllipsis; k++) labels.push(`.${k}`);
    }
    return { labels, tensor: operands[i] };
  });

  // One size per label; a size-1 dim broadcasts against a larger one.
  const sizes = new Map<string, number>();
  for (const { labels, tensor } of terms) {
    labels.forEach((l, d) => {
      const n = tensor.shape[d];
      const known = sizes.get(l);
      if (known === undefined || known === 1) sizes.set(l, n);
      else if (n !== known && n !== 1) {
        fail(
          spec,
          `label '${l.startsWith(".") ? "..." : l}' has size ${known} in one operand and ${n} in another (shapes ${operands.map((t) => formatShape(t.shape)).join(", ")})`,
        );
      }
    });
  }

  const output = outputLabels(rhs, terms, ellipsisLabels, spec);

  let dtype = operands[0]?.dtype ?? "float32";
  for (const t of operands) dtype = promoteTypes(dtype, t.dtype);
  const prepared = terms.map(({ labels, tensor }) => {
    let t = tensor.dtype === dtype ? tensor : cast(tensor, dtype);
    const full = labels.map((l) => sizes.get(l) as number);
    if (full.some((n, d) => n !== t.shape[d])) t = broadcastTo(t, full);
    return takeDiagonals({ labels, tensor: t });
  });

  // Contract left to right; before each step, sum the labels that no later operand or the output needs.
  const needed = (from: number): Set<string> => {
    const s = new Set(output);
    for (let j = from; j < prepared.length; j++) for (const l of prepared[j].labels) s.add(l);
    return s;
  };
  let acc = sumUnneeded(prepared[0], needed(1));
  for (let i = 1; i < prepared.length; i++) {
    const keep = needed(i + 1);
    const right = sumUnneeded(prepared[i], new Set([...keep, ...acc.labels]));
    acc = sumUnneeded(acc, new Set([...keep, ...right.labels]));
    acc = contract(acc, right, keep);
  }
  acc = sumUnneeded(acc, new Set(output));
  const perm = output.map((l) => acc.labels.indexOf(l));
  return transpose(acc.tensor, perm);
});

function outputLabels(rhs: string | null, terms: Term[], ellipsisLabels: string[], spec: string): string[] {
  const all = terms.flatMap((t) => t.labels);
  if (rhs === null) {
    const counts = new Map<string, number>();
    for (const l of all) counts.set(l, (counts.get(l) ?? 0) + 1);
    const once = [...counts].filter(([l, c]) => c === 1 && !l.startsWith(".")).map(([l]) => l);
    return [...ellipsisLabels, ...once.sort()];
  }
  const out: string[] = [];
  for (const l of parseTerm(rhs, spec)) {
    if (l === null) out.push(...ellipsisLabels);
    else {
      if (out.includes(l)) fail(spec, `output label '${l}' appears more than once`);
      if (!all.includes(l)) fail(spec, `output label '${l}' does not appear in any operand`);
      out.push(l);
    }
  }
  return out;
}

/** Replaces each label repeated within one operand by its diagonal (moved to the last axis). */
function takeDiagonals(term: Term): Term {
  let { labels, tensor } = term;
  for (;;) {
    const d = labels.findIndex((l, i) => labels.indexOf(l) !== i);
    if (d === -1) return { labels, tensor };
    const first = labels.indexOf(labels[d]);
    const n = tensor.shape[d];
    const rest = labels.map((_, i) => i).filter((i) => i !== first && i !== d);
    const moved = transpose(tensor, [...rest, first, d]);
    const merged = reshape(moved, [...rest.map((i) => tensor.shape[i]), n * n]);
    const diagonal = new Tensor(
      Int32Array.from({ length: n }, (_, i) => i * (n + 1)),
      [n],
    );
    tensor = gather(merged, diagonal, rest.length);
    labels = [...rest.map((i) => labels[i]), labels[d]];
  }
}

function sumUnneeded(term: Term, keep: Set<string>): Term {
  const axes = term.labels.map((l, i) => (keep.has(l) ? -1 : i)).filter((i) => i >= 0);
  if (axes.length === 0) return term;
  return { labels: term.labels.filter((l) => keep.has(l)), tensor: sum(term.tensor, axes) };
}

const product = (labels: readonly string[], term: Term): number =>
  labels.reduce((p, l) => p * term.tensor.shape[term.labels.indexOf(l)], 1);

/** Lays `term` out as `order` and merges it into [groups[0], groups[1], groups[2]] sizes. */
function arrange(term: Term, order: string[], merged: number[]): Tensor {
  const perm = order.map((l) => term.labels.indexOf(l));
  return reshape(transpose(term.tensor, perm), merged);
}

/**
 * One pairwise contraction as a batched matmul: batch labels (in both, still needed), contracted
 * labels (in both, not needed later), and each side's own labels. An operand already stored as
 * [batch, contracted, own] is used through matmul's transpose flag instead of being copied.
 */
function contract(a: Term, b: Term, keep: Set<string>): Term {
  const batch = a.labels.filter((l) => b.labels.includes(l) && keep.has(l));
  const summed = a.labels.filter((l) => b.labels.includes(l) && !keep.has(l));
  const ownA = a.labels.filter((l) => !b.labels.includes(l));
  const ownB = b.labels.filter((l) => !a.labels.includes(l));
  const bs = product(batch, a);
  const m = product(ownA, a);
  const k = product(summed, a);
  const n = product(ownB, b);
  const same = (x: string[], y: string[]) => x.length === y.length && x.every((l, i) => l === y[i]);
  const transA =
    !same(a.labels, [...batch, ...ownA, ...summed]) && same(a.labels, [...batch, ...summed, ...ownA]);
  const transB = same(b.labels, [...batch, ...ownB, ...summed]);
  const ta = transA
    ? arrange(a, [...batch, ...summed, ...ownA], [bs, k, m])
    : arrange(a, [...batch, ...ownA, ...summed], [bs, m, k]);
  const tb = transB
    ? arrange(b, [...batch, ...ownB, ...summed], [bs, n, k])
    : arrange(b, [...batch, ...summed, ...ownB], [bs, k, n]);
  const c = matmul(ta, tb, { transposeA: transA, transposeB: transB });
  const shape = [...batch, ...ownA, ...ownB].map((l) =>
    a.labels.includes(l) ? a.tensor.shape[a.labels.indexOf(l)] : b.tensor.shape[b.labels.indexOf(l)],
  );
  return { labels: [...batch, ...ownA, ...ownB], tensor: reshape(c, shape) };
}
