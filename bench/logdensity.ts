// Log-density + gradient cost, per posterior of the suite (bench/suite.ts), beside Stan in the same run.
//   npm run bench:logdensity -- [--only NAME,NAME] [--no-stan] [--stan-alone] [--no-sampling]
// For each posterior:
//   alone — our compiled log-density + gradient timed in this process at a fixed point (θᵢ = 0.1·sin(i + 1) on the
//     unconstrained scale), the median of 9 batches after 0.3 s of warming;
//   in sampling — µs per leapfrog step in the sampling phase of a short run (2 chains × (300 + 300), diamonds
//     (300 + 100)) of each sampler with the same settings: the gradient as the sampler evaluates it, with the
//     sampler's own per-step work (Stan has no way to time its gradient alone without R's call overhead, which is
//     larger than the small models' gradients);
//   ratio — Stan's µs per leapfrog over ours;
//   --stan-alone: Stan's log density + gradient alone too (bench/peers/stan_grad.R: rstan's log_prob with gradient at
//     the same point, R's call overhead measured beside it and subtracted — only meaningful where the gradient is
//     much longer than that overhead, as for diamonds); --no-sampling skips the in-sampling runs (Stan's diamonds
//     runs take many minutes).
// And for the seed's model: the compiled model beside a hand-fused loop (the floor for that computation in JavaScript).
// Last line: LOGDENSITY_RESULT {json}.
import path from "node:path";
import { existsSync } from "node:fs";
import { bindModel, compileModel } from "../src/model/index.js";
import { seedRegression } from "../src/models/seed-regression.js";
import { simulateSeedData, SEED_SIMULATION } from "../src/train/simulate.js";
import { benchCases, type BenchCase } from "./suite.js";
import { cachedData, cachedProgram, haveRstan, REPO, runStan, stanGradientMicroseconds, stanMicrosecondsPerLeapfrog } from "./stan-peer.js";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = (flag("--only") ?? "").split(",").filter(Boolean);
const withStan = !args.includes("--no-stan") && haveRstan();
const stanAlone = withStan && args.includes("--stan-alone");
const withSampling = !args.includes("--no-sampling");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** µs per call of fn, median of 9 batches after 0.3 s of warming. */
function time(fn: (t: Float64Array, g: Float64Array) => number, theta: Float64Array, grad: Float64Array): number {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 300) {
    fn(theta, grad);
    n++;
  }
  const batch = Math.max(5, Math.round(n / 10));
  const samples: number[] = [];
  for (let r = 0; r < 9; r++) {
    const s = performance.now();
    for (let i = 0; i < batch; i++) fn(theta, grad);
    samples.push(((performance.now() - s) * 1000) / batch);
  }
  return median(samples);
}

// ---- the seed's model beside a hand-fused loop ------------------------------------------------------------------

const d = simulateSeedData({ ...SEED_SIMULATION, rows: 1600, seed: 1 });
const seedCompiled = compileModel(bindModel(seedRegression.json, { x: d.x, category: d.category, y: d.y }));

/** The hand-fused floor: one pass, everything in registers. */
function handFused(t: Float64Array, g: Float64Array): number {
  const sigma = Math.exp(t[3]);
  const inv = 1 / sigma;
  let lp = t[3];
  let g0 = 0,
    g1 = 0,
    g2 = 0,
    gs = 0;
  const x = d.x,
    c = d.category,
    y = d.y;
  for (let i = 0; i < x.length; i++) {
    const cat = c[i];
    const b = cat === 0 ? t[0] : cat === 1 ? t[1] : t[2];
    const z = (y[i] - b * x[i]) * inv;
    lp -= 0.5 * z * z;
    const gz = z * inv * x[i];
    if (cat === 0) g0 += gz;
    else if (cat === 1) g1 += gz;
    else g2 += gz;
    gs += z * z;
  }
  const n = x.length;
  lp -= n * (Math.log(sigma) + 0.9189385332046727);
  for (let k = 0; k < 3; k++) lp += -0.5 * (t[k] / 2) ** 2 - Math.log(2) - 0.9189385332046727;
  lp += -0.22579135264472744 - Math.log(2) - 0.5 * (sigma / 2) ** 2;
  g[0] = g0 - t[0] / 4;
  g[1] = g1 - t[1] / 4;
  g[2] = g2 - t[2] / 4;
  g[3] = gs - n - (sigma * sigma) / 4 + 1;
  return lp;
}

const seedTheta = Float64Array.of(1, 1.2, 1.4, Math.log(0.8));
const a = seedCompiled.logDensityGradient(seedTheta, new Float64Array(4));
const b = handFused(seedTheta, new Float64Array(4));
if (Math.abs(a - b) > 1e-8 * Math.abs(a)) throw new Error(`the two disagree: ${a} vs ${b}`);
const seedOurs = time((t, g) => seedCompiled.logDensityGradient(t, g), seedTheta, new Float64Array(4));
const seedFloor = time(handFused, seedTheta, new Float64Array(4));
console.log(
  `seed model, 1,600 rows: compiled ${seedOurs.toFixed(2)} µs (${((seedOurs * 1000) / 1600).toFixed(2)} ns/row), hand-fused ${seedFloor.toFixed(2)} µs`,
);

