import type { Impl, Item } from "../lib/harness.js";
import { calibratedRunner } from "../lib/micro.js";
import { type Autograd, loadAutograd, loadNn } from "../lib/tapegrad.js";
import type { WorkloadContext } from "./context.js";
import { W1 } from "./w1.js";

/** The batch of the per-example gradient item (issue 11). */
export const VMAP_BATCH = 64;
export const VMAP_ITEM = `per-example gradients of the W1 network, batch ${VMAP_BATCH}`;

type Tensor = InstanceType<Autograd["Tensor"]>;

/** The article network's loss as a function of its parameters, for one example ([784]) or a batch. */
async function setup() {
  const ag = await loadAutograd();
  const { NN, quadratic, sigmoid } = await loadNn();
  const [nIn, nHidden, nOut] = W1.sizes;
  const net = new NN([nIn, nHidden, nOut], sigmoid, quadratic, { seed: 1 });
  const params = [net.w[0], net.b[0], net.w[1], net.b[1]] as Tensor[];
  const x = ag.rand([VMAP_BATCH, nIn], { seed: 2 });
  const y = ag.rand([VMAP_BATCH, nOut], { seed: 3 });
  const rows = (t: Tensor): Tensor => (t.ndim === 1 ? t.reshape([1, t.shape[0]]) : t);
  const loss =
    (xs: Tensor, ys: Tensor) =>
    (w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor): Tensor =>
      quadratic.fn(rows(xs).matmul(w1).add(b1).sigmoid().matmul(w2).add(b2).sigmoid(), rows(ys));
  return { ag, params, x, y, loss };
}

function impl(
  id: string,
  label: string,
  minSeconds: number,
  make: (s: Awaited<ReturnType<typeof setup>>) => () => unknown,
): Impl {
  return {
    id,
    label,
    tapegrad: true,
    async setup() {
      const call = make(await setup());
      return calibratedRunner(
        () => {
          call();
        },
        { minSeconds, metric: (iterations, seconds) => (seconds * 1e3) / iterations },
      );
    },
  };
}

/**
 * VMAP: per-example gradients with vmap(grad) against one batched backward of the same batch (the
 * mean loss's gradient), a JS loop of single-example gradients, and the floor no implementation can
 * go under here: allocating and writing the per-example gradients' 64 × 23,860 floats.
 */
export function vmapItems({ config }: WorkloadContext): Item[] {
  const s = config.microSeconds;
  const impls: Impl[] = [
    impl("tapegrad-vmap", "vmap(grads(loss)), per example", s, ({ ag, params, x, y, loss }) => {
      const perExample = ag.vmap((xi: Tensor, yi: Tensor) => ag.grads(loss(xi, yi))(...params) as Tensor[]);
      return () => perExample(x, y);
    }),
    impl("tapegrad-batched", "grads(loss) of the batch, one backward", s, ({ ag, params, x, y, loss }) => {
      const g = ag.grads(loss(x, y));
      return () => g(...params);
    }),
    impl("tapegrad-loop", "JS loop of per-example grads", s, ({ ag, params, x, y, loss }) => {
      const xs = Array.from({ length: VMAP_BATCH }, (_, b) => ag.slice(x, 0, b, b + 1).reshape([-1]));
      const ys = Array.from({ length: VMAP_BATCH }, (_, b) => ag.slice(y, 0, b, b + 1).reshape([-1]));
      return () => xs.map((xi, b) => ag.grads(loss(xi, ys[b]))(...params));
    }),
    impl("floor", "allocate + write the per-example gradients", s, ({ params }) => {
      const n = VMAP_BATCH * params.reduce((k, p) => k + p.size, 0);
      // Uninitialised, as tapegrad allocates outputs its kernels overwrite (a zeroed buffer costs more).
      return () => new Float32Array(Buffer.allocUnsafeSlow(n * 4).buffer, 0, n).fill(1);
    }),
  ];
  return [
    {
      workload: "VMAP",
      name: VMAP_ITEM,
      unit: "ms/call",
      higherIsBetter: false,
      impls,
      notes: [
        `${W1.sizes.join("-")} sigmoid, quadratic loss, float32, synthetic inputs; every call returns the gradients of all 4 parameters`,
        "the per-example gradients hold 64× the floats of one gradient (6.1 MB); the floor row is the cost of allocating and writing that much here",
      ],
    },
  ];
}
