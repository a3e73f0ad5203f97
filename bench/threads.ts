// Within-chain parallelism (issue 20): the seed's model on simulated data at several row counts, one chain, 1 thread
// beside 2 threads per chain (FitOptions.threadsPerChain), in the same run.
//   npm run bench:threads -- [--reps 3] [--rows 2000,...,2000000] [--ess-rows 20000,200000,2000000] [--tune 200] [--draws 300]
//     [--no-gradient] [--no-ess]
// Part 1, µs per gradient: the compiled log-density + gradient alone (the same compiled code, data on
//   SharedArrayBuffers) beside the sharded one on 2 threads, timed in turns (each ~0.25 s, ≥ 10 calls), median per
//   configuration over the repeats; the ratio is the median of the per-repeat ratios. The crossover is the smallest row
//   count from which 2 threads are faster at every larger count measured.
// Part 2, ESS/s: fit() of 1 chain (tune + draws iterations, seeds 1..reps), 1 and 2 threads in turns; ESS is the
//   smallest bulk ESS over the parameters, per second of the chain (posterior.seconds: sampling, warm-up included,
//   compiling and thread start-up not) and per second of the whole fit() call; medians over the repeats, and the
//   pooled ratio (Σ ESS / Σ chain seconds of each configuration), which the ESS's own noise disturbs less. A short fit
//   of each configuration first warms the sampler's code; the order alternates per repeat (1, 2, then 2, 1, …).
// The load average is printed beside each part: the machine is shared. Last line: THREADS_RESULT {json}.
import { loadavg } from "node:os";
import { essBulk } from "../src/diagnostics/index.js";
import { fit } from "../src/inference/fit.js";
import { SHARD_MIN_ROW_WORK } from "../src/inference/fit-options.js";
import { chainsOf } from "../src/inference/posterior.js";
import { startShardedDensity } from "../src/inference/sharded-density.js";
import { bindModel, compileModel } from "../src/model/index.js";
import type { DataInput } from "../src/model/bind.js";
import { seedRegression } from "../src/models/seed-regression.js";
import { simulateSeedData, SEED_SIMULATION } from "../src/train/simulate.js";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const list = (name: string, dflt: number[]) =>
  (flag(name) ?? "")
    .split(",")
    .filter(Boolean)
    .map(Number)
    .concat(flag(name) ? [] : dflt);
const reps = Number(flag("--reps") ?? 3);
const rowCounts = args.includes("--no-gradient") ? [] : list("--rows", [2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000]);
const essRows = args.includes("--no-ess") ? [] : list("--ess-rows", [20_000, 200_000, 2_000_000]);
const tune = Number(flag("--tune") ?? 200);
const draws = Number(flag("--draws") ?? 300);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const dataOf = (rows: number): DataInput => simulateSeedData({ ...SEED_SIMULATION, rows, seed: 1 }) as unknown as DataInput;

/** µs per call, over ~0.25 s (at least 10 calls) after a few warming calls. */
function timeGradient(fn: (t: Float64Array, g: Float64Array) => number, dim: number): number {
  const theta = Float64Array.from({ length: dim }, (_, i) => 0.1 * Math.sin(i + 1));
  const grad = new Float64Array(dim);
  for (let i = 0; i < 5; i++) fn(theta, grad);
  let n = 0;
  const t0 = performance.now();
  while (n < 10 || performance.now() - t0 < 250) {
    theta[0] = 0.1 * Math.sin(1) + 1e-9 * (n & 7);
    fn(theta, grad);
    n++;
  }
  return ((performance.now() - t0) * 1000) / n;
}

interface GradientRow {
  rows: number;
  rowWork: number;
  us1: number;
  us2: number;
  ratio: number;
}

console.log(`bench:threads — seed model, 1 chain, 1 vs 2 threads; ${reps} repeats; load average at start ${load()}`);
console.log("\nµs per gradient (median over repeats)");
console.log("rows        row work     1 thread    2 threads   1/2 ratio");
const gradientRows: GradientRow[] = [];
for (const rows of rowCounts) {
  const compiled = compileModel(bindModel(seedRegression.json, dataOf(rows)), { shards: true });
  const sharded = await startShardedDensity(compiled.shardCode!, 2);
  const t1: number[] = [];
  const t2: number[] = [];
  const ratios: number[] = [];
  try {
    for (let r = 0; r < reps; r++) {
      const a = timeGradient(compiled.logDensityGradient, compiled.dim);
      const b = timeGradient(sharded.logDensityGradient, compiled.dim);
      t1.push(a);
      t2.push(b);
      ratios.push(a / b);
    }
  } finally {
    await sharded.close();
  }
  const row = { rows, rowWork: compiled.rowWork, us1: median(t1), us2: median(t2), ratio: median(ratios) };
  gradientRows.push(row);
  console.log(
    `${String(rows).padEnd(11)} ${String(row.rowWork).padEnd(12)} ${row.us1.toFixed(1).padStart(10)} ${row.us2.toFixed(1).padStart(12)} ${row.ratio.toFixed(2).padStart(11)}`,
  );
}
let crossover: number | null = null;
for (let k = gradientRows.length - 1; k >= 0 && gradientRows[k].ratio > 1; k--) crossover = gradientRows[k].rows;
if (rowCounts.length > 0)
  console.log(
    `crossover (2 threads faster from here on): ${crossover ?? "none measured"} rows; SHARD_MIN_ROW_WORK = ${SHARD_MIN_ROW_WORK}; load average ${load()}`,
  );

