// Chains as pods, on one machine: a 2-chain fit split over two processes (`train --chain-index i --chains 2 --stage`,
// both at once, as two pods would run), beside one such chain process alone, then merged (`train --merge`) and
// compared with the in-process 2-chain fit of the same seed. Issue 20's goals: the same posterior and diagnostics as
// the in-process fit (here: the very same draws), and the split run's wall time ≤ 1.1× one chain's alone.
//
// Runs the built CLI (dist/): `npm run build && npm run bench:chains-as-pods -- [--reps 5] [--rows 50000]`. The seed
// model on simulated rows (default 50,000: ~3 s of sampling per chain here, so that process start-up is not all that
// is measured), the seed's 1,000 warm-up + 5,000 draws. Each rep runs the lone chain and the pair back to back, in
// alternating order; the ratio is the median of the per-rep ratios (same rep, same load). The machine's load
// (`uptime`) is printed before and after: on a shared 2-core machine, two chains compete with everyone else's work.
// Last line: CHAINS_AS_PODS_RESULT {json}.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const reps = Number(flag("--reps") ?? 5) || 5;
const rows = Number(flag("--rows") ?? 50_000) || 50_000;
const seed = 7;
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/cli/main.js");
const common = ["--simulate", "--rows", String(rows), "--seed", String(seed), "--chains", "2", "--no-report", "--no-compare"];

interface ChainRun {
  wall: number;
  /** The chain's own sampling seconds (its log line). */
  sampling: number;
  /** The process's CPU seconds, user + system (GNU time), NaN where /usr/bin/time is missing. */
  cpu: number;
}

// GNU time gives each chain process's CPU time: when it is the same alone and in a pair, the split itself costs
// nothing and a wall-time ratio above 1 is the machine's other work taking the second core.
const TIME = "/usr/bin/time";
const timed = existsSync(TIME);

function runChain(chain: number, stage: string, store: string): Promise<ChainRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const argv = [process.execPath, cli, "train", ...common, "--store", store, "--chain-index", String(chain), "--stage", stage];
    const child = timed
      ? spawn(TIME, ["-f", "BENCH_CPU %U %S", ...argv], { stdio: ["ignore", "pipe", "pipe"] })
      : spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.stdout.resume();
    child.on("exit", (code) => {
      const wall = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`chain ${chain} exited ${code}: ${stderr}`));
      const m = /chain \d+ of \d+: ([0-9.]+) s sampling/.exec(stderr);
      const cpu = /BENCH_CPU ([0-9.]+) ([0-9.]+)/.exec(stderr);
      resolve({ wall, sampling: m ? Number(m[1]) : Number.NaN, cpu: cpu ? Number(cpu[1]) + Number(cpu[2]) : Number.NaN });
    });
  });
}

