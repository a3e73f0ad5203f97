// Sampler benchmark: the seed's model with the seed's settings (2 chains, 1000 warm-up + 5000 draws), beside Stan
// (rstan, bench/peers/stan_time.R) in the same run when R and rstan are installed.
//   npm run bench:sampler -- [--data FILE.csv] [--seed N] [--reps R] [--no-stan]
// Each of R repetitions (default 5) runs both samplers with the sampler seed N + r on the same data, alternating which
// goes first, so drift in the machine's load hits both alike. Min bulk ESS moves by ±15 % between seeds for either
// sampler, so one seed says little: the figures compared are medians over the repetitions.
// Last line: SAMPLER_RESULT: {chain_seconds, min_ess_bulk, min_ess_bulk_per_s, leapfrog_per_draw, divergences (medians,
// divergences summed), runs: [...], stan: {... same}, ess_per_s_ratio_vs_stan, ess_per_s_ratio_per_rep, leapfrog_per_draw_vs_stan}
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { summarize } from "../src/diagnostics/index.js";
import { seedRegression } from "../src/models/seed-regression.js";
import { readCsv } from "../src/train/csv.js";
import { simulateSeedData, SEED_SIMULATION } from "../src/train/simulate.js";
import { cachedData, cachedProgram, haveRstan, runStan } from "./stan-peer.js";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const seed = Number(flag("--seed") ?? 1);
const reps = Number(flag("--reps") ?? 5);
const dataFile = flag("--data");
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const peers = path.join(repo, "bench", "peers");
// Chains run what production runs: the compiled JavaScript in dist/ (`npm run bench:sampler` builds it first). From
// the TypeScript sources each worker would first boot tsx and transpile, which competes with the other chain.
const distFit = path.join(repo, "dist/inference/index.js");
if (!existsSync(distFit)) throw new Error("dist/ is missing: run `npm run build` first (npm run bench:sampler does)");
const { fit } = (await import(distFit)) as typeof import("../src/inference/index.js");

interface Run {
  seed: number;
  chain_seconds: number;
  min_ess_bulk: number;
  min_ess_bulk_per_s: number;
  leapfrog_per_draw: number;
  divergences: number;
  mean: Record<string, number>;
  ess_bulk: Record<string, number>;
}

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
console.log(`seed model, ${N} rows, 2 chains × (1000 warm-up + 5000 draws), ${reps} repetitions (sampler seeds ${seed}..${seed + reps - 1})`);

async function runOurs(s: number): Promise<Run> {
  const posterior = await fit(seedRegression, { x, category, y }, { chains: 2, tune: 1000, draws: 5000, seed: s, progress: false });
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
  return {
    seed: s,
    chain_seconds: posterior.seconds,
    min_ess_bulk: minEss,
    min_ess_bulk_per_s: minEss / posterior.seconds,
    leapfrog_per_draw: leapfrog / (posterior.chains * posterior.draws),
    divergences,
    mean: Object.fromEntries(summary.map((r) => [r.name, r.mean])),
    ess_bulk: Object.fromEntries(summary.map((r) => [r.name, r.essBulk])),
  };
}

const haveR = haveRstan();
const withStan = !args.includes("--no-stan") && haveR;
if (args.includes("--no-stan")) console.log("Stan: skipped (--no-stan)");
else if (!haveR)
  console.log("Stan: skipped (Rscript with rstan, posterior and jsonlite not installed: apt-get install -y r-cran-rstan r-cran-posterior r-cran-jsonlite)");

// The program and data in the Stan cache (bench/stan-peer.ts): compiled once, reused by later runs.
let stanProgram = "";
let stanData = "";
if (withStan) {
  stanProgram = cachedProgram("seed_model", readFileSync(path.join(peers, "seed_model.stan"), "utf8"));
  stanData = cachedData(`seed_model_${N}`, { N, x: Array.from(x), c: Array.from(category, (c) => c + 1), y: Array.from(y) });
  console.log("Stan: compiling unless cached (~45–90 s the first time) …");
}