interface EssRow {
  rows: number;
  threads: number;
  essPerSecond: number;
  essPerWallSecond: number;
  ess: number;
  seconds: number;
  wallSeconds: number;
  usPerGradient: number;
}
console.log(`\nESS/s (1 chain, ${tune} + ${draws} iterations; medians over ${reps} seeds)`);
console.log("rows        threads   min bulk ESS   chain s   ESS/s    fit s   ESS/s(fit)   µs/gradient in sampling");
const essRowsOut: EssRow[] = [];
const essRatios: { rows: number; ratio: number; pooledRatio: number; wallRatio: number; gradientRatio: number; load: string }[] = [];
const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
if (essRows.length > 0)
  for (const threads of [1, 2])
    await fit(seedRegression, dataOf(20_000), { chains: 1, threadsPerChain: threads, tune: 100, draws: 100, seed: 99, progress: false });
for (const rows of essRows) {
  const data = dataOf(rows);
  const per: Record<number, { ess: number[]; s: number[]; wall: number[]; eps: number[]; epw: number[]; usg: number[] }> = {};
  for (const t of [1, 2]) per[t] = { ess: [], s: [], wall: [], eps: [], epw: [], usg: [] };
  for (let r = 0; r < reps; r++) {
    for (const threads of r % 2 === 0 ? [1, 2] : [2, 1]) {
      const t0 = performance.now();
      const p = await fit(seedRegression, data, { chains: 1, threadsPerChain: threads, tune, draws, seed: r + 1, progress: false });
      const wall = (performance.now() - t0) / 1000;
      const ess = Math.min(...p.names.map((n) => essBulk(chainsOf(p, n))));
      const q = per[threads];
      q.ess.push(ess);
      q.s.push(p.seconds);
      q.wall.push(wall);
      q.eps.push(ess / p.seconds);
      q.epw.push(ess / wall);
      q.usg.push((p.seconds * 1e6) / p.gradients[0]);
    }
  }
  for (const threads of [1, 2]) {
    const q = per[threads];
    const row: EssRow = {
      rows,
      threads,
      ess: median(q.ess),
      seconds: median(q.s),
      wallSeconds: median(q.wall),
      essPerSecond: median(q.eps),
      essPerWallSecond: median(q.epw),
      usPerGradient: median(q.usg),
    };
    essRowsOut.push(row);
    console.log(
      `${String(rows).padEnd(11)} ${String(threads).padEnd(9)} ${row.ess.toFixed(0).padStart(12)} ${row.seconds.toFixed(2).padStart(9)} ${row.essPerSecond.toFixed(1).padStart(7)} ${row.wallSeconds.toFixed(2).padStart(8)} ${row.essPerWallSecond.toFixed(1).padStart(12)} ${row.usPerGradient.toFixed(1).padStart(14)}`,
    );
  }
  const ratio = median(per[2].eps) / median(per[1].eps);
  const pooledRatio = total(per[2].ess) / total(per[2].s) / (total(per[1].ess) / total(per[1].s));
  const wallRatio = median(per[2].epw) / median(per[1].epw);
  const gradientRatio = median(per[1].usg) / median(per[2].usg);
  essRatios.push({ rows, ratio, pooledRatio, wallRatio, gradientRatio, load: load() });
  console.log(
    `  2 threads / 1 thread: ESS/s ×${ratio.toFixed(2)} (pooled ×${pooledRatio.toFixed(2)}; whole fit ×${wallRatio.toFixed(2)}), time per gradient in sampling ×${gradientRatio.toFixed(2)}; load average ${load()}`,
  );
}
console.log(`THREADS_RESULT ${JSON.stringify({ reps, tune, draws, gradient: gradientRows, crossover, ess: essRowsOut, essRatios })}`);
