import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, runCli } from "./run-cli.js";

// Issue 9, item 22: what the packages ship. A LICENSE, a README with a usage example that runs, the
// repository, engines and keywords, and no `@tapegrad/source` export condition in what a consumer sees.

const PACKAGES = ["autograd", "nn", "cli"] as const;

interface PackageJson {
  name: string;
  license: string;
  files: string[];
  repository?: { type: string; url: string; directory: string };
  engines?: { node: string };
  keywords?: string[];
  exports: unknown;
  publishConfig?: { exports?: unknown };
}

async function pkg(name: string): Promise<PackageJson> {
  return JSON.parse(await readFile(join(ROOT, "packages", name, "package.json"), "utf8")) as PackageJson;
}

/** Every string of an exports map (the paths a consumer's resolver can reach). */
function targets(exportsMap: unknown): string[] {
  if (typeof exportsMap === "string") return [exportsMap];
  if (exportsMap && typeof exportsMap === "object") return Object.values(exportsMap).flatMap(targets);
  return [];
}

/** The fenced blocks of a Markdown text in a given language. */
function blocks(markdown: string, lang: string): string[] {
  return [...markdown.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1]);
}

const pnpmVersion = spawnSync("pnpm", ["--version"], { encoding: "utf8" });
const hasPnpm = pnpmVersion.status === 0;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tapegrad-item22-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("item 22: the published packages", () => {
  it("item 22: an MIT LICENSE at the root, shipped by each package", async () => {
    const license = await readFile(join(ROOT, "LICENSE"), "utf8");
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 20\d\d /);
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
    for (const name of PACKAGES) {
      const p = await pkg(name);
      expect(p.license).toBe("MIT");
      expect(p.files).toEqual(expect.arrayContaining(["dist", "LICENSE", "README.md"]));
      expect(await readFile(join(ROOT, "packages", name, "LICENSE"), "utf8")).toBe(license);
    }
  });

  it("item 22: repository, engines and keywords in each package.json", async () => {
    const root = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    for (const name of PACKAGES) {
      const p = await pkg(name);
      expect(p.repository).toMatchObject({ type: "git", directory: `packages/${name}` });
      expect(p.repository?.url).toMatch(/^git\+https:\/\/.+\.git$/);
      expect(p.engines?.node).toBe(root.engines.node);
      expect(p.keywords?.length).toBeGreaterThanOrEqual(3);
    }
  });

  it("item 22: a consumer's exports name only shipped files, without the @tapegrad/source condition", async () => {
    for (const name of PACKAGES) {
      const p = await pkg(name);
      // pnpm pack and publish put publishConfig.exports in place of exports.
      const published = p.publishConfig?.exports;
      expect(published, `${name}: publishConfig.exports`).toBeDefined();
      expect(JSON.stringify(published)).not.toContain("@tapegrad/source");
      for (const t of targets(published)) expect(t).toMatch(/^\.\/dist\//);
    }
  });

  it.skipIf(!hasPnpm)("item 22: pnpm pack: the tarball's package.json has no source condition", async () => {
    for (const name of PACKAGES) {
      const out = join(dir, name);
      execFileSync("mkdir", ["-p", out]);
      execFileSync("pnpm", ["pack", "--pack-destination", out], {
        cwd: join(ROOT, "packages", name),
        stdio: "pipe",
      });
      const tarball = execFileSync("ls", [out], { encoding: "utf8" }).trim();
      const list = execFileSync("tar", ["-tzf", join(out, tarball)], { encoding: "utf8" })
        .trim()
        .split("\n");
      expect(list).toEqual(
        expect.arrayContaining(["package/package.json", "package/LICENSE", "package/README.md"]),
      );
      for (const f of list) expect(f).toMatch(/^package\/(package\.json|LICENSE|README\.md|dist\/.+)$/);
      const packed = JSON.parse(
        execFileSync("tar", ["-xzOf", join(out, tarball), "package/package.json"], { encoding: "utf8" }),
      ) as PackageJson & { dependencies?: Record<string, string> };
      expect(JSON.stringify(packed)).not.toContain("@tapegrad/source");
      expect(JSON.stringify(packed.dependencies ?? {})).not.toContain("workspace:");
      expect(packed.exports).toEqual((await pkg(name)).publishConfig?.exports);
    }
  });

  it.each(["autograd", "nn"])("item 22: the usage example in packages/%s/README.md runs", async (name) => {
    const readme = await readFile(join(ROOT, "packages", name, "README.md"), "utf8");
    const [example] = blocks(readme, "ts");
    expect(example).toContain(`from "@tapegrad/${name}"`);
    // Run it as a consumer would, from a file inside the workspace (so the package name resolves).
    const file = join(ROOT, "test", "cli", `.readme-example-${name}.ts`);
    await writeFile(file, example);
    try {
      const r = spawnSync(process.execPath, ["--import", "tsx", "--conditions=@tapegrad/source", file], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, NODE_OPTIONS: "" },
      });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      // Each example prints what its comments promise ("// prints ...").
      for (const m of example.matchAll(/\/\/ prints (.+)$/gm)) expect(r.stdout).toContain(m[1].trim());
    } finally {
      await rm(file, { force: true });
    }
  });

  it("item 22: the commands in packages/cli/README.md run", async () => {
    const readme = await readFile(join(ROOT, "packages", "cli", "README.md"), "utf8");
    const [example] = blocks(readme, "bash");
    const commands = example
      .split("\n")
      .map((l) => l.replace(/\s+#.*$/, "").trim())
      .filter((l) => l.startsWith("tapegrad "));
    expect(commands.length).toBeGreaterThanOrEqual(3);
    for (const command of commands) {
      const r = await runCli(command.split(/\s+/).slice(1), { cwd: dir });
      expect(r.stderr, command).toBe("");
      expect(r.code, command).toBe(0);
    }
  });
});
