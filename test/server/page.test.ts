// The page at GET /, end to end in headless Chromium (Debian's chromium, driven by playwright-core): inputs built from
// the model's features, the predictive density drawn with the HDI shaded and the median marked, the version and
// metrics shown, no console errors (the CSP allows the inline script and style), and a screenshot to look at. And the
// script it serves: the TypeScript of src/server/page/browser.ts compiled, its hash in the CSP; a page asset missing,
// empty or not compiling stops the server at start-up with its file named.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Script } from "node:vm";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPageAssets } from "../../src/server/page.js";
import { PAGE_FILES, compileBrowserScript } from "../../src/server/page/assets.js";
import type { RunningServer } from "../../src/server/server.js";
import { storeWithSeedModel, type TempStore, startTestServer } from "./fixtures.js";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = "/tmp/page-check";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  process.stderr.write(`page test skipped: ${CHROMIUM} is absent (scripts/install-system-deps.sh installs Debian's chromium)\n`);
}

let store: TempStore & { version: string };
let server: RunningServer;
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!haveChromium) return;
  store = await storeWithSeedModel();
  server = await startTestServer(store.dir);
  profile = mkdtempSync(join(tmpdir(), "bayes-serve-chromium-"));
  // A fresh profile: playwright passes it to Chromium as --user-data-dir.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport: { width: 1200, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  if (!haveChromium) return;
  await browser?.close();
  await server?.close();
  store?.cleanup();
  rmSync(profile, { recursive: true, force: true });
});

describe.skipIf(!haveChromium)("the page", () => {
  it("shows the model, its inputs and the predictive density with the HDI and the median", async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    const response = await page.goto(`${server.url}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'sha256-");
    await page.waitForSelector("body[data-ready='1']", { timeout: 20_000 });

    // Header: version and model name from GET /model.
    expect(await page.textContent("#version")).toBe(store.version);
    expect(await page.textContent("#model-name")).toBe("seed-regression");
    expect(await page.textContent("#gate")).toBe("quality gate passed");
    // Inputs generated from the features: a number for x, a select with the three categories.
    expect(await page.getAttribute("#f-x", "type")).toBe("number");
    expect(await page.$$eval("#f-category option", (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(["0", "1", "2"]);
    // Metrics and diagnostics tables.
    expect(await page.textContent("#metrics")).toContain("mape");
    expect(await page.textContent("#diagnostics")).toContain("beta[0]");

    // The plot: 30 bars, the HDI band, the median line, and the numbers agree with each other.
    expect(await page.$$eval("#bars rect", (rs) => rs.length)).toBe(30);
    const band = await page.$eval("#hdi-band", (r) => ({ x: Number(r.getAttribute("x")), w: Number(r.getAttribute("width")) }));
    const line = await page.$eval("#point-line", (l) => Number(l.getAttribute("x1")));
    expect(band.w).toBeGreaterThan(50);
    expect(line).toBeGreaterThan(band.x);
    expect(line).toBeLessThan(band.x + band.w);
    const point = Number(await page.textContent("#a-point"));
    expect(point).toBeGreaterThan(7);
    expect(point).toBeLessThan(8);
    const interval = (await page.textContent("#a-interval")) ?? "";
    const [lo, hi] = interval.replace(/[[\]]/g, "").split(",").map(Number);
    expect(lo).toBeLessThan(point);
    expect(hi).toBeGreaterThan(point);
    await page.screenshot({ path: join(SHOTS, "page.png"), fullPage: true });

    // Change an input: the answers follow (category 0 at x = 5 is near 5, not 7.5).
    await page.selectOption("#f-category", "0");
    await page.waitForFunction(() => Math.abs(Number(document.getElementById("a-point")?.textContent) - 5) < 0.6, undefined, { timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, "page-category-0.png"), fullPage: true });

    // A bad input shows the server's 422 message instead of a broken plot.
    await page.fill("#f-x", "1e13");
    await page.dispatchEvent("#f-x", "change");
    await page.waitForFunction(() => (document.getElementById("error")?.textContent ?? "").includes("data.x"), undefined, { timeout: 10_000 });
    expect(await page.textContent("#error")).toContain("ensure this value is less than or equal to 1000000000000");

    // 422 responses log a console error in Chromium ("Failed to load resource"); nothing else may.
    expect(
      problems.filter((p) => !p.includes("status of 422")),
      JSON.stringify(problems),
    ).toEqual([]);
    await page.close();
  });

  it("Swagger UI renders the API at /docs", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/docs`);
    await page.waitForSelector(".opblock-summary-path", { timeout: 20_000 });
    const paths = await page.$$eval(".opblock-summary-path", (es) => es.map((e) => e.getAttribute("data-path")));
    expect(paths).toEqual(expect.arrayContaining(["/predict/v1.0.0/point", "/predict/v1.0.0/interval", "/predict/v1.0.0/density", "/model"]));
    // The request body example is the model's.
    await page.click('[data-path="/predict/v1.0.0/interval"]');
    await page.waitForSelector(".body-param__example, .highlight-code", { timeout: 10_000 });
    expect(await page.textContent(".opblock-body")).toContain('"hdi_probability"');
    await page.screenshot({ path: join(SHOTS, "docs.png") });
    await page.close();
  });
});

