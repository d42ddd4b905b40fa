import { createRequire } from "node:module";
import path from "node:path";
import { registerTfjsGradients } from "./tfjs-gradients.js";

export type Tf = typeof import("@tensorflow/tfjs-core");
export type TfBackend = "cpu" | "wasm";

export interface TfjsEnv {
  tf: Tf;
  version: string;
  /** true when the backend initialised; otherwise why it did not. */
  backends: Record<TfBackend, true | string>;
  wasmSimd: boolean;
  wasmThreads: boolean;
}

let loading: Promise<TfjsEnv> | undefined;

/**
 * Loads TensorFlow.js with its cpu backend and its wasm backend, whose .wasm files are read from
 * node_modules (setWasmPaths to a folder) rather than fetched. Prod mode drops debug checks, as a
 * user tuning for speed would. Loaded once per process.
 */
export function loadTfjs(): Promise<TfjsEnv> {
  loading ??= (async () => {
    const tf = await import("@tensorflow/tfjs-core");
    await registerTfjsGradients(tf.version_core);
    await import("@tensorflow/tfjs-backend-cpu");
    const backends: Record<TfBackend, true | string> = { cpu: true, wasm: "not loaded" };
    let wasmSimd = false;
    let wasmThreads = false;
    try {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      const require = createRequire(import.meta.url);
      const simdFile = require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm");
      wasm.setWasmPaths(`${path.dirname(simdFile)}/`);
      if (await tf.setBackend("wasm")) {
        await tf.ready();
        wasmSimd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
        wasmThreads = tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT");
        backends.wasm = true;
      } else {
        backends.wasm = "tf.setBackend('wasm') returned false";
      }
    } catch (error) {
      backends.wasm = (error as Error).message.split("\n")[0];
    }
    if (!(await tf.setBackend("cpu"))) backends.cpu = "tf.setBackend('cpu') returned false";
    await tf.ready();
    tf.enableProdMode();
    return { tf, version: tf.version_core, backends, wasmSimd, wasmThreads };
  })();
  return loading;
}

/** Loads TF.js and switches to `backend`, or throws why that backend cannot run. */
export async function useBackend(backend: TfBackend): Promise<Tf> {
  const env = await loadTfjs();
  const state = env.backends[backend];
  if (state !== true) throw new Error(`TensorFlow.js ${backend} backend unavailable: ${state}`);
  if (env.tf.getBackend() !== backend) {
    await env.tf.setBackend(backend);
    await env.tf.ready();
  }
  return env.tf;
}
