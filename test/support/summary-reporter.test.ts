import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

/**
 * The line CI reads must count every kind of failure: a failing test, a suite whose beforeAll throws
 * (its tests are skipped, not failed), and a file that does not load. Runs vitest on four small
 * files in a folder inside the repository (so they resolve vitest) and reads the last line.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = path.join(root, "test", `.reporter-check-${process.pid}`);

const files: Record<string, string> = {
  "ok.check.ts": `import { expect, it } from "vitest";
it("one", () => expect(1).toBe(1));
it("two", () => expect(2).toBe(2));
`,
  "fail.check.ts": `import { expect, it } from "vitest";
it("fails", () => expect(1).toBe(2));
`,
  "hook.check.ts": `import { beforeAll, describe, expect, it } from "vitest";
describe("needs something missing", () => {
  beforeAll(() => { throw new Error("no such browser"); });
  it("never runs", () => expect(1).toBe(1));
});
`,
  "broken.check.ts": `import "./does-not-exist.js";
import { it } from "vitest";
it("never loads", () => {});
`,
  "vitest.config.mjs": `export default { test: { include: ["*.check.ts"], pool: "forks" } };
`,
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("summary reporter", () => {
  it("counts a failing test, a throwing beforeAll and a file that does not load as failures", () => {
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const run = spawnSync(
      path.join(root, "node_modules", ".bin", "vitest"),
      [
        "run",
        "--root",
        dir,
        "--config",
        path.join(dir, "vitest.config.mjs"),
        "--reporter",
        path.join(root, "test", "support", "summary-reporter.ts"),
      ],
      { cwd: root, encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "true" } },
    );
    const last = run.stdout.trim().split("\n").pop();
    expect(last).toBe("2 passed, 3 failed, 1 skipped");
    expect(run.status).not.toBe(0);
  });
});
