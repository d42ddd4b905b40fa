import { existsSync, mkdirSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Registers TF.js's gradient functions. tfjs-core's Node build has none: they live in its ESM sources
 * (dist/register_all_gradients.js), which Node cannot load as they stand (extensionless imports), and
 * the @tensorflow/tfjs bundle that normally registers them drags in core-js, whose install script the
 * workspace does not allow. esbuild bundles that one entry file into a self-contained module; the
 * gradients it registers land in TF.js's process-wide registry, so tfjs-core's engine finds them.
 */
export async function registerTfjsGradients(version: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const entry = require.resolve("@tensorflow/tfjs-core/dist/register_all_gradients.js");
  const dir = path.join(os.tmpdir(), "tapegrad-bench");
  const bundle = path.join(dir, `tfjs-core-${version}-gradients.mjs`);
  if (!existsSync(bundle)) {
    mkdirSync(dir, { recursive: true });
    const { build } = await import("esbuild");
    const temp = `${bundle}.${process.pid}.tmp.mjs`;
    await build({
      entryPoints: [entry],
      bundle: true,
      format: "esm",
      platform: "node",
      outfile: temp,
      logLevel: "error",
    });
    renameSync(temp, bundle);
  }
  await import(pathToFileURL(bundle).href);
}