async function wallOf(runs: () => Promise<ChainRun[]>): Promise<{ wall: number; chains: ChainRun[] }> {
  const t0 = performance.now();
  const chains = await runs();
  return { wall: (performance.now() - t0) / 1000, chains };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const load = () => execFileSync("uptime", { encoding: "utf8" }).trim();
const tmp = (p: string) => mkdtempSync(path.join(tmpdir(), `bench-pods-${p}-`));

console.log(`chains as pods: seed model, ${rows} simulated rows, 2 chains × (1000 warm-up + 5000 draws), ${reps} reps`);
console.log(`load before: ${load()}`);
const store = tmp("store");
const solo: { wall: number; sampling: number; cpu: number }[] = [];
const pair: { wall: number; sampling: number; cpu: number }[] = [];
const ratios: number[] = [];
let lastStage = "";
for (let r = 0; r < reps; r++) {
  const alone = async () => wallOf(async () => [await runChain(0, tmp("solo"), store)]);
  const both = async () => {
    lastStage = tmp("pair");
    const stage = lastStage;
    return wallOf(() => Promise.all([runChain(0, stage, store), runChain(1, stage, store)]));
  };
  // Alternate which goes first, so neither always meets the machine in the same state.
  const [a, b] = r % 2 === 0 ? [await alone(), await both()] : (([y, x]) => [x, y])([await both(), await alone()]);
  solo.push({ wall: a.wall, sampling: a.chains[0].sampling, cpu: a.chains[0].cpu });
  pair.push({ wall: b.wall, sampling: Math.max(...b.chains.map((c) => c.sampling)), cpu: Math.max(...b.chains.map((c) => c.cpu)) });
  ratios.push(b.wall / a.wall);
  console.log(
    `rep ${r + 1}: one chain alone ${a.wall.toFixed(2)} s (sampling ${a.chains[0].sampling.toFixed(2)} s, CPU ${a.chains[0].cpu.toFixed(2)} s); ` +
      `two chain processes at once ${b.wall.toFixed(2)} s (sampling ${b.chains.map((c) => c.sampling.toFixed(2)).join(" / ")} s, CPU ${b.chains.map((c) => c.cpu.toFixed(2)).join(" / ")} s); ratio ${(b.wall / a.wall).toFixed(2)}`,
  );
}

// The last pair merged, and the in-process fit of the same seed: the same draws, so the same diagnostics.
function trainJson(extra: string[], into: string): { wall: number; json: { version: string; parameters: unknown; gate: unknown }; timings: string } {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, [cli, "train", ...common, "--store", into, "--json", ...extra], { encoding: "utf8" });
  if (res.status !== 0 && res.status !== 3) throw new Error(`train ${extra.join(" ")} exited ${res.status}: ${res.stderr}`);
  return {
    wall: (performance.now() - t0) / 1000,
    json: JSON.parse(res.stdout.trim().split("\n").at(-1) ?? "{}"),
    timings: res.stderr.split("\n").find((l) => l.startsWith("timings (s):")) ?? "",
  };
}
const mergeStore = tmp("merged");
const inProcessStore = tmp("inprocess");
const merged = trainJson(["--merge", lastStage], mergeStore);
const inProcess = trainJson([], inProcessStore);
const draws = (s: string, v: string) => readFileSync(path.join(s, "versions", v, "draws.bin"));
const sameDraws = draws(mergeStore, merged.json.version).equals(draws(inProcessStore, inProcess.json.version));
const sameSummary = JSON.stringify(merged.json.parameters) === JSON.stringify(inProcess.json.parameters);
console.log(`merge: ${merged.wall.toFixed(2)} s (${merged.timings}); in-process 2-chain train: ${inProcess.wall.toFixed(2)} s (${inProcess.timings})`);
console.log(
  `merged vs in-process, same seed: draws ${sameDraws ? "bit-identical" : "DIFFERENT"}; summary (mean, sd, HDI, ESS, R-hat) ${sameSummary ? "identical" : "DIFFERENT"}`,
);
console.log(`load after: ${load()}`);
const result = {
  rows,
  reps,
  soloWallMedian: median(solo.map((s) => s.wall)),
  pairWallMedian: median(pair.map((s) => s.wall)),
  ratioMedian: median(ratios),
  soloSamplingMedian: median(solo.map((s) => s.sampling)),
  pairSamplingMedian: median(pair.map((s) => s.sampling)),
  samplingRatioMedian: median(pair.map((p, i) => p.sampling / solo[i].sampling)),
  soloCpuMedian: median(solo.map((s) => s.cpu)),
  pairCpuMedian: median(pair.map((s) => s.cpu)),
  mergeWall: merged.wall,
  inProcessWall: inProcess.wall,
  sameDraws,
  sameSummary,
};
console.log(
  `median: one chain alone ${result.soloWallMedian.toFixed(2)} s, two at once ${result.pairWallMedian.toFixed(2)} s, ratio ${result.ratioMedian.toFixed(2)} (goal ≤ 1.10); ` +
    `sampling alone ${result.soloSamplingMedian.toFixed(2)} s vs slowest of two ${result.pairSamplingMedian.toFixed(2)} s, ratio ${result.samplingRatioMedian.toFixed(2)}; ` +
    `CPU per chain process alone ${result.soloCpuMedian.toFixed(2)} s, in a pair ${result.pairCpuMedian.toFixed(2)} s`,
);
console.log(`CHAINS_AS_PODS_RESULT ${JSON.stringify(result)}`);
if (!sameDraws || !sameSummary) process.exitCode = 1;
