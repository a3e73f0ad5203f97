// The sampler on every posterior of the suite (bench/suite.ts: the seed's regression, the posteriordb posteriors, the
// four example families), beside Stan (rstan 2.21, bench/peers/stan_time.R) in the same run when R is installed.
//   npm run bench:posteriordb -- [--reps 3] [--only NAME,NAME] [--adaptation stan,grad-diag] [--tune 1000]
//                                [--draws 5000] [--no-stan] [--out FILE.json]
// Per case and repetition r (sampler seed 1 + r, data fixed), Stan and ours run back to back, alternating which goes
// first, each with 2 chains × (tune + draws) on worker threads (diamonds: 1,000 draws, its trees being ~100× longer),
// the case's adapt_delta and max tree depth. Figures, each the median over repetitions:
//   µs/leapfrog — sampling-phase seconds over its leapfrog steps (chains averaged): a gradient as each sampler
//     evaluates it, with the sampler's own work per step (ours also timed alone, in this process, at chain 0's last
//     draw: bench:logdensity);
//   leapfrog/draw — after warm-up; ESS/grad — the smallest bulk ESS of the case's quantities over every gradient the
//   chains evaluated, warm-up included; min bulk ESS/s — the same ESS over the slowest chain's seconds (warm-up and
//   sampling, compilation excluded for both); ratio — ours over Stan's, of the medians.
// Several --adaptation values run ours once per value in each repetition. Last line: BENCH_RESULT {json}.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { essBulk } from "../src/diagnostics/ess.js";
import type { Posterior } from "../src/inference/posterior.js";
import { ADAPTATIONS, type Adaptation } from "../src/inference/sampler.js";
import { benchCases, type BenchCase } from "./suite.js";
import { cachedData, cachedProgram, compileStan, haveRstan, REPO, runStan, stanMicrosecondsPerLeapfrog, type StanRun, zeroBased } from "./stan-peer.js";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const reps = Number(flag("--reps") ?? 3);
const tune = Number(flag("--tune") ?? 1000);
const drawsDefault = Number(flag("--draws") ?? 5000);
const only = (flag("--only") ?? "").split(",").filter(Boolean);
const adaptations = (flag("--adaptation") ?? "stan").split(",") as Adaptation[];
for (const a of adaptations) if (!ADAPTATIONS.includes(a)) throw new Error(`--adaptation: ${a} is not one of ${ADAPTATIONS.join(", ")}`);
const outFile = flag("--out");

// Chains run what production runs: the compiled JavaScript in dist/ (`npm run bench:posteriordb` builds it first).
const distIndex = path.join(REPO, "dist/index.js");
if (!existsSync(distIndex)) throw new Error("dist/ is missing: run `npm run build` first (npm run bench:posteriordb does)");
const { fit } = (await import(path.join(REPO, "dist/inference/index.js"))) as typeof import("../src/inference/index.js");
const { bindModel, compileModel } = (await import(path.join(REPO, "dist/model/index.js"))) as typeof import("../src/model/index.js");

const withStan = !args.includes("--no-stan") && haveRstan();
if (!withStan)
  console.log(args.includes("--no-stan") ? "Stan: skipped (--no-stan)" : "Stan: skipped (Rscript with rstan, posterior and jsonlite not installed)");