const PAGE_SOURCE = join(import.meta.dirname, "..", "..", "src", "server", "page");
const parsesAsJavaScript = (code: string): boolean => {
  try {
    new Script(code);
    return true;
  } catch {
    return false;
  }
};

describe("the page's assets", () => {
  it("serves browser.ts compiled: JavaScript with no TypeScript left, its hash in the CSP", async () => {
    const store = await storeWithSeedModel();
    const running = await startTestServer(store.dir);
    try {
      const response = await fetch(`${running.url}/`);
      expect(response.status).toBe(200);
      const html = await response.text();
      const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
      const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? "";
      const source = readFileSync(join(PAGE_SOURCE, PAGE_FILES.scriptSource), "utf8");
      // The source is TypeScript (it does not parse as JavaScript); what the page carries does, and is its compilation.
      expect(source).toContain("function table(target: string, rows: Row[], columns: string[]): void");
      expect(parsesAsJavaScript(source)).toBe(false);
      expect(parsesAsJavaScript(script)).toBe(true);
      expect(script).toBe(await compileBrowserScript(source, join(PAGE_SOURCE, PAGE_FILES.scriptSource)));
      expect(script).not.toMatch(/\binterface\b|: string\b|as ModelInfo/);
      expect(style).toBe(readFileSync(join(PAGE_SOURCE, PAGE_FILES.styleSheet), "utf8"));
      const sha = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
      const csp = response.headers.get("content-security-policy") ?? "";
      expect(csp).toContain(`script-src ${sha(script)}`);
      expect(csp).toContain(`style-src ${sha(style)}`);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(html).toContain('<body data-predict-prefix="/predict/v1.0.0">');
    } finally {
      await running.close();
      store.cleanup();
    }
  }, 60_000);

  it("refuses to start with an asset missing, empty or not compiling, naming the file", async () => {
    const folder = mkdtempSync(join(tmpdir(), "bayes-serve-page-"));
    const url = pathToFileURL(folder + "/");
    try {
      // The build's form: the compiled script is missing.
      writeFileSync(join(folder, PAGE_FILES.styleSheet), "body { margin: 0; }\n");
      await expect(loadPageAssets(url, false)).rejects.toThrow(`${join(folder, PAGE_FILES.compiledScript)} cannot be read (\`npm run build\` writes it)`);
      writeFileSync(join(folder, PAGE_FILES.compiledScript), "\n");
      await expect(loadPageAssets(url, false)).rejects.toThrow(`${join(folder, PAGE_FILES.compiledScript)} is empty`);
      // The sources' form: a script that does not compile names its file and line.
      writeFileSync(join(folder, PAGE_FILES.scriptSource), "const a: number = 1;\nconst b = (;\n");
      await expect(loadPageAssets(url, true)).rejects.toThrow(`${join(folder, PAGE_FILES.scriptSource)} does not compile`);
      await expect(loadPageAssets(url, true)).rejects.toThrow(`${join(folder, PAGE_FILES.scriptSource)}:2:`);
      // A script that would close its own element early (esbuild escapes "</script" in strings; a file may not).
      writeFileSync(join(folder, PAGE_FILES.compiledScript), 'console.log("</script>");\n');
      await expect(loadPageAssets(url, false)).rejects.toThrow('contains "</script"');
      // Both well formed: compiled, with the style sheet as it is.
      writeFileSync(join(folder, PAGE_FILES.scriptSource), "const n: number = 1;\nconsole.log(n);\n");
      const assets = await loadPageAssets(url, true);
      expect(parsesAsJavaScript(assets.script)).toBe(true);
      expect(assets.script).toContain("const n = 1;");
      expect(assets.style).toBe("body { margin: 0; }\n");
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
