/**
 * End to end: builds the playground (unless an up-to-date build exists), serves it from a sub-folder of a
 * local static server and drives Debian's Chromium with playwright-core: one epoch of training, the
 * tape-vs-deltas difference, a node's detail panel, the keyboard-driven backward animation, a drawn "1",
 * the phone-width layout, and no console errors. Screenshots go to test-results/playground/.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StaticServer, serveStatic } from "./static-server.js";

const repo = join(import.meta.dirname, "../..");
const app = join(repo, "packages/playground");
const dist = join(app, "dist");
const shots = join(repo, "test-results/playground");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-quic",
  "--disable-sync",
];

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (!e.name.endsWith(".test.ts")) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** The site is rebuilt when any source it is made from is newer than dist/index.html. */
function ensureBuilt(): void {
  const built = existsSync(join(dist, "index.html")) && existsSync(join(dist, "digits.bin"));
  const sources = Math.max(
    newest(join(app, "src")),
    newest(join(app, "scripts")),
    statSync(join(app, "index.html")).mtimeMs,
    statSync(join(app, "vite.config.ts")).mtimeMs,
    newest(join(repo, "packages/autograd/src")),
    newest(join(repo, "packages/nn/src")),
  );
  if (built && statSync(join(dist, "index.html")).mtimeMs > sources) return;
  execFileSync("pnpm", ["--filter", "@tapegrad/playground", "run", "build"], { cwd: repo, stdio: "pipe" });
}

async function number(page: Page, selector: string): Promise<number> {
  return Number(await page.locator(selector).getAttribute("data-value"));
}

