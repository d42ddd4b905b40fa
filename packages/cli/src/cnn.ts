import { ValueError } from "@tapegrad/autograd";
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv1d,
  Conv2d,
  Dropout,
  Flatten,
  GELU,
  Identity,
  LeakyReLU,
  Linear,
  MaxPool2d,
  type Module,
  ReLU,
  Sequential,
  type SequentialLayer,
  Sigmoid,
  Softplus,
  Tanh,
  Unflatten,
} from "@tapegrad/nn";

export interface CnnSpec {
  rows: number;
  cols: number;
  classes: number;
  dtype: "float32" | "float64";
  seed: number;
}

/** Side of a feature map after a valid 5×5 convolution and a 2×2 max pool. */
const convPool = (side: number) => Math.floor((side - 4) / 2);

/**
 * The CNN of examples/cnn-mnist.ts, on flat [n, rows·cols] images (the CLI's data layout):
 * unflatten to [n, 1, rows, cols] → conv5×5 16 + BatchNorm + ReLU + maxpool 2 → conv5×5 32 + BatchNorm +
 * ReLU + maxpool 2 → flatten → dropout 0.3 → linear to the classes (logits). Every layer records its
 * options in architecture(), so the model file says how to rebuild it (see buildFromArchitecture).
 */
export function buildCnn(spec: CnnSpec): Sequential {
  const h = convPool(convPool(spec.rows));
  const w = convPool(convPool(spec.cols));
  if (h < 1 || w < 1) {
    throw new ValueError(
      `--model cnn: ${spec.rows}x${spec.cols} images are too small for two 5x5 convolutions with 2x2 pooling (at least 16x16)`,
    );
  }
  const { dtype, seed } = spec;
  return new Sequential(
    new Unflatten(1, [1, spec.rows, spec.cols]),
    new Conv2d(1, 16, 5, { dtype, seed: seed + 1 }),
    new BatchNorm2d(16, { dtype }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(16, 32, 5, { dtype, seed: seed + 2 }),
    new BatchNorm2d(32, { dtype }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Dropout(0.3, { seed: seed + 3 }),
    new Linear(32 * h * w, spec.classes, { dtype, seed: seed + 4 }),
  );
}

type Arch = Record<string, unknown>;

const activationLayers: Record<string, () => SequentialLayer> = {
  ReLU: () => new ReLU(),
  Sigmoid: () => new Sigmoid(),
  Tanh: () => new Tanh(),
  GELU: () => new GELU(),
  Softplus: () => new Softplus(),
  Identity: () => new Identity(),
};

/** One layer from its architecture() record; the weights are loaded afterwards, so the seed does not matter. */
function buildLayer(a: Arch, dtype: "float32" | "float64", where: string): SequentialLayer {
  // biome-ignore lint/suspicious/noExplicitAny: the record's fields are the constructor's own options
  const o = a as any;
  switch (a.type) {
    case "Unflatten":
      return new Unflatten(o.dim, o.sizes);
    case "Flatten":
      return new Flatten(o.startDim, o.endDim);
    case "Conv2d":
    case "Conv1d": {
      const Ctor = a.type === "Conv2d" ? Conv2d : Conv1d;
      return new Ctor(o.inChannels, o.outChannels, o.kernelSize, {
        stride: o.stride,
        padding: o.padding,
        dilation: o.dilation,
        groups: o.groups,
        bias: o.bias,
        dtype,
      });
    }
    case "BatchNorm1d":
    case "BatchNorm2d": {
      const Ctor = a.type === "BatchNorm2d" ? BatchNorm2d : BatchNorm1d;
      return new Ctor(o.numFeatures, {
        eps: o.eps,
        momentum: o.momentum,
        affine: o.affine,
        trackRunningStats: o.trackRunningStats,
        dtype,
      });
    }
    case "MaxPool2d":
      return new MaxPool2d(o.kernelSize, {
        stride: o.stride,
        padding: o.padding,
        dilation: o.dilation,
        ceilMode: o.ceilMode,
      });
    case "AvgPool2d":
      return new AvgPool2d(o.kernelSize, {
        stride: o.stride,
        padding: o.padding,
        ceilMode: o.ceilMode,
        countIncludePad: o.countIncludePad,
      });
    case "AdaptiveAvgPool2d":
      return new AdaptiveAvgPool2d(o.outputSize);
    case "Dropout":
      return new Dropout(o.p);
    case "Linear":
      return new Linear(o.inFeatures, o.outFeatures, { bias: o.bias, dtype });
    case "LeakyReLU":
      return new LeakyReLU(o.alpha);
    default: {
      const make = activationLayers[String(a.type)];
      if (make) return make();
      throw new ValueError(`${where}: cannot rebuild a layer of type ${JSON.stringify(a.type)}`);
    }
  }
}

/**
 * Rebuilds a Sequential from its architecture() record (`{ type: "Sequential", layers: [...] }`), with
 * fresh weights of the given dtype: load the state dict afterwards.
 */
export function buildFromArchitecture(arch: Arch, dtype: "float32" | "float64", where: string): Module {
  if (arch.type !== "Sequential" || !Array.isArray(arch.layers)) {
    throw new ValueError(`${where}: expected a Sequential architecture with a list of layers`);
  }
  return new Sequential(
    ...(arch.layers as Arch[]).map((layer, i) => {
      try {
        return buildLayer(layer, dtype, where);
      } catch (error) {
        throw new ValueError(`${where}: layer ${i} (${String(layer?.type)}): ${(error as Error).message}`);
      }
    }),
  );
}

/** "conv5x5 16, BatchNorm2d, ReLU, maxpool 2x2, ..., linear 512→10": a Sequential's layers in one line. */
export function describeLayers(arch: Arch): string {
  const layers = (arch.layers as Arch[] | undefined) ?? [];
  return layers
    .map((l) => {
      const k = l.kernelSize as number[] | number | undefined;
      const kernel = Array.isArray(k) ? k.join("x") : String(k);
      switch (l.type) {
        case "Conv2d":
        case "Conv1d":
          return `conv${kernel} ${l.outChannels}`;
        case "MaxPool2d":
          return `maxpool ${kernel}`;
        case "AvgPool2d":
          return `avgpool ${kernel}`;
        case "Dropout":
          return `dropout ${l.p}`;
        case "Linear":
          return `linear ${l.inFeatures}→${l.outFeatures}`;
        case "Unflatten":
          return `[${(l.sizes as number[]).join("x")}]`;
        default:
          return String(l.type);
      }
    })
    .join(", ");
}
