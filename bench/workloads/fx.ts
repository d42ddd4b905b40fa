import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Impl, Item, Runner } from "../lib/harness.js";
import { calibratedRunner } from "../lib/micro.js";
import { type Autograd, loadAutograd, loadNn } from "../lib/tapegrad.js";
import type { WorkloadContext } from "./context.js";
import { initialWeights } from "./init.js";
import { W1 } from "./w1.js";

/*
 * FX: function transforms (issue 11).
 * - jvp of the W1 loss against one forward pass of the same loss: forward mode pushes one tangent per
 *   tensor alongside the forward, so it should cost at most about 2 forwards.
 * - checkpoint: the memory a 32-layer MLP holds for its backward (the saved activations) with and
 *   without checkpointing every 4 layers, and what the recomputation costs in time.
 */

export const FX_JVP_ITEM = "jvp of the W1 loss, batch 10";
export const FX_MEMORY_ITEM = "memory held for backward, 32-layer MLP";
export const FX_TIME_ITEM = "forward + backward, 32-layer MLP";

const MiB = 2 ** 20;

/** A full garbage collection, also without --expose-gc (the flag can be set at run time). */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

function w1Loss(ag: Autograd, nn: Awaited<ReturnType<typeof loadNn>>) {
  const init = initialWeights([...W1.sizes], "normal", 1);
  const net = new nn.NN([...W1.sizes], nn.sigmoid, nn.quadratic, { dtype: "float32" });
  const names = net.namedParameters().map(([n]) => n);
  const byName = new Map<string, Float32Array>();
  init.w.forEach((w, i) => {
    byName.set(`w.${i}`, w);
  });
  init.b.forEach((b, i) => {
    byName.set(`b.${i}`, b);
  });
  const shapes = new Map(net.namedParameters().map(([n, p]) => [n, [...p.shape]]));
  const params = names.map((n) => ag.tensor(byName.get(n)!.slice(), { shape: shapes.get(n)! }));
  const rng = new ag.Rng(5);
  const x = ag.rand([W1.batch, W1.sizes[0]], { rng });
  const y = ag.rand([W1.batch, W1.sizes[W1.sizes.length - 1]], { rng });
  const loss = (...ps: InstanceType<Autograd["Tensor"]>[]) =>
    nn.quadratic.fn(nn.functionalCall(net, Object.fromEntries(names.map((n, i) => [n, ps[i]])), x), y);
  const tangents = params.map((p) => ag.randn([...p.shape], { rng }));
  return { loss, params, tangents };
}

function jvpItem(minSeconds: number): Item {
  const perCall = (iterations: number, seconds: number) => (seconds * 1e6) / iterations;
  const forward: Impl = {
    id: "tapegrad-forward",
    label: "one forward pass (loss value)",
    tapegrad: true,
    async setup() {
      const ag = await loadAutograd();
      const { loss, params } = w1Loss(ag, await loadNn());
      return calibratedRunner(() => void loss(...params).item(), { minSeconds, metric: perCall });
    },
  };
  const recorded: Impl = {
    id: "tapegrad-forward-recorded",
    label: "one forward pass as in W1 training (graph recorded for backward)",
    tapegrad: true,
    async setup() {
      const ag = await loadAutograd();
      const { loss, params } = w1Loss(ag, await loadNn());
      const leaves = params.map((p) => {
        const q = p.detach();
        q.requiresGrad = true;
        return q;
      });
      return calibratedRunner(() => void loss(...leaves).item(), { minSeconds, metric: perCall });
    },
  };
  const forwardMode: Impl = {
    id: "tapegrad-jvp",
    label: "jvp: loss and its directional derivative along all parameters",
    tapegrad: true,
    async setup() {
      const ag = await loadAutograd();
      const { loss, params, tangents } = w1Loss(ag, await loadNn());
      return calibratedRunner(
        () => {
          const { tangent } = ag.jvp(loss, params, tangents);
          if (!Number.isFinite(tangent.item())) throw new Error("FX: jvp gave no tangent");
        },
        { minSeconds, metric: perCall },
      );
    },
  };
  return {
    workload: "FX",
    name: FX_JVP_ITEM,
    unit: "µs/call",
    higherIsBetter: false,
    impls: [forward, recorded, forwardMode],
    notes: [
      `${W1.sizes.join("-")} sigmoid, quadratic loss, float32, batch ${W1.batch}, all through functionalCall over the 4 parameters; the jvp's tangent runs along all of them, so its first layer computes a second product x·Ẇ₁ as large as the forward's x·W₁ (the floor is about 1 + that product's share of the forward)`,
    ],
  };
}

