import { allocate } from "./dtype.js";
import { TapegradError } from "./errors.js";
import { reshape, stack } from "./ops/shape.js";
import { type Argnums, grads, jvpCall, normalizeArgnums, vjp } from "./tape.js";
import { Tensor } from "./tensor.js";

/*
 * Jacobians and Hessians from the two modes: jacrev pulls back one basis cotangent per output element
 * (one forward pass, out.size backward passes), jacfwd pushes one basis tangent per input element
 * (in.size forward passes). Rows and columns are joined with differentiable ops, so each composes with
 * the other and with grad: hessian = jacfwd(jacrev(f)).
 */

export interface JacobianOptions {
  /** The argument(s) to differentiate: an index (default 0) or a list; a list gives one Jacobian per argument. */
  argnums?: Argnums;
}

type Fn<Y> = (...args: Tensor[]) => Y;
type One = { argnums?: number };
type Many = { argnums: readonly number[] };

function zerosLike(x: Tensor): Tensor {
  return new Tensor(allocate(x.dtype, x.size), x.shape);
}

function basis(like: Tensor, i: number): Tensor {
  const e = zerosLike(like);
  e.data[i] = 1;
  return e;
}

function asList(value: Tensor | Tensor[], op: string): Tensor[] {
  const list = Array.isArray(value) ? value : [value];
  for (const y of list) {
    if (!(y instanceof Tensor))
      throw new TapegradError(`${op}: the function must return a Tensor or an array of Tensors`);
  }
  return list;
}

/** Shapes the result: [output][argument], collapsed where f returned one Tensor or argnums was one index. */
function arrange(blocks: Tensor[][], manyOut: boolean, manyArgs: boolean): unknown {
  const perOut = blocks.map((row) => (manyArgs ? row : row[0]));
  return manyOut ? perOut : perOut[0];
}

/**
 * jacrev(f, { argnums })(...xs): the Jacobian of f by reverse mode, shaped [...output shape, ...input
 * shape]; an array per argument for a list of argnums, an array per output when f returns an array.
 */
export function jacrev(f: Fn<Tensor>, opts?: One): (...xs: Tensor[]) => Tensor;
export function jacrev(f: Fn<Tensor>, opts: Many): (...xs: Tensor[]) => Tensor[];
export function jacrev(f: Fn<Tensor[]>, opts?: One): (...xs: Tensor[]) => Tensor[];
export function jacrev(f: Fn<Tensor[]>, opts: Many): (...xs: Tensor[]) => Tensor[][];
export function jacrev(f: Fn<Tensor | Tensor[]>, opts: JacobianOptions = {}): (...xs: Tensor[]) => unknown {
  const manyArgs = Array.isArray(opts.argnums);
  return (...xs) => {
    const nums = normalizeArgnums(opts.argnums, xs.length, "jacrev");
    let manyOut = false;
    const g = (...ds: Tensor[]): Tensor[] => {
      const full = xs.slice();
      nums.forEach((i, k) => {
        full[i] = ds[k];
      });
      const out = f(...full);
      manyOut = Array.isArray(out);
      return asList(out, "jacrev");
    };
    const { value, pullback } = vjp(g, ...nums.map((i) => xs[i]));
    const blocks = value.map((y, k) => {
      const rows: (Tensor | null)[][] = [];
      for (let e = 0; e < y.size; e++) {
        const cts = value.map((o, j) => (j === k ? basis(o, e) : zerosLike(o)));
        rows.push(pullback(cts));
      }
      return nums.map((i, a) => {
        const x = xs[i];
        const shape = [...y.shape, ...x.shape];
        if (y.size === 0) return zerosOfShape(x, shape);
        const list = rows.map((r) => r[a] ?? zerosLike(x));
        return reshape(stack(list, 0), shape);
      });
    });
    return arrange(blocks, manyOut, manyArgs);
  };
}

function zerosOfShape(like: Tensor, shape: number[]): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  return new Tensor(allocate(like.dtype, n), shape);
}

