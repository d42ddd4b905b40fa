/**
 * What a fresh output costs here: µs to allocate a float32 array and write it in full (a memcpy from a
 * warm source), zero-filled (`new Float32Array(n)`, calloc) against uninitialised
 * (`Buffer.allocUnsafeSlow`, malloc: how tapegrad allocates outputs its kernels overwrite) against
 * writing into an array reused from before (the floor). Medians of rounds in which the three alternate;
 * the last three arrays stay alive, as a program's recent outputs do.
 *
 *   node_modules/.bin/tsx bench/kernels/alloc.ts [--rounds N]
 */
const i = process.argv.indexOf("--rounds");
const ROUNDS = i >= 0 ? Number(process.argv[i + 1]) : 15;
const SIZES = [24_000, 150_000, 600_000, 1_525_000]; // W1's W₁, and 0.6 / 2.3 / 5.8 MiB

type Make = (n: number) => Float32Array;
const makers: Record<string, Make> = {
  "zero-filled": (n) => new Float32Array(n),
  uninitialised: (n) => new Float32Array(Buffer.allocUnsafeSlow(n * 4).buffer, 0, n),
};

function time(make: Make, src: Float32Array, calls: number, keep: Float32Array[]): number {
  const t0 = process.hrtime.bigint();
  for (let c = 0; c < calls; c++) {
    const a = make(src.length);
    a.set(src);
    keep.push(a);
    if (keep.length > 3) keep.shift();
  }
  return Number(process.hrtime.bigint() - t0) / calls / 1e3;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
for (const n of SIZES) {
  const src = new Float32Array(n).fill(1.5);
  const reused = Array.from({ length: 4 }, () => new Float32Array(n));
  let next = 0;
  const impls: Record<string, Make> = { ...makers, reused: () => reused[next++ & 3]! };
  const calls = Math.max(20, Math.floor(4e7 / n));
  const keep: Float32Array[] = [];
  for (const make of Object.values(impls)) time(make, src, calls, keep); // warm-up
  const samples: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    const names = Object.keys(impls);
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length]!;
      (samples[name] ??= []).push(time(impls[name]!, src, calls, keep));
    }
  }
  const cells = Object.entries(samples).map(([name, v]) => `${name} ${median(v).toFixed(1)} µs`);
  console.log(`${((n * 4) / 2 ** 20).toFixed(2)} MiB: ${cells.join(", ")}`);
}