const DEPTH = 32;
const WIDTH = 256;
const BATCH = 64;
const SEGMENT = 4;

async function mlp() {
  const ag = await loadAutograd();
  const rng = new ag.Rng(7);
  const scale = 1 / Math.sqrt(WIDTH);
  const ws = Array.from({ length: DEPTH }, () => ag.randn([WIDTH, WIDTH], { rng }).mul(scale).detach());
  for (const w of ws) w.requiresGrad = true;
  const x = ag.randn([BATCH, WIDTH], { rng });
  const layer = (i: number) => (h: InstanceType<Autograd["Tensor"]>) => h.matmul(ws[i]).tanh();
  const forward = (checkpointed: boolean) => {
    let h = x;
    for (let s = 0; s < DEPTH; s += SEGMENT) {
      const seg = (t: InstanceType<Autograd["Tensor"]>) => {
        let u = t;
        for (let i = s; i < s + SEGMENT; i++) u = layer(i)(u);
        return u;
      };
      h = checkpointed ? ag.checkpoint(seg, h) : seg(h);
    }
    return h.square().mean();
  };
  return { ws, forward };
}

function memoryImpl(checkpointed: boolean): Impl {
  return {
    id: checkpointed ? "tapegrad-checkpoint" : "tapegrad-plain",
    label: checkpointed ? `checkpoint every ${SEGMENT} layers` : "plain backward",
    tapegrad: true,
    async setup(): Promise<Runner> {
      const { ws, forward } = await mlp();
      const gc = collector();
      const used = () => {
        const u = process.memoryUsage();
        return u.heapUsed + u.arrayBuffers;
      };
      const once = (): number => {
        gc();
        gc();
        const base = used();
        const loss = forward(checkpointed);
        gc();
        gc();
        const held = used() - base;
        loss.backward();
        for (const w of ws) w.grad = null;
        return held / MiB;
      };
      return { warmUp: async () => void once(), measure: async () => once() };
    },
  };
}

function timeImpl(checkpointed: boolean, minSeconds: number): Impl {
  return {
    id: checkpointed ? "tapegrad-checkpoint" : "tapegrad-plain",
    label: checkpointed ? `checkpoint every ${SEGMENT} layers` : "plain backward",
    tapegrad: true,
    async setup() {
      const { ws, forward } = await mlp();
      return calibratedRunner(
        () => {
          forward(checkpointed).backward();
          for (const w of ws) w.grad = null;
        },
        { minSeconds, metric: (iterations, seconds) => (seconds * 1e3) / iterations },
      );
    },
  };
}

/** FX: jvp against a forward pass, and checkpoint's memory and time. */
export function fxItems({ config }: WorkloadContext): Item[] {
  const shape = `${DEPTH} layers tanh(h·W), width ${WIDTH}, batch ${BATCH}, float32`;
  return [
    jvpItem(config.microSeconds),
    {
      workload: "FX",
      name: FX_MEMORY_ITEM,
      unit: "MiB",
      higherIsBetter: false,
      impls: [memoryImpl(false), memoryImpl(true)],
      notes: [
        `${shape}: heap + array buffers after the forward (after a full GC) minus before it, i.e. what the graph keeps for backward`,
      ],
    },
    {
      workload: "FX",
      name: FX_TIME_ITEM,
      unit: "ms",
      higherIsBetter: false,
      impls: [timeImpl(false, config.microSeconds), timeImpl(true, config.microSeconds)],
      notes: [`${shape}: checkpointing runs each segment's forward twice`],
    },
  ];
}