/**
 * jacfwd(f, { argnums })(...xs): the Jacobian of f by forward mode (one jvp per input element), shaped
 * like jacrev's. Cheaper than jacrev when f has more outputs than inputs.
 */
export function jacfwd(f: Fn<Tensor>, opts?: One): (...xs: Tensor[]) => Tensor;
export function jacfwd(f: Fn<Tensor>, opts: Many): (...xs: Tensor[]) => Tensor[];
export function jacfwd(f: Fn<Tensor[]>, opts?: One): (...xs: Tensor[]) => Tensor[];
export function jacfwd(f: Fn<Tensor[]>, opts: Many): (...xs: Tensor[]) => Tensor[][];
export function jacfwd(f: Fn<Tensor | Tensor[]>, opts: JacobianOptions = {}): (...xs: Tensor[]) => unknown {
  const manyArgs = Array.isArray(opts.argnums);
  return (...xs) => {
    const nums = normalizeArgnums(opts.argnums, xs.length, "jacfwd");
    let manyOut = false;
    let outputs: Tensor[] | null = null;
    // columns[a][e][k]: the tangent of output k for basis element e of argument nums[a]
    const columns = nums.map((i) => {
      const x = xs[i];
      if (!(x instanceof Tensor)) throw new TapegradError(`jacfwd: argument ${i} is not a Tensor`);
      const cols: Tensor[][] = [];
      for (let e = 0; e < x.size; e++) {
        const tangents = xs.map((_, j) => (j === i ? basis(x, e) : null));
        const r = jvpCall(f as (...a: unknown[]) => unknown, xs, tangents, "jacfwd");
        manyOut = Array.isArray(r.value);
        outputs = r.outputs;
        cols.push(r.tangents);
      }
      return cols;
    });
    if (outputs === null) {
      // Every differentiated argument is empty: evaluate once for the output shapes.
      const out = f(...xs);
      manyOut = Array.isArray(out);
      outputs = asList(out, "jacfwd");
    }
    const outs: Tensor[] = outputs;
    const blocks = outs.map((y, k) =>
      nums.map((i, a) => {
        const x = xs[i];
        const shape = [...y.shape, ...x.shape];
        if (x.size === 0) return zerosOfShape(y, shape);
        return reshape(
          stack(
            columns[a].map((c) => c[k]),
            y.ndim,
          ),
          shape,
        );
      }),
    );
    return arrange(blocks, manyOut, manyArgs);
  };
}

/**
 * hessian(f, { argnums })(...xs): the Hessian of the scalar f, jacfwd(jacrev(f)) (forward over
 * reverse), shaped [...f's shape, ...x shape, ...x shape]; a list of argnums gives the blocks H[a][b].
 */
export function hessian(f: Fn<Tensor>, opts?: One): (...xs: Tensor[]) => Tensor;
export function hessian(f: Fn<Tensor>, opts: Many): (...xs: Tensor[]) => Tensor[][];
export function hessian(f: Fn<Tensor>, opts: JacobianOptions = {}): (...xs: Tensor[]) => unknown {
  const inner = jacrev(f, opts as Many) as unknown as Fn<Tensor[]>;
  if (Array.isArray(opts.argnums)) return jacfwd(inner, opts as Many);
  return jacfwd(jacrev(f, opts as One), opts as One);
}

/**
 * hvp(f, xs, vs): the Hessian-vector products H·v of the scalar f at xs, one per argument, by forward
 * over reverse (a jvp of the gradient): the cost of about two gradients, without forming H.
 */
export function hvp(f: Fn<Tensor>, xs: readonly Tensor[], vs: readonly Tensor[]): Tensor[] {
  if (!Array.isArray(xs) || !Array.isArray(vs) || xs.length !== vs.length) {
    throw new TapegradError(
      "hvp: xs and vs must be arrays of Tensors of the same length (one direction per argument)",
    );
  }
  const gradient = (...a: Tensor[]): Tensor[] => grads(f)(...a).map((g, i) => g ?? zerosLike(a[i]));
  const r = jvpCall(gradient as (...a: unknown[]) => unknown, xs, vs, "hvp");
  return r.tangents;
}
