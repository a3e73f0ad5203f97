// Sampler benchmark: the seed's model with the seed's settings (2 chains, 1000 warm-up + 5000 draws), beside Stan
// (rstan, ../shared/peers/stan_time.R) in the same run when R and rstan are installed.
//   npm run bench:sampler -- [--data FILE.csv] [--seed N] [--no-stan]
// Last line: SAMPLER_RESULT: {chain_seconds, min_ess_bulk, min_ess_bulk_per_s, leapfrog_per_draw, divergences, ...}
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { summarize } from "../src/diagnostics/index.js";
import { fit } from "../src/inference/index.js";
import { seedRegression } from "../src/models/seed-regression.js";
import { readCsv } from "../src/train/csv.js";
import { simulateSeedData, SEED_SIMULATION } from "../src/train/simulate.js";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const seed = Number(flag("--seed") ?? 1);
const dataFile = flag("--data");
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const peers = path.resolve(repo, "../shared/peers");

let x: Float64Array, category: Float64Array, y: Float64Array;
if (dataFile) {
  const t = await readCsv(dataFile, [
    { name: "x", type: "float" },
    { name: "category", type: "category", levels: 3 },
    { name: "y", type: "float" },
  ]);
  ({ x, category, y } = t.columns as { x: Float64Array; category: Float64Array; y: Float64Array });
} else {
  const d = simulateSeedData({ ...SEED_SIMULATION, rows: 1600, seed });
  x = d.x;
  category = Float64Array.from(d.category);
  y = d.y;
}
const N = x.length;
console.log(`seed model, ${N} rows, 2 chains × (1000 warm-up + 5000 draws)`);

const posterior = await fit(seedRegression, { x, category, y }, { chains: 2, tune: 1000, draws: 5000, seed, progress: false });
const summary = summarize({ names: posterior.names, chains: posterior.chains, draws: posterior.draws, values: posterior.values });
const k = posterior.statNames.length;
const nl = posterior.statNames.indexOf("n_leapfrog");
const dv = posterior.statNames.indexOf("diverging");
let leapfrog = 0;
let divergences = 0;
for (let i = 0; i < posterior.stats.length; i += k) {
  leapfrog += posterior.stats[i + nl];
  divergences += posterior.stats[i + dv];
}
const minEss = Math.min(...summary.map((r) => r.essBulk));
const ours = {
  chain_seconds: posterior.seconds,
  min_ess_bulk: minEss,
  min_ess_bulk_per_s: minEss / posterior.seconds,
  leapfrog_per_draw: leapfrog / (posterior.chains * posterior.draws),
  divergences,
  mean: Object.fromEntries(summary.map((r) => [r.name, r.mean])),
  ess_bulk: Object.fromEntries(summary.map((r) => [r.name, r.essBulk])),
};
console.log(`bayes-serve: ${fmt(ours)}`);

let stan: Record<string, unknown> | null = null;
const haveR = spawnSync("Rscript", ["-e", "suppressMessages(library(rstan))"], { stdio: "ignore" }).status === 0;
if (args.includes("--no-stan")) console.log("Stan: skipped (--no-stan)");
else if (!haveR) console.log("Stan: skipped (Rscript with rstan not installed: apt-get install -y r-cran-rstan r-cran-posterior r-cran-jsonlite)");
else {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-stan-"));
  const dataJson = path.join(dir, "data.json");
  writeFileSync(dataJson, JSON.stringify({ N, x: Array.from(x), c: Array.from(category, (c) => c + 1), y: Array.from(y) }));
  const model = path.join(dir, "seed_model.stan");
  // A copy beside the data so rstan's auto_write cache lands in the temp dir, not in ../shared.
  writeFileSync(model, execFileSync("cat", [path.join(peers, "seed_model.stan")]));
  if (existsSync(path.join(peers, "seed_model.rds"))) writeFileSync(path.join(dir, "seed_model.rds"), execFileSync("cat", [path.join(peers, "seed_model.rds")]));
  console.log("Stan: compiling and sampling (compilation takes ~45 s the first time) …");
  const out = execFileSync("Rscript", [path.join(peers, "stan_time.R"), model, dataJson, "1000", "5000", "2", String(seed)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 26,
  });
  const line = out.split("\n").find((l) => l.startsWith("STAN_RESULT:"));
  stan = line ? (JSON.parse(line.slice("STAN_RESULT:".length)) as Record<string, unknown>) : null;
  if (stan) console.log(`Stan:        ${fmt(stan as typeof ours)}`);
}

const result: Record<string, unknown> = { ...ours };
if (stan) {
  result.stan = stan;
  result.ess_per_s_ratio_vs_stan = ours.min_ess_bulk_per_s / (stan.min_ess_bulk_per_s as number);
  result.leapfrog_per_draw_vs_stan = ours.leapfrog_per_draw / (stan.leapfrog_per_draw as number) - 1;
  console.log(
    `ratio: ${(result.ess_per_s_ratio_vs_stan as number).toFixed(2)}× Stan's min-bulk-ESS/s; leapfrog per draw ${((result.leapfrog_per_draw_vs_stan as number) * 100).toFixed(1)} % vs Stan`,
  );
}
console.log(`SAMPLER_RESULT: ${JSON.stringify(result)}`);

function fmt(r: { chain_seconds: number; min_ess_bulk: number; min_ess_bulk_per_s: number; leapfrog_per_draw: number; divergences: number }): string {
  return `chain ${r.chain_seconds.toFixed(3)} s, min bulk ESS ${r.min_ess_bulk.toFixed(0)}, ${r.min_ess_bulk_per_s.toFixed(0)} ESS/s, ${r.leapfrog_per_draw.toFixed(2)} leapfrog/draw, ${r.divergences} divergences`;
}
