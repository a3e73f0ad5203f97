// Bundles, in place after tsc, the entry files whose start-up time users wait for. Loading hundreds of small modules
// one by one costs more than the code they hold; one file each loads in a fraction of that time:
// - the prediction server (dist/server/server.js and everything it imports: Fastify, ajv, TypeBox, pino, prom-client,
//   our plugins) — what the 1-second readiness goal (and a Kubernetes rollout) feels. Both entries that start the
//   server — `bayes-serve serve` and the lean dist/server/main.js — import server.js dynamically, so both get the
//   bundle; nothing else imports it. Left outside it: packages that read files beside their own code
//   (@fastify/swagger-ui serves its static assets from its package folder), and the AWS SDK, which the S3 store
//   imports only when an s3:// store is used. The server's worker threads' entry files (sampling-worker.js) stay tsc's
//   output in the same folder, so the URL the pool builds from import.meta.url still finds them;
// - the chain worker (dist/inference/chain-worker.js): each chain of a fit starts a worker thread that loads the model
//   compiler and the sampler before its first gradient — a fixed cost of every fit, paid once per chain; and the
//   shard worker (dist/inference/shard-worker.js), one per helper thread of --threads-per-chain;
// - the Parquet worker (dist/train/parquet-worker.js): train decodes each Parquet object on a thread of its own, which
//   loads hyparquet and the value checks before it reads a page;
// - the report layer (dist/report/index.js: Vega, Vega-Lite, d3 — ~300 modules), which train imports while the
//   chains run. resvg stays outside: it loads a native binary from its own package.
// Each bundle holds its own copy of the few modules of ours it imports; none of them shares state with the importer
// (the chain worker answers by message, the report layer with plain data). Errors do cross from the server bundle to
// the command line: BayesServeError is recognised by a global brand, not by its class object (src/errors.ts).
//
// It also compiles the page's browser script (src/server/page/browser.ts, with the options the server uses when run from
// the sources: dist/server/page/assets.js, tsc's output) into dist/server/page/browser.js and copies its style
// sheet beside it: the server bundle reads both from there at start-up.
//
// It also marks the two entry points executable — the `bayes-serve` bin (dist/cli/main.js) and the lean server
// (dist/server/main.js) — as tsc writes plain files: `npx bayes-serve` and the server's shebang (which carries the
// serving V8 settings) need the execute bit.
//   node scripts/bundle-server.mjs [DIST]   (default: the repository's dist/)
import { build } from "esbuild";
import { copyFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dist = process.argv[2] ? resolve(process.argv[2]) : fileURLToPath(new URL("../dist", import.meta.url));
const pageSource = fileURLToPath(new URL("../src/server/page", import.meta.url));
const BUNDLES = [
  // esbuild: the page module compiles the page's script with it only when run from the sources.
  { entry: resolve(dist, "server", "server.js"), external: ["@fastify/swagger-ui", "@aws-sdk/*", "esbuild"] },
  { entry: resolve(dist, "inference", "chain-worker.js"), external: [] },
  { entry: resolve(dist, "inference", "shard-worker.js"), external: [] },
  { entry: resolve(dist, "train", "parquet-worker.js"), external: [] },
  { entry: resolve(dist, "report", "index.js"), external: ["@resvg/resvg-js"] },
];
for (const { entry, external } of BUNDLES)
  await build({
    entryPoints: [entry],
    outfile: entry,
    allowOverwrite: true,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external,
    // CommonJS packages inside an ES module bundle call require() for Node's built-ins.
    banner: { js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);' },
    legalComments: "none",
    logLevel: "warning",
  });
const { compileBrowserScript, PAGE_FILES } = await import(pathToFileURL(resolve(dist, "server", "page", "assets.js")).href);
const pageOut = resolve(dist, "server", "page");
mkdirSync(pageOut, { recursive: true });
const scriptSource = resolve(pageSource, PAGE_FILES.scriptSource);
writeFileSync(resolve(pageOut, PAGE_FILES.compiledScript), await compileBrowserScript(readFileSync(scriptSource, "utf8"), scriptSource));
copyFileSync(resolve(pageSource, PAGE_FILES.styleSheet), resolve(pageOut, PAGE_FILES.styleSheet));
for (const bin of [resolve(dist, "cli", "main.js"), resolve(dist, "server", "main.js")]) chmodSync(bin, 0o755);
