// Bundles the prediction server (dist/server/server.js and everything it imports: Fastify, ajv, TypeBox, pino,
// prom-client, our plugins) into that one file, in place, after tsc. Loading ~400 modules one by one took ~0.45 s of
// a ~0.9 s start on the development machine; the bundle loads in about a third of that, which is what the 1-second
// readiness goal (and a Kubernetes rollout) feels. Both entries that start the server — `bayes-serve serve` and the
// lean dist/server/main.js — import server.js dynamically, so both get the bundle; nothing else imports it.
//
// Left outside the bundle: packages that read files beside their own code (@fastify/swagger-ui serves its static
// assets from its package folder), and the AWS SDK, which the S3 store imports only when an s3:// store is used.
// The worker threads' entry files (sampling-worker.js) stay tsc's output in the same folder, so the URL the pool
// builds from import.meta.url still finds them.
//
// It also marks the two entry points executable — the `bayes-serve` bin (dist/cli/main.js) and the lean server
// (dist/server/main.js) — as tsc writes plain files: `npx bayes-serve` and the server's shebang (which carries the
// serving V8 settings) need the execute bit.
//   node scripts/bundle-server.mjs [DIST]   (default: the repository's dist/)
import { build } from "esbuild";
import { chmodSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dist = process.argv[2] ? resolve(process.argv[2]) : fileURLToPath(new URL("../dist", import.meta.url));
const entry = resolve(dist, "server", "server.js");
await build({
  entryPoints: [entry],
  outfile: entry,
  allowOverwrite: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["@fastify/swagger-ui", "@aws-sdk/*"],
  // CommonJS packages inside an ES module bundle call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);' },
  legalComments: "none",
  logLevel: "warning",
});
for (const bin of [resolve(dist, "cli", "main.js"), resolve(dist, "server", "main.js")]) chmodSync(bin, 0o755);