function runStanSeed(s: number): Run {
  const r = runStan(stanProgram, stanData, { warmup: 1000, draws: 5000, chains: 2, seed: s });
  return {
    seed: s,
    chain_seconds: r.chain_seconds,
    min_ess_bulk: r.min_ess_bulk,
    min_ess_bulk_per_s: r.min_ess_bulk_per_s,
    leapfrog_per_draw: r.leapfrog_per_draw,
    divergences: r.divergences,
    mean: r.mean,
    ess_bulk: r.ess_bulk,
  };
}

const ours: Run[] = [];
const stan: Run[] = [];
for (let r = 0; r < reps; r++) {
  const s = seed + r;
  const stanFirst = r % 2 === 1;
  if (withStan && stanFirst) pushStan(s);
  ours.push(await runOurs(s));
  console.log(`  seed ${s} bayes-serve: ${fmt(ours[ours.length - 1])}`);
  if (withStan && !stanFirst) pushStan(s);
}

function pushStan(s: number): void {
  const r = runStanSeed(s);
  stan.push(r);
  console.log(`  seed ${s} Stan:        ${fmt(r)}`);
}

const result: Record<string, unknown> = { ...medianOf(ours), runs: ours };
console.log(`bayes-serve (median of ${reps}): ${fmt(medianOf(ours))}`);
if (withStan) {
  const st = medianOf(stan);
  console.log(`Stan        (median of ${reps}): ${fmt(st)}`);
  result.stan = { ...st, runs: stan };
  result.ess_per_s_ratio_vs_stan = (result.min_ess_bulk_per_s as number) / st.min_ess_bulk_per_s;
  result.leapfrog_per_draw_vs_stan = (result.leapfrog_per_draw as number) / st.leapfrog_per_draw - 1;
  // Each rep's two runs are back to back, so their ratio sees the same machine; the list shows how the load moved.
  const perRep = ours.map((o, i) => o.min_ess_bulk_per_s / stan[i].min_ess_bulk_per_s);
  result.ess_per_s_ratio_per_rep = perRep;
  console.log(`per-rep ratios (each rep's two runs back to back): ${perRep.map((x) => `${x.toFixed(2)}×`).join(", ")}; median ${median(perRep).toFixed(2)}×`);
  console.log(
    `ratio of medians: ${(result.ess_per_s_ratio_vs_stan as number).toFixed(2)}× Stan's min-bulk-ESS/s (goal ≥ 5×); leapfrog per draw ${((result.leapfrog_per_draw_vs_stan as number) * 100).toFixed(1)} % vs Stan (goal within ±15 %)`,
  );
}
console.log(`SAMPLER_RESULT: ${JSON.stringify(result)}`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Medians of each figure over the runs (each median on its own); divergences summed. */
function medianOf(runs: Run[]) {
  return {
    chain_seconds: median(runs.map((r) => r.chain_seconds)),
    min_ess_bulk: median(runs.map((r) => r.min_ess_bulk)),
    min_ess_bulk_per_s: median(runs.map((r) => r.min_ess_bulk_per_s)),
    leapfrog_per_draw: median(runs.map((r) => r.leapfrog_per_draw)),
    divergences: runs.reduce((n, r) => n + r.divergences, 0),
  };
}

function fmt(r: { chain_seconds: number; min_ess_bulk: number; min_ess_bulk_per_s: number; leapfrog_per_draw: number; divergences: number }): string {
  return `chain ${r.chain_seconds.toFixed(3)} s, min bulk ESS ${r.min_ess_bulk.toFixed(0)}, ${r.min_ess_bulk_per_s.toFixed(0)} ESS/s, ${r.leapfrog_per_draw.toFixed(2)} leapfrog/draw, ${r.divergences} divergences`;
}