// ---- per posterior -----------------------------------------------------------------------------------------------

const distIndex = path.join(REPO, "dist/inference/index.js");
if (!existsSync(distIndex)) throw new Error("dist/ is missing: run `npm run build` first (npm run bench:logdensity does)");
const { fit } = (await import(distIndex)) as typeof import("../src/inference/index.js");

interface Row {
  name: string;
  dim: number;
  alone_us: number;
  /** Stan's log density + gradient alone, R's call overhead subtracted (--stan-alone). */
  stan_alone_us: number | null;
  ours_in_sampling_us: number | null;
  stan_in_sampling_us: number | null;
}

async function oursInSampling(c: BenchCase, draws: number): Promise<number> {
  const p = await fit(c.model, c.data, { chains: 2, tune: 300, draws, seed: 1, progress: false, targetAccept: c.targetAccept, maxTreeDepth: c.maxTreeDepth });
  const k = p.statNames.length;
  const nl = p.statNames.indexOf("n_leapfrog");
  const perChain = Array.from({ length: p.chains }, (_, ch) => {
    let steps = 0;
    for (let i = 0; i < p.draws; i++) steps += p.stats[(ch * p.draws + i) * k + nl];
    return (1e6 * (p.chainSeconds[ch] - p.warmupSeconds[ch])) / steps;
  });
  return perChain.reduce((x, y) => x + y, 0) / perChain.length;
}

const rows: Row[] = [];
const fmtUs = (x: number | null) => (x === null ? "–" : x.toFixed(2));
const ratio = (stan: number | null, ours: number | null) => (stan !== null && ours !== null ? `${(stan / ours).toFixed(2)}×` : "–");
for (const c of await benchCases(only)) {
  const compiled = compileModel(bindModel(c.model.json, c.data));
  const theta = Float64Array.from({ length: compiled.dim }, (_, i) => 0.1 * Math.sin(i + 1));
  const alone = time((t, g) => compiled.logDensityGradient(t, g), theta, new Float64Array(compiled.dim));
  const draws = c.name.startsWith("diamonds") ? 100 : 300;
  const inSampling = withSampling ? await oursInSampling(c, draws) : null;
  let stan: number | null = null;
  let stanAloneUs: number | null = null;
  if (withStan) {
    const program = cachedProgram(c.name, c.stan.program);
    const data = cachedData(c.name, c.stan.data);
    if (withSampling) {
      const run = runStan(program, data, { warmup: 300, draws, chains: 2, seed: 1, adaptDelta: c.targetAccept, maxTreeDepth: c.maxTreeDepth });
      stan = stanMicrosecondsPerLeapfrog(run);
    }
    if (stanAlone) {
      const g = stanGradientMicroseconds(program, data);
      if (g.dim !== compiled.dim) throw new Error(`${c.name}: Stan has ${g.dim} unconstrained parameters, ours ${compiled.dim}`);
      stanAloneUs = g.us - g.r_call_overhead_us;
    }
  }
  rows.push({ name: c.name, dim: compiled.dim, alone_us: alone, stan_alone_us: stanAloneUs, ours_in_sampling_us: inSampling, stan_in_sampling_us: stan });
  console.log(
    `${c.name}: alone ${alone.toFixed(2)} µs${stanAloneUs !== null ? ` (Stan alone ${stanAloneUs.toFixed(2)} µs, ${ratio(stanAloneUs, alone)} ours)` : ""}, in sampling ${fmtUs(inSampling)} µs${stan !== null ? `, Stan in sampling ${stan.toFixed(2)} µs (${ratio(stan, inSampling)} ours)` : ""}`,
  );
}

console.log(
  "\n| posterior | dim | ours alone µs | Stan alone µs | Stan / ours alone | ours in sampling µs/leapfrog | Stan in sampling µs/leapfrog | Stan / ours in sampling |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.dim} | ${r.alone_us.toFixed(2)} | ${fmtUs(r.stan_alone_us)} | ${ratio(r.stan_alone_us, r.alone_us)} | ${fmtUs(r.ours_in_sampling_us)} | ${fmtUs(r.stan_in_sampling_us)} | ${ratio(r.stan_in_sampling_us, r.ours_in_sampling_us)} |`,
  );
console.log(
  `LOGDENSITY_RESULT: ${JSON.stringify({ seed: { compiled_us: seedOurs, hand_fused_us: seedFloor, ratio: seedOurs / seedFloor }, posteriors: rows })}`,
);
