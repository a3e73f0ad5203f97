// Diagnostics benchmark: the summary table train computes after every fit (`summarize`: mean, sd, HDI, MCSE of the
// mean and sd, bulk and tail ESS, rank-normalised R-hat), ours against R posterior's `summarise_draws` with the same
// columns (quantile2 standing in for the HDI, which posterior does not compute) on the same draws, in the same run.
//
//   npm run bench:diagnostics -- [--params 4,50] [--chains 2] [--draws 5000] [--reps 7]
//
// The draws are AR(1) chains, φ cycling over 0, 0.5, 0.9, 0.99 and −0.5 by parameter (from iid to a sequence of
// hundreds of lags, and antithetic), seeded. Ours: the first call in this process (what a train pays: nothing
// compiled yet) and the median of --reps calls after it; R: the median of --reps calls after one (package load
// excluded). Also printed: the largest relative difference between the two for R-hat, bulk and tail ESS and the MCSEs
// (the tests hold them to 1e-8 on posterior's reference vector). Needs Rscript with r-cran-posterior; without it, ours only.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { median } from "../src/diagnostics/median.js";
import { summarize, type SummaryRow } from "../src/diagnostics/summary.js";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const paramCounts = (flag("--params") ?? "4,50").split(",").map(Number);
const chains = Number(flag("--chains") ?? 2);
const draws = Number(flag("--draws") ?? 5000);
const reps = Number(flag("--reps") ?? 7);
const PHIS = [0, 0.5, 0.9, 0.99, -0.5];

/** mulberry32 uniforms → Box–Muller normals: the same draws in every run. */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

function table(params: number): { names: string[]; values: Float64Array } {
  const names = Array.from({ length: params }, (_, p) => `theta[${p}]`);
  const values = new Float64Array(chains * draws * params);
  for (let p = 0; p < params; p++) {
    const phi = PHIS[p % PHIS.length];
    for (let c = 0; c < chains; c++) {
      const z = normals(1000 * p + c + 1);
      let x = z();
      for (let d = 0; d < draws; d++) {
        values[(c * draws + d) * params + p] = x;
        x = phi * x + Math.sqrt(1 - phi * phi) * z();
      }
    }
  }
  return { names, values };
}

interface RResult {
  seconds: number;
  rows: Record<string, number>[];
}

function runR(dir: string, params: number, names: string[], values: Float64Array): RResult | null {
  const csv = path.join(dir, `draws-${params}.csv`);
  const lines = [["chain", ...names].join(",")];
  for (let c = 0; c < chains; c++)
    for (let d = 0; d < draws; d++) lines.push([c + 1, ...Array.from(values.subarray((c * draws + d) * params, (c * draws + d + 1) * params))].join(","));
  writeFileSync(csv, lines.join("\n"));
  const script = `
suppressMessages(library(posterior))
d <- read.csv("${csv}", check.names = FALSE)
a <- array(NA_real_, c(${draws}, ${chains}, ${params}), dimnames = list(NULL, NULL, names(d)[-1]))
for (ch in seq_len(${chains})) a[, ch, ] <- as.matrix(d[d$chain == ch, -1])
x <- as_draws_array(a)
f <- function() summarise_draws(x, "mean", "sd", ~quantile2(.x, probs = c(0.03, 0.97)), "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "rhat")
s <- f()
t <- sapply(seq_len(${reps}), function(i) system.time(f())[["elapsed"]])
cat("R_SECONDS", median(t), "\\n")
s <- as.data.frame(lapply(s, function(col) if (is.numeric(col)) as.numeric(col) else col), check.names = FALSE)
write.csv(s, stdout(), row.names = FALSE)
`;
  const res = spawnSync("Rscript", ["-e", script], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (res.error !== undefined || res.status !== 0) {
    process.stderr.write(`R posterior not run (${res.error?.message ?? res.stderr.trim()})\n`);
    return null;
  }
  const out = res.stdout.split("\n");
  const at = out.findIndex((l) => l.startsWith("R_SECONDS"));
  const seconds = Number(out[at].split(/\s+/)[1]);
  const header = out[at + 1].split(",").map((h) => h.replace(/"/g, ""));
  const rows = out
    .slice(at + 2)
    .filter((l) => l.trim() !== "")
    .map((l) => Object.fromEntries(l.split(",").map((v, i) => [header[i], Number(v.replace(/"/g, ""))])));
  return { seconds, rows };
}

const COLUMNS: [keyof SummaryRow, string][] = [
  ["rHat", "rhat"],
  ["essBulk", "ess_bulk"],
  ["essTail", "ess_tail"],
  ["mcseMean", "mcse_mean"],
  ["mcseSd", "mcse_sd"],
];

const dir = mkdtempSync(path.join(tmpdir(), "bench-diagnostics-"));
console.log(`${chains} chains × ${draws} draws, AR(1) φ over ${PHIS.join(", ")}; medians of ${reps}`);
console.log("| parameters | ours, first call ms | ours ms | R posterior ms | R / ours | largest relative difference |");
console.log("|---|---|---|---|---|---|");
for (const params of paramCounts) {
  const { names, values } = table(params);
  const input = { names, chains, draws, values };
  let t0 = performance.now();
  const ours = summarize(input);
  const first = performance.now() - t0;
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    t0 = performance.now();
    summarize(input);
    times.push(performance.now() - t0);
  }
  const oursMs = median(times);
  const r = runR(dir, params, names, values);
  let worst = 0;
  if (r !== null)
    for (let p = 0; p < params; p++)
      for (const [ourKey, rKey] of COLUMNS) {
        const a = ours[p][ourKey] as number;
        const b = r.rows[p][rKey];
        worst = Math.max(worst, Math.abs(a - b) / Math.abs(b));
      }
  const rMs = r === null ? NaN : r.seconds * 1000;
  console.log(
    `| ${params} | ${first.toFixed(1)} | ${oursMs.toFixed(1)} | ${r === null ? "—" : rMs.toFixed(1)} | ${r === null ? "—" : (rMs / oursMs).toFixed(1) + "×"} | ${r === null ? "—" : worst.toExponential(1)} |`,
  );
}
