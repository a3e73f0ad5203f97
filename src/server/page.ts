// GET /: a small self-contained page for a person, showing the served model's answers for inputs they choose (what
// the page does is its script's: page/browser.ts). No CDN, no framework: one HTML document with its script and style
// inline, allowed by a hash-based CSP. The script and the style are files of their own in page/: from the sources the
// script is compiled once at start-up; the build compiles it into dist/server/page/ beside page.css.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from "fastify";
import { BayesServeError } from "../errors.js";
import type { ModelHolder } from "./model-holder.js";
import { PAGE_FILES, compileBrowserScript } from "./page/assets.js";
import { PREDICT_PREFIX } from "./schemas.js";

export interface PagePluginOptions {
  holder: ModelHolder;
}

/** The page's script, compiled, and its style sheet, as the page inlines them. */
export interface PageAssets {
  script: string;
  style: string;
}

// page/ beside this file: src/server/page/ from the sources; dist/server/page/ from the build, where this module is
// part of the server bundle (dist/server/server.js), in the same folder as tsc's page.js.
const ASSET_FOLDER = new URL("./page/", import.meta.url);
const FROM_SOURCE = import.meta.url.endsWith(".ts");

async function readAsset(url: URL, fromSource: boolean): Promise<string> {
  const path = fileURLToPath(url);
  let text: string;
  try {
    text = await readFile(url, "utf8");
  } catch (e) {
    const how = fromSource ? "" : " (`npm run build` writes it)";
    throw new BayesServeError("CONFIG", `the page's asset ${path} cannot be read${how}: ${(e as Error).message}`, { cause: e });
  }
  if (text.trim() === "") throw new BayesServeError("CONFIG", `the page's asset ${path} is empty`);
  return text;
}

/**
 * Reads the page's style sheet and script from `folder`: the script's TypeScript source compiled (from the sources) or
 * the build's compiled script. Anything missing, empty, not compiling or unable to sit inside its HTML element is an
 * error naming the file, so that a server never starts with a broken page.
 */
export async function loadPageAssets(folder: URL = ASSET_FOLDER, fromSource: boolean = FROM_SOURCE): Promise<PageAssets> {
  const style = await readAsset(new URL(PAGE_FILES.styleSheet, folder), fromSource);
  const scriptUrl = new URL(fromSource ? PAGE_FILES.scriptSource : PAGE_FILES.compiledScript, folder);
  const file = await readAsset(scriptUrl, fromSource);
  const script = fromSource ? await compileBrowserScript(file, fileURLToPath(scriptUrl)) : file;
  // Inline, the text must not close its own element early.
  if (/<\/script/i.test(script)) throw new BayesServeError("CONFIG", `the page's script ${fileURLToPath(scriptUrl)} contains "</script"`);
  if (/<\/style/i.test(style))
    throw new BayesServeError("CONFIG", `the page's style sheet ${fileURLToPath(new URL(PAGE_FILES.styleSheet, folder))} contains "</style"`);
  return { script, style };
}

// Read (and, from the sources, compiled) once per process, however many servers it starts.
let loaded: Promise<PageAssets> | undefined;

/** The page's HTML with its assets inline (exported for tests). */
export function pageHtml(assets: PageAssets): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bayes-serve</title>
<link rel="icon" href="data:,">
<style>${assets.style}</style>
</head>
<body data-predict-prefix="${PREDICT_PREFIX}">
<header>
  <h1>bayes-serve · <span id="model-name">…</span></h1>
  <span class="badge" id="version">loading</span>
  <span class="badge" id="gate"></span>
  <span class="badge" id="family"></span>
  <span class="meta" id="created"></span>
</header>
<main>
  <section>
    <h2>Inputs</h2>
    <div id="features"></div>
    <h2 class="spaced">Question</h2>
    <label for="hdi">HDI probability</label>
    <input id="hdi" type="number" min="0.01" max="0.99" step="0.01" value="0.95">
    <div class="row">
      <div><label for="n-samples">n_samples</label><input id="n-samples" type="number" min="1" step="1" value="5000"></div>
      <div><label for="bins">bins</label><input id="bins" type="number" min="1" step="1" value="30"></div>
    </div>
    <button id="go" type="button">Predict</button>
    <div id="error" role="alert"></div>
  </section>
  <section>
    <h2>Posterior predictive</h2>
    <div class="answers">
      <div>point (median)<b id="a-point">–</b></div>
      <div><span id="a-hdi">HDI</span><b id="a-interval">–</b></div>
      <div><span id="a-mean-label">mean</span><b id="a-mean">–</b></div>
      <div>samples<b id="a-n">–</b></div>
    </div>
    <div id="plot"></div>
    <p class="caption" id="caption"></p>
  </section>
</main>
<div class="wrap">
  <div class="side-tables">
    <section><h2>Metrics (held-out data)</h2><table id="metrics"></table></section>
    <section><h2>Diagnostics</h2><table id="diagnostics"></table><p class="caption" id="diag-note"></p></section>
  </div>
</div>
<footer><p>API: <a href="/docs">/docs</a> · <a href="/openapi.json">/openapi.json</a> · <a href="/model">/model</a> · <a href="/metrics">/metrics</a> · limits: <span id="limits"></span></p></footer>
<script>${assets.script}</script>
</body>
</html>
`;
}

const hash = (text: string): string => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** The page's Content-Security-Policy: nothing but its own inline script and style, and requests to this server. */
export function pageCsp(assets: PageAssets): string {
  return [
    "default-src 'none'",
    `script-src ${hash(assets.script)}`,
    `style-src ${hash(assets.style)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

export const pagePlugin: FastifyPluginAsync<PagePluginOptions> = async (app: FastifyInstance) => {
  const assets = await (loaded ??= loadPageAssets());
  const html = pageHtml(assets);
  const csp = pageCsp(assets);
  app.get("/", { schema: { hide: true } }, async (_request, reply: FastifyReply) => {
    reply.header("content-security-policy", csp).header("x-content-type-options", "nosniff").type("text/html; charset=utf-8");
    return html;
  });
};
