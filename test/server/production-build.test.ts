// What production runs: tsc's output with the server bundled by esbuild (scripts/bundle-server.mjs), built here into
// a temporary folder inside the repository (so node_modules resolves) and started as `node …/server/main.js`. It must
// become ready, answer a light request on the event loop and a heavy one on the sampling worker (whose file the bundle
// finds beside itself), serve the docs' static assets (@fastify/swagger-ui, left outside the bundle) and the page with
// the script the build compiled (server/page/browser.js), and stop on SIGTERM; without that script it must refuse to
// start, naming it. The other server tests run the TypeScript sources; this one guards the bundling.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Script } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVING_NODE_OPTIONS } from "../../src/server/constants.js";
import { storeWithSeedModel, type TempStore } from "./fixtures.js";

const ROOT = join(import.meta.dirname, "..", "..");
let out: string;
let store: TempStore & { version: string };

beforeAll(async () => {
  store = await storeWithSeedModel();
  out = mkdtempSync(join(ROOT, ".tmp-build-"));
  execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(ROOT, "tsconfig.build.json"), "--outDir", out], {
    cwd: ROOT,
  });
  execFileSync(process.execPath, [join(ROOT, "scripts", "bundle-server.mjs"), out], { cwd: ROOT });
}, 180_000);

afterAll(() => {
  store?.cleanup();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe("the production build", () => {
  it("starts, answers light and heavy requests and serves the docs, then stops on SIGTERM", async () => {
    // Run as an executable, as a deployment would: its shebang carries the serving V8 settings.
    const child = spawn(join(out, "server", "main.js"), ["--model", store.dir, "--port", "0", "--host", "127.0.0.1"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        const m = /"msg":"ready"/.test(stdout) ? /"url":"(http:\/\/[^"]+)"/.exec(stdout) : null;
        if (m) resolve(m[1]);
      });
      child.once("exit", (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    });
    const post = (body: unknown) =>
      fetch(`${url}/predict/v1.0.0/interval`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const light = await post({ data: { x: 5, category: 2 } });
    expect(light.status).toBe(200);
    expect(await light.json()).toMatchObject({ algo_param: 100 });
    const heavy = await post({ data: { x: 5, category: 2 }, algo_param: { n_samples: 100_000 } });
    expect(heavy.status).toBe(200);
    const h = (await heavy.json()) as { y_pred_lower: number; y_pred_upper: number };
    expect(h.y_pred_lower).toBeLessThan(h.y_pred_upper);
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    const css = await fetch(`${url}/docs/static/swagger-ui.css`);
    expect(css.status).toBe(200);
    expect((await css.text()).length).toBeGreaterThan(1000);
    // The page: the build's compiled script and style sheet inline, as plain JavaScript (no TypeScript left).
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'sha256-");
    const html = await page.text();
    const script = readFileSync(join(out, "server", "page", "browser.js"), "utf8");
    expect(html).toContain(`<script>${script}</script>`);
    expect(html).toContain(`<style>${readFileSync(join(out, "server", "page", "page.css"), "utf8")}</style>`);
    expect(() => new Script(script)).not.toThrow();
    expect(script).not.toContain("interface ");
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 60_000);

  it("refuses to start without the page's compiled script, naming it", () => {
    const script = join(out, "server", "page", "browser.js");
    renameSync(script, `${script}.away`);
    try {
      const r = spawnSync(join(out, "server", "main.js"), ["--model", store.dir, "--port", "0", "--host", "127.0.0.1"], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(r.status).not.toBe(0);
      expect(r.status).not.toBe(null);
      expect(`${r.stdout}${r.stderr}`).toContain(`${script} cannot be read`);
    } finally {
      renameSync(`${script}.away`, script);
    }
  }, 60_000);

  it("has executable entry points, and every copy of the serving V8 settings is SERVING_NODE_OPTIONS", () => {
    for (const bin of [join(out, "cli", "main.js"), join(out, "server", "main.js")]) expect(statSync(bin).mode & 0o111).toBe(0o111);
    // A shebang, package.json and the README cannot import the constant; they must say the same.
    const shebang = readFileSync(join(out, "server", "main.js"), "utf8").split("\n")[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${SERVING_NODE_OPTIONS}`);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } };
    expect(pkg.scripts.start).toContain(`node ${SERVING_NODE_OPTIONS} dist/cli/main.js start`);
    expect(readFileSync(join(ROOT, "README.md"), "utf8")).toContain(`NODE_OPTIONS="${SERVING_NODE_OPTIONS}"`);
  });

  it('is a package a project imports by name: `import { model, Normal, fit } from "bayes-serve"`, with types', () => {
    // A project with bayes-serve in its node_modules: the package.json (its exports) and the build.
    const project = join(out, "consumer");
    const installed = join(project, "node_modules", "bayes-serve");
    mkdirSync(installed, { recursive: true });
    copyFileSync(join(ROOT, "package.json"), join(installed, "package.json"));
    symlinkSync(out, join(installed, "dist"));
    writeFileSync(join(project, "package.json"), '{"name": "consumer", "type": "module"}');
    writeFileSync(
      join(project, "fit.mts"),
      [
        'import { fit, model, Normal, HalfNormal, summarize, type Posterior } from "bayes-serve";',
        'const m = model("mean", (b) => { const mu = b.param("mu", Normal(0, 10)); const s = b.param("s", HalfNormal(5)); b.observe("obs", Normal(mu, s), b.data("y")); });',
        "const p: Posterior = await fit(m, { y: [1.1, 0.9, 1.3, 0.7, 1.0] }, { chains: 1, draws: 200, tune: 200, progress: false });",
        'const mu = summarize(p).find((r) => r.name === "mu");',
        "console.log(JSON.stringify({ name: m.name, mu: mu?.mean }));",
      ].join("\n"),
    );
    // Types from dist/index.d.ts, through the package's exports, as an editor or tsc in that project sees them.
    execFileSync(
      process.execPath,
      [
        join(ROOT, "node_modules", "typescript", "bin", "tsc"),
        "--noEmit",
        "--strict",
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--skipLibCheck",
        "--types",
        "node",
        "--typeRoots",
        join(ROOT, "node_modules", "@types"),
        join(project, "fit.mts"),
      ],
      { cwd: project },
    );
    execFileSync(
      process.execPath,
      [
        join(ROOT, "node_modules", "typescript", "bin", "tsc"),
        "--module",
        "nodenext",
        "--moduleResolution",
        "nodenext",
        "--target",
        "es2022",
        "--skipLibCheck",
        "--types",
        "node",
        "--typeRoots",
        join(ROOT, "node_modules", "@types"),
        join(project, "fit.mts"),
      ],
      { cwd: project },
    );
    const printed = JSON.parse(execFileSync(process.execPath, [join(project, "fit.mjs")], { cwd: project, encoding: "utf8" })) as { name: string; mu: number };
    expect(printed.name).toBe("mean");
    expect(printed.mu).toBeGreaterThan(0.5);
    expect(printed.mu).toBeLessThan(1.5);
  }, 120_000);
});