interface Run {
  seed: number;
  chain_seconds: number;
  us_per_leapfrog: number;
  min_ess_bulk: number;
  min_ess_bulk_per_s: number;
  leapfrog_per_draw: number;
  gradients: number;
  ess_per_gradient: number;
  divergences: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summariseOurs(p: Posterior, quantities: string[], seed: number): Run {
  const w = p.names.length;
  let minEss = Infinity;
  for (const q of quantities) {
    const k = p.names.indexOf(q);
    if (k < 0) throw new Error(`no quantity ${q} in the posterior (${p.names.join(", ")})`);
    const chains = Array.from({ length: p.chains }, (_, c) => Float64Array.from({ length: p.draws }, (_, d) => p.values[(c * p.draws + d) * w + k]));
    minEss = Math.min(minEss, essBulk(chains));
  }
  const k = p.statNames.length;
  const nl = p.statNames.indexOf("n_leapfrog");
  const dv = p.statNames.indexOf("diverging");
  let leapfrog = 0;
  let divergences = 0;
  for (let i = 0; i < p.stats.length; i += k) {
    leapfrog += p.stats[i + nl];
    divergences += p.stats[i + dv];
  }
  const gradients = p.gradients.reduce((a, b) => a + b, 0);
  const perChain = Array.from({ length: p.chains }, (_, c) => {
    let steps = 0;
    for (let d = 0; d < p.draws; d++) steps += p.stats[(c * p.draws + d) * k + nl];
    return (1e6 * (p.chainSeconds[c] - p.warmupSeconds[c])) / steps;
  });
  return {
    seed,
    chain_seconds: p.seconds,
    us_per_leapfrog: perChain.reduce((a, b) => a + b, 0) / perChain.length,
    min_ess_bulk: minEss,
    min_ess_bulk_per_s: minEss / p.seconds,
    leapfrog_per_draw: leapfrog / (p.chains * p.draws),
    gradients,
    ess_per_gradient: minEss / gradients,
    divergences,
  };
}

function summariseStan(r: StanRun, quantities: string[], seed: number): Run {
  const ess = Object.fromEntries(Object.entries(r.ess_bulk).map(([k, v]) => [zeroBased(k), v]));
  let minEss = Infinity;
  for (const q of quantities) {
    if (!(q in ess)) throw new Error(`Stan's summary has no ${q} (${Object.keys(ess).join(", ")})`);
    minEss = Math.min(minEss, ess[q]);
  }
  return {
    seed,
    chain_seconds: r.chain_seconds,
    us_per_leapfrog: stanMicrosecondsPerLeapfrog(r),
    min_ess_bulk: minEss,
    min_ess_bulk_per_s: minEss / r.chain_seconds,
    leapfrog_per_draw: r.leapfrog_per_draw,
    gradients: r.gradients,
    ess_per_gradient: minEss / r.gradients,
    divergences: r.divergences,
  };
}

/** µs per log-density + gradient of the compiled model at `theta` (median of 9 batches after 0.3 s of warming). */
function gradientMicroseconds(c: BenchCase, theta: Float64Array): number {
  const compiled = compileModel(bindModel(c.model.json, c.data));
  const g = new Float64Array(compiled.dim);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 300) {
    compiled.logDensityGradient(theta, g);
    n++;
  }
  const batch = Math.max(5, Math.round(n / 10));
  const times: number[] = [];
  for (let b = 0; b < 9; b++) {
    const s = performance.now();
    for (let i = 0; i < batch; i++) compiled.logDensityGradient(theta, g);
    times.push(((performance.now() - s) * 1000) / batch);
  }
  return median(times);
}

interface CaseResult {
  name: string;
  dim: number;
  draws: number;
  ours: Record<string, { grad_us: number; runs: Run[] }>;
  stan?: { runs: Run[] };
}

