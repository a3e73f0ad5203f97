// Peak memory of training on a large CSV (issue 13, item 3): `bayes-serve train --data FILE --no-report` on the seed's
// model and 2 million rows of the seed's simulated data (x, category, y at full precision: 77 MB), with the seed's
// sampler settings unless told otherwise. The goal: under 750 MB peak resident memory (the training Job's limit).
//
//   npm run bench:train-memory [-- --rows 2000000 --draws 5000 --tune 1000 --chains 2 --runs 1]   (builds first)
//   npx tsx bench/train-memory.ts --rows 10000000 --draws 1000 --tune 500 --report   (issue 20: 10 million rows, the
//   report on a sample of rows as train makes it; the training Job's limit is the same 750 MB unless --limit-mb says)
//
// The peak is the larger of the process's own getrusage maxrss (main thread and sampling workers together), printed by
// a hook the CLI is started with, and its resident memory polled from /proc every 100 ms (Linux updates maxrss
// lazily, and it can miss a peak whose pages were given back by madvise), which also says the step of training it
// fell in. The data file is written once into .tmp/bench-train-memory/ and reused.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { once } from "node:events";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SEED_SIMULATION, seedCsvChunks } from "../src/train/simulate.js";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const rows = flag("rows", 2_000_000);
const draws = flag("draws", 5000);
const tune = flag("tune", 1000);
const chains = flag("chains", 2);
const runs = flag("runs", 1);
/** The training Job's memory limit: bayes-serve.yaml's train stage asks for 750 MB, and the limit defaults to the request. */
const GOAL_MB = flag("limit-mb", 750);
/** Train as the Job does, report included (on a sample of the rows above --sample-rows), rather than --no-report. */
const withReport = process.argv.includes("--report");

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(ROOT, "dist/cli/main.js");
const WORK = path.join(ROOT, ".tmp/bench-train-memory");
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench:train-memory does)`);
mkdirSync(WORK, { recursive: true });

async function dataFile(): Promise<string> {
  const file = path.join(WORK, `seed-${rows}.csv`);
  if (existsSync(file)) return file;
  const partial = `${file}.partial`;
  await pipeline(Readable.from(seedCsvChunks({ ...SEED_SIMULATION, rows })), createWriteStream(partial));
  renameSync(partial, file);
  return file;
}

/** Prints getrusage's peak RSS (kB) on the way out, however the CLI exits. */
const PEAK_HOOK = `data:text/javascript,${encodeURIComponent(
  'import { writeSync } from "node:fs"; process.on("exit", () => writeSync(2, `PEAK_RSS_KB ${process.resourceUsage().maxRSS}\\n`));',
)}`;

function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

interface Run {
  peakMb: number;
  wallSeconds: number;
  timings: Record<string, number>;
  /** Largest RSS seen in each step (polled). */
  stepPeaksMb: Record<string, number>;
}

async function trainOnce(file: string): Promise<Run> {
  const store = mkdtempSync(path.join(WORK, "store-"));
  const args = [
    "--import",
    PEAK_HOOK,
    CLI,
    "train",
    "--data",
    file,
    "--store",
    store,
    ...(withReport ? [] : ["--no-report"]),
    "--draws",
    String(draws),
    "--tune",
    String(tune),
    "--chains",
    String(chains),
  ];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  let dataLoadedAt: number | null = null;
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (s: string) => {
    stderr += s;
    if (dataLoadedAt === null && /^data: \d+ rows/m.test(stderr)) dataLoadedAt = (performance.now() - t0) / 1000;
  });
  const samples: [number, number][] = [];
  const poll = setInterval(() => {
    const mb = rssMb(child.pid!);
    if (mb !== null) samples.push([(performance.now() - t0) / 1000, mb]);
  }, 100);
  const [code] = (await once(child, "exit")) as [number | null];
  clearInterval(poll);
  const wallSeconds = (performance.now() - t0) / 1000;
  rmSync(store, { recursive: true, force: true });
  // 3: the quality gate refused the fit (few draws); it was still fitted, evaluated and stored.
  if (code !== 0 && code !== 3) throw new Error(`train exited ${code}:\n${stderr}`);
  const peak = /PEAK_RSS_KB (\d+)/.exec(stderr);
  if (peak === null) throw new Error(`no peak reported:\n${stderr}`);
  const timingLine = /^timings \(s\): (.*)$/m.exec(stderr)?.[1] ?? "";
  const timings = Object.fromEntries(
    timingLine
      .split(", ")
      .map((p) => p.split(" "))
      .map(([k, v]) => [k, Number(v)]),
  );
  // Steps in the order train runs them; "data" ends when its line is printed, the others follow by their timings.
  const ends: [string, number][] = [];
  let at = dataLoadedAt ?? 0;
  ends.push(["start + data", at]);
  for (const step of ["sampling", "diagnostics", "evaluation", "comparison", "report", "publish"])
    if (step in timings) ends.push([step, (at += timings[step])]);
  const stepPeaksMb: Record<string, number> = {};
  for (const [t, mb] of samples) {
    const step = ends.find(([, end]) => t <= end)?.[0] ?? "exit";
    stepPeaksMb[step] = Math.max(stepPeaksMb[step] ?? 0, Math.round(mb));
  }
  const polledMb = Math.max(0, ...Object.values(stepPeaksMb));
  return { peakMb: Math.max(Number(peak[1]) / 1024, polledMb), wallSeconds, timings, stepPeaksMb };
}

const file = await dataFile();
const sizeMb = statSync(file).size / 1e6;
console.log(
  `data: ${rows} rows, ${sizeMb.toFixed(1)} MB (${file}); train ${withReport ? "" : "--no-report "}--draws ${draws} --tune ${tune} --chains ${chains}`,
);
const results: Run[] = [];
for (let r = 0; r < runs; r++) {
  const run = await trainOnce(file);
  results.push(run);
  console.log(
    `run ${r + 1}: peak RSS ${run.peakMb.toFixed(0)} MB, ${run.wallSeconds.toFixed(0)} s; timings ${JSON.stringify(run.timings)}; peak by step (polled) ${JSON.stringify(run.stepPeaksMb)}`,
  );
}
const peaks = results.map((r) => r.peakMb).sort((a, b) => a - b);
const median = peaks[Math.floor(peaks.length / 2)];
console.log(
  `TRAIN_MEMORY_RESULT: ${JSON.stringify({ rows, draws, tune, chains, runs, median_peak_rss_mb: Math.round(median), max_peak_rss_mb: Math.round(peaks.at(-1)!), goal_mb: GOAL_MB })}`,
);
if (peaks.at(-1)! >= GOAL_MB) {
  console.error(`peak RSS ${peaks.at(-1)!.toFixed(0)} MB is over the ${GOAL_MB} MB goal`);
  process.exitCode = 1;
}
