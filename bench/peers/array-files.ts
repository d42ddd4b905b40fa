import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** An array handed to a python child: a raw little-endian float32 file and its shape. */
export interface ArrayFile {
  path: string;
  shape: number[];
}

/** A temporary folder of arrays for a python peer to read (25 MB of pixels do not belong in JSON). */
export class ArrayFiles {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), "tapegrad-bench-"));
  private count = 0;

  share(data: Float32Array, shape: number[]): ArrayFile {
    const file = path.join(this.dir, `a${this.count++}.f32`);
    writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return { path: file, shape };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