describe("playground in headless Chromium", () => {
  let server: StaticServer;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  const errors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `no Chromium at ${CHROMIUM}: install it with apt-get install -y chromium (or set CHROMIUM_PATH)`,
      );
    }
    ensureBuilt();
    mkdirSync(shots, { recursive: true });
    server = await serveStatic(dist, "/some/sub/folder/");
    profile = mkdtempSync(join(tmpdir(), "tapegrad-chromium-"));
    // A fresh profile folder each run (Playwright passes it to Chromium as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: FLAGS,
      viewport: { width: 1280, height: 800 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
    await page.goto(server.url);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("bundles autograd and nn for the browser without importing any Node built-in", () => {
    const assets = join(dist, "assets");
    const code = readdirSync(assets)
      .filter((f) => f.endsWith(".js"))
      .map((f) => readFileSync(join(assets, f), "utf8"));
    expect(code.length).toBeGreaterThanOrEqual(2); // the page and the worker
    // A static or dynamic import of a Node module would fail in the browser. (The Node-only paths reach their
    // modules through process.getBuiltinModule at run time, and the helper-thread source is a string.)
    const nodeImport =
      /\b(?:from|import)\s*\(?\s*["'`](?:node:[a-z_/]+|fs|path|os|worker_threads|zlib)["'`]/g;
    const found = code.flatMap((text) => [...text.matchAll(nodeImport)].map((m) => m[0]));
    expect(found).toEqual([]);
  });

  it("loads the digits and draws the article's f_i graph from the tape", async () => {
    await page.locator("#run:not([disabled])").waitFor({ timeout: 60_000 });
    const nodes = await page
      .locator(".card")
      .evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.node));
    expect(nodes.sort()).toEqual(
      ["W_1", "W_2", "X", "Y", "b_1", "b_2", "f_1", "f_2", "f_3", "f_4", "f_5"].sort(),
    );
    await expect
      .poll(() => page.locator("#message").textContent())
      .toContain("8,000 training and 2,000 test digits");
  });

  it("trains one epoch in the worker to above 80% test accuracy, tape and deltas agreeing below 1e-4", async () => {
    await page.fill("#epochs", "1");
    await page.click("#run");
    await page.locator('#epochs-done[data-value="1"]').waitFor({ timeout: 180_000 });
    await expect.poll(() => page.locator("#run").textContent(), { timeout: 10_000 }).toBe("Train"); // stopped at 1
    const accuracy = await number(page, "#test-accuracy");
    expect(accuracy).toBeGreaterThan(0.8);
    const diff = await number(page, "#tape-diff");
    expect(Number.isFinite(diff)).toBe(true);
    expect(diff).toBeLessThan(1e-4);
    expect(await page.locator("#compare-rows tr").count()).toBe(4);
    expect(await number(page, "#kernels")).toBeGreaterThan(0.5); // the matrix products ran in WASM SIMD
    // Chromium ships relaxed SIMD (since 114): the products fuse their multiply-adds without any flag.
    expect(await page.locator("#kernels").getAttribute("data-fma")).toBe("true");
    const seconds = await number(page, "#epoch-seconds");
    expect(seconds).toBeGreaterThan(0);
    writeFileSync(
      join(shots, "timing.json"),
      `${JSON.stringify({ browserSecondsPerEpoch: seconds, testAccuracy: accuracy, tapeVsDeltas: diff }, null, 2)}\n`,
    );
    console.log(
      `playground: 1 epoch in ${seconds.toFixed(2)} s in Chromium, test accuracy ${(100 * accuracy).toFixed(1)}%, tape vs deltas ${diff.toExponential(2)}`,
    );
    await page.screenshot({ path: join(shots, "trained-1280.png"), fullPage: true });
  }, 240_000);

  it("shows a node's tensor and delta formula when its box is clicked", async () => {
    await page.click('.card[data-node="f_3"]');
    await expect.poll(() => page.locator('.card[data-node="f_3"]').getAttribute("aria-pressed")).toBe("true");
    const delta = await page.locator("#detail-body .formula .delta").textContent();
    expect(delta).toContain("δ2 = ∂L/∂f3 = ∂L/∂f4 ⊙ a′(f3)");
    expect(await page.locator("#detail-body .summary").count()).toBe(2);
    await page.click('.card[data-node="W_1"]');
    expect(await page.locator("#detail-body .formula .delta").textContent()).toContain("∂L/∂W1 = f0ᵀ · δ1");
    const tiles = await page
      .locator("#detail-heat canvas")
      .evaluate((c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    expect(tiles).toEqual([298, 88]); // 30 units as 28×28 tiles, 10 per row, 2 px apart
    await page.screenshot({ path: join(shots, "node-W1.png"), fullPage: true });
  });

  it("Step, pressed from the keyboard, replays the backward pass node by node from the loss", async () => {
    await page.focus("#step");
    await page.keyboard.press("Enter");
    await page.locator('.card.active[data-node="f_5"]').waitFor({ timeout: 10_000 });
    await page.locator('.card.active[data-node="f_1"]').waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(shots, "backward-step.png") });
    await expect
      .poll(() => page.locator("#backward-caption").textContent(), { timeout: 15_000 })
      .toContain("Backward pass done");
  }, 40_000);

  it("predicts a digit drawn on the canvas and draws its saliency map", async () => {
    const box = await page.locator("#pad").boundingBox();
    if (!box) throw new Error("no drawing pad");
    await page.locator("#pad").scrollIntoViewIfNeeded();
    const b = (await page.locator("#pad").boundingBox()) ?? box;
    const x = b.x + b.width * 0.52;
    await page.mouse.move(x - b.width * 0.06, b.y + b.height * 0.22);
    await page.mouse.down();
    await page.mouse.move(x, b.y + b.height * 0.15, { steps: 4 });
    await page.mouse.move(x, b.y + b.height * 0.85, { steps: 20 });
    await page.mouse.up();
    await expect
      .poll(() => page.locator("#prediction").getAttribute("data-value"), { timeout: 10_000 })
      .toMatch(/^[0-9]$/);
    expect(await page.locator("#prob-bars li").count()).toBe(10);
    const predicted = await page.locator("#prediction").getAttribute("data-value");
    console.log(`playground: the drawn "1" was read as ${predicted}`);
    await page.screenshot({ path: join(shots, "drawn-1.png") });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(shots, "playground.png"), fullPage: true });
  });

  it("puts a test digit on the pad from the keyboard and predicts it", async () => {
    await page.focus("#sample");
    await page.keyboard.press("Enter");
    await expect
      .poll(() => page.locator("#pad").getAttribute("aria-label"))
      .toMatch(/showing test digit \d+, labelled \d/);
    await expect.poll(() => page.locator("#prediction").getAttribute("data-value")).toMatch(/^[0-9]$/);
  });

  it("builds the network chosen in the form on Reset: 784-20-20-10 relu, softmax cross-entropy, Adam", async () => {
    await page.fill("#sizes", "784, 20, 20, 10");
    await page.selectOption("#activation", "relu");
    await page.selectOption("#loss", "softmaxCrossEntropy");
    await page.selectOption("#optimizer", "adam");
    expect(Number(await page.inputValue("#lr"))).toBeLessThan(0.1); // the optimiser's own learning rate
    await page.click("#reset");
    await expect
      .poll(() => page.locator("#message").textContent())
      .toContain("[784-20-20-10] relu, softmaxCrossEntropy loss, adam");
    expect(await page.locator('.card[data-node="f_7"]').count()).toBe(1);
    expect(await page.locator('.card[data-node="W_3"]').count()).toBe(1);
    expect(await page.locator("#compare-rows tr").count()).toBe(6);
    await page.click('.card[data-node="f_6"]');
    expect(await page.locator("#detail-body .formula .delta").textContent()).toContain(
      "(softmax(f6) − Y) / n",
    );
    await page.click("#step");
    await expect.poll(() => page.locator("#batch").textContent()).toBe("1 / 800");
    expect(await number(page, "#tape-diff")).toBeLessThan(1e-4);
    await page.fill("#sizes", "784, 30");
    await page.click("#reset");
    await expect.poll(() => page.locator("#config-error").textContent()).toContain("the last must be 10");
  }, 30_000);

  it("fits a 390 px wide phone screen without sideways scrolling of the page", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await page.screenshot({ path: join(shots, "phone-390.png"), fullPage: true });
  });

  it("logged no console errors", () => {
    expect(errors).toEqual([]);
  });
});