const cases = await benchCases(only);
if (args.includes("--compile-stan")) {
  // Only compile (and cache) every case's Stan program.
  for (const c of cases) {
    const t0 = performance.now();
    compileStan(cachedProgram(c.name, c.stan.program));
    console.log(`${c.name}: compiled in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  compileStan(cachedProgram("grad_floor", readFileSync(path.join(REPO, "bench/peers/grad_floor.stan"), "utf8")));
  process.exit(0);
}
console.log(
  `${cases.length} posteriors, ${reps} repetitions, 2 chains × (${tune} + ${drawsDefault}) unless noted; ours with adaptation ${adaptations.join(", ")}`,
);
const results: CaseResult[] = [];
for (const c of cases) {
  const draws = c.draws ?? drawsDefault;
  const tuneHere = c.tune ?? tune;
  const dim = compileModel(bindModel(c.model.json, c.data)).dim;
  const res: CaseResult = { name: c.name, dim, draws, ours: {} };
  for (const a of adaptations) res.ours[a] = { grad_us: NaN, runs: [] };
  let stanProgram = "";
  let stanData = "";
  if (withStan) {
    stanProgram = cachedProgram(c.name, c.stan.program);
    stanData = cachedData(c.name, c.stan.data);
    res.stan = { runs: [] };
  }
  for (let r = 0; r < reps; r++) {
    const seed = 1 + r;
    const stanFirst = r % 2 === 1;
    const runStanRep = () => {
      const out = runStan(stanProgram, stanData, {
        warmup: tuneHere,
        draws,
        chains: 2,
        seed,
        adaptDelta: c.targetAccept,
        maxTreeDepth: c.maxTreeDepth,
      });
      const run = summariseStan(out, c.quantities, seed);
      res.stan!.runs.push(run);
      console.log(`  ${c.name} seed ${seed} Stan:            ${fmt(run)}`);
    };
    if (withStan && stanFirst) runStanRep();
    for (const a of adaptations) {
      const p = await fit(c.model, c.data, {
        chains: 2,
        tune: tuneHere,
        draws,
        seed,
        progress: false,
        targetAccept: c.targetAccept,
        maxTreeDepth: c.maxTreeDepth,
        adaptation: a,
      });
      const run = summariseOurs(p, c.quantities, seed);
      res.ours[a].runs.push(run);
      if (r === 0) res.ours[a].grad_us = gradientMicroseconds(c, p.finalPositions[0]);
      console.log(`  ${c.name} seed ${seed} ours (${a.padEnd(9)}): ${fmt(run)}`);
    }
    if (withStan && !stanFirst) runStanRep();
  }
  results.push(res);
  console.log(tableOf([res]));
}

function fmt(r: Run): string {
  return `chain ${r.chain_seconds.toFixed(3)} s, ${r.us_per_leapfrog.toFixed(2)} µs/leapfrog, min bulk ESS ${r.min_ess_bulk.toFixed(0)}, ${r.min_ess_bulk_per_s.toFixed(0)} ESS/s, ${r.leapfrog_per_draw.toFixed(1)} leapfrog/draw, ESS/grad ${r.ess_per_gradient.toExponential(2)}, ${r.divergences} divergences`;
}

function med(runs: Run[], k: keyof Run): number {
  return median(runs.map((r) => r[k] as number));
}
function num(x: number | null | undefined, digits = 2): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : x < 10 ? x.toFixed(digits) : x.toFixed(0);
}

function tableOf(rs: CaseResult[]): string {
  const head = ["posterior", "dim", "grad µs alone"];
  for (const a of adaptations) head.push(`µs/leapfrog (${a})`, `leapfrog/draw (${a})`, `ESS/grad (${a})`, `min bulk ESS/s (${a})`);
  if (withStan) head.push("µs/leapfrog Stan", "leapfrog/draw Stan", "ESS/grad Stan", "min bulk ESS/s Stan", ...adaptations.map((a) => `ratio (${a})`));
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rs) {
    const row = [r.name + (r.draws !== drawsDefault ? ` (${r.draws} draws)` : ""), String(r.dim), num(r.ours[adaptations[0]].grad_us)];
    for (const a of adaptations) {
      const o = r.ours[a];
      row.push(
        num(med(o.runs, "us_per_leapfrog")),
        num(med(o.runs, "leapfrog_per_draw"), 1),
        med(o.runs, "ess_per_gradient").toExponential(2),
        num(med(o.runs, "min_ess_bulk_per_s"), 0),
      );
    }
    if (r.stan) {
      const s = r.stan.runs;
      row.push(
        num(med(s, "us_per_leapfrog")),
        num(med(s, "leapfrog_per_draw"), 1),
        med(s, "ess_per_gradient").toExponential(2),
        num(med(s, "min_ess_bulk_per_s"), 0),
      );
      for (const a of adaptations) row.push(`${(med(r.ours[a].runs, "min_ess_bulk_per_s") / med(s, "min_ess_bulk_per_s")).toFixed(2)}×`);
    }
    lines.push(`| ${row.join(" | ")} |`);
  }
  return lines.join("\n");
}

console.log(`\n${tableOf(results)}`);
const summary: Record<string, unknown> = {};
if (withStan)
  for (const a of adaptations) {
    const ratios = results.map((r) => med(r.ours[a].runs, "min_ess_bulk_per_s") / med(r.stan!.runs, "min_ess_bulk_per_s"));
    const essPerGrad = results.map((r) => med(r.ours[a].runs, "ess_per_gradient") / med(r.stan!.runs, "ess_per_gradient"));
    const geo = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
    summary[a] = {
      geometric_mean_ratio: geo(ratios),
      min_ratio: Math.min(...ratios),
      ess_per_gradient_vs_stan_geometric_mean: geo(essPerGrad),
      ess_per_gradient_vs_stan_median: median(essPerGrad),
    };
    console.log(
      `ours (${a}) vs Stan, min bulk ESS/s: geometric mean ${geo(ratios).toFixed(2)}×, smallest ${Math.min(...ratios).toFixed(2)}× (${results[ratios.indexOf(Math.min(...ratios))].name}); ESS per gradient: median ${median(essPerGrad).toFixed(2)}× Stan's`,
    );
  }
const out = { reps, tune, draws: drawsDefault, adaptations, summary, cases: results };
if (outFile) writeFileSync(outFile, JSON.stringify(out, null, 1));
console.log(`BENCH_RESULT: ${JSON.stringify(out)}`);
