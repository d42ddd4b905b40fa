import type { TensorSet } from "./tensors.js";

/** How a model's data was prepared, stored in the model file so eval and predict can prepare new data alike. */
export type DataSpec =
  | { kind: "mnist-package"; rows: 28; cols: 28; classes: 10 }
  | { kind: "idx"; dir: string; rows: number; cols: number; classes: number }
  | {
      kind: "csv";
      file: string;
      target: string;
      task: "classification" | "regression";
      features: string[];
      mean: number[];
      std: number[];
      /** Regression: targets are scaled to 0..1 with these, so sigmoid outputs can reach them. */
      targetMin?: number;
      targetMax?: number;
      /** Classification: the target's values, in class-id order. */
      classNames?: string[];
    };

export interface LoadedData {
  spec: DataSpec;
  task: "classification" | "regression";
  train: TensorSet;
  test: TensorSet;
  inputs: number;
  outputs: number;
  description: string;
}
