import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./run-cli.js";

// Issue 9, item 21: the README's first command works for a user who is not root (no global install) on a
// machine with only Node 20 and npm, and leaves a pnpm that is already there alone; the second runs the
// tests, and .ci/run runs that same command. (The non-root run itself was checked by hand in a fresh clone:
// see the closing note of issue 9.)

async function text(path: string): Promise<string> {
  return readFile(join(ROOT, path), "utf8");
}

/** The README's first two commands, without their comments. */
async function firstCommands(): Promise<string[]> {
  const readme = await text("README.md");
  const block = readme.match(/```bash\n([\s\S]*?)```/)?.[1] ?? "";
  return block
    .trim()
    .split("\n")
    .slice(0, 2)
    .map((l) => l.replace(/\s+#.*$/, "").trim());
}

describe("item 21: the README's first two commands", () => {
  it("item 21: the set-up command installs nothing globally and pins the lockfile's pnpm", async () => {
    const [setup] = await firstCommands();
    const pkg = JSON.parse(await text("package.json")) as { packageManager: string };
    expect(setup).not.toMatch(/(^|\s)(-g|--global|sudo)(\s|$)/);
    expect(setup).not.toMatch(/npm (install|i) /);
    // pnpm itself comes through npx, at the version package.json pins (a pnpm already on PATH is not touched).
    expect(setup).toContain(`npx --yes ${pkg.packageManager} install`);
  });

  it("item 21: start and test need no pnpm on the PATH (npm runs them from node_modules/.bin)", async () => {
    const [setup, test] = await firstCommands();
    expect(setup).toMatch(/&& npm start$/);
    expect(test).toBe("npm test");
    const pkg = JSON.parse(await text("package.json")) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).not.toMatch(/\bpnpm\b/);
    expect(pkg.scripts.test).not.toMatch(/\bpnpm\b/);
    expect(pkg.scripts.start).toBe(`${pkg.scripts.tapegrad} train`);
  });

  it("item 21: .ci/run runs the README's test command", async () => {
    const [, test] = await firstCommands();
    const ci = (await text(".ci/run")).split("\n").map((l) => l.replace(/\s+#.*$/, "").trim());
    expect(ci).toContain(test);
  });
});
