// What the serving benchmarks (bench/service.ts, bench/soak.ts) share: a compiled build of the project (what production
// runs) and the seed's model trained as the seed trains it, both under .tmp/bench-service/, made once and reused.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const WORK = join(ROOT, ".tmp", "bench-service");
export const DIST = join(WORK, "dist");
export const STORE = join(WORK, "store");

const log = (s: string): void => void process.stderr.write(`${s}\n`);

/** What `npm run build` produces — tsc's output with the server bundled — into .tmp/bench-service/dist, unless `reuse` and it is there. */
export function build(reuse: boolean): void {
  if (reuse && existsSync(join(DIST, "server", "main.js"))) return;
  log("building (tsc + server bundle) into .tmp/bench-service/dist …");
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json", "--outDir", DIST], { cwd: ROOT, stdio: "inherit" });
  execFileSync("node", [join(ROOT, "scripts", "bundle-server.mjs"), DIST], { cwd: ROOT, stdio: "inherit" });
}

export function latestVersion(): string | null {
  const file = join(STORE, "latest");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version : null;
}

/** The seed's model trained as the seed does (2,000 rows, 2 chains × 5,000 draws after 1,000 tuning), once unless `retrain`. */
export function train(retrain: boolean): string {
  const existing = latestVersion();
  if (existing !== null && !retrain) return existing;
  log("training the seed's model as the seed does (2000 rows, 2 chains × 5000 draws after 1000 tuning) …");
  execFileSync("node", [join(DIST, "cli", "main.js"), "train", "--simulate", "--store", STORE, "--no-report", "--json"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const v = latestVersion();
  if (v === null) throw new Error("training published nothing");
  return v;
}
