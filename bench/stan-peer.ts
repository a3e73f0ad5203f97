// Stan as a peer in the benchmarks: bench/peers/stan_time.R run through Rscript (Debian's r-cran-rstan 2.21), its
// compiled models cached between runs. rstan's auto_write keeps the compiled model beside its .stan file and reuses it
// while the program is unchanged, so each program is copied into .tmp/bench-stan/ under a name made from its text's
// hash: the ~45–90 s compile happens once per program, and never inside a timed run (Stan's own timer excludes it).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PEERS = path.join(REPO, "bench", "peers");
export const STAN_CACHE = path.join(REPO, ".tmp", "bench-stan");

/** Whether Rscript with rstan, posterior and jsonlite is installed. */
export function haveRstan(): boolean {
  return spawnSync("Rscript", ["-e", "suppressMessages({library(rstan); library(posterior); library(jsonlite)})"], { stdio: "ignore" }).status === 0;
}

/**
 * Stan programs from posteriordb use the array syntax of Stan ≥ 2.26 (`array[N] real y;`), which rstan 2.21's
 * compiler does not read: rewritten as the older `real y[N];`, the same program.
 */
export function toRstan221Syntax(program: string): string {
  return program.replace(/array\[([^\]]+)\]\s+(int|real|vector\[[^\]]+\]|row_vector\[[^\]]+\])(<[^>]*>)?\s+(\w+)/g, "$2$3 $4[$1]");
}

/** The program in the cache (written once per distinct text); returns its path. */
export function cachedProgram(name: string, program: string): string {
  mkdirSync(STAN_CACHE, { recursive: true });
  const hash = createHash("sha256").update(program).digest("hex").slice(0, 12);
  const file = path.join(STAN_CACHE, `${name.replace(/[^A-Za-z0-9_]/g, "_")}_${hash}.stan`);
  if (!existsSync(file) || readFileSync(file, "utf8") !== program) writeFileSync(file, program);
  return file;
}

/** Data as Stan reads it, written beside the cached programs; returns its path. */
export function cachedData(name: string, data: unknown): string {
  mkdirSync(STAN_CACHE, { recursive: true });
  const text = JSON.stringify(data);
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 12);
  const file = path.join(STAN_CACHE, `${name.replace(/[^A-Za-z0-9_]/g, "_")}_${hash}.json`);
  if (!existsSync(file)) writeFileSync(file, text);
  return file;
}

/** Compiles a cached program now (rstan's auto_write keeps it), so that later runs only load it. */
export function compileStan(programFile: string): void {
  const r = `suppressMessages(library(rstan)); if (!file.exists(rstan_options("boost_lib"))) rstan_options(boost_lib = "/usr/include"); invisible(stan_model(${JSON.stringify(programFile)}, auto_write = TRUE))`;
  execFileSync("Rscript", ["-e", r], { stdio: ["ignore", "inherit", "inherit"] });
}

export interface StanRun {
  chain_seconds: number;
  warmup_seconds: number[];
  sample_seconds: number[];
  min_ess_bulk: number;
  min_ess_bulk_per_s: number;
  leapfrog_per_draw: number;
  sample_leapfrogs: number[];
  gradients: number;
  ess_per_gradient: number;
  divergences: number;
  ess_bulk: Record<string, number>;
  mean: Record<string, number>;
}

export interface StanSettings {
  warmup: number;
  draws: number;
  chains: number;
  seed: number;
  adaptDelta?: number;
  maxTreeDepth?: number;
  /** Write the draws (posteriordb's reference_draws.json layout) here, thinned by `thin`. */
  drawsOut?: string;
  thin?: number;
}

/** Runs stan_time.R; its stderr passes through (compiler messages the first time). */
export function runStan(programFile: string, dataFile: string, s: StanSettings): StanRun {
  const args = [
    path.join(PEERS, "stan_time.R"),
    programFile,
    dataFile,
    String(s.warmup),
    String(s.draws),
    String(s.chains),
    String(s.seed),
    String(s.adaptDelta ?? 0.8),
    String(s.maxTreeDepth ?? 10),
    s.drawsOut ?? "",
    String(s.thin ?? 1),
  ];
  const out = execFileSync("Rscript", args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 28 });
  const line = out.split("\n").find((l) => l.startsWith("STAN_RESULT:"));
  if (!line) throw new Error(`Stan printed no STAN_RESULT line for ${programFile}:\n${out.slice(-2000)}`);
  return JSON.parse(line.slice("STAN_RESULT:".length)) as StanRun;
}

/**
 * Stan's log density + gradient alone (stan_grad.R: rstan's log_prob with gradient, median of 9 batches at
 * θᵢ = 0.1·sin(i), the point bench/logdensity.ts times ours at), and R's own per-call overhead, measured alongside.
 */
export function stanGradientMicroseconds(programFile: string, dataFile: string): { us: number; r_call_overhead_us: number; dim: number } {
  const out = execFileSync("Rscript", [path.join(PEERS, "stan_grad.R"), programFile, dataFile], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const line = out.split("\n").find((l) => l.startsWith("STAN_GRAD:"));
  if (!line) throw new Error(`stan_grad.R printed no STAN_GRAD line for ${programFile}:\n${out.slice(-2000)}`);
  return JSON.parse(line.slice("STAN_GRAD:".length)) as { us: number; r_call_overhead_us: number; dim: number };
}

/** µs per leapfrog step in the sampling phase (chains averaged): the gradient as the sampler evaluates it. */
export function stanMicrosecondsPerLeapfrog(r: StanRun): number {
  const perChain = r.sample_seconds.map((s, c) => (1e6 * s) / r.sample_leapfrogs[c]);
  return perChain.reduce((a, b) => a + b, 0) / perChain.length;
}

/** Stan's 1-based `beta[1]` → our 0-based `beta[0]`. */
export function zeroBased(stanName: string): string {
  return stanName.replace(/\[(\d+)\]$/, (_, k: string) => `[${Number(k) - 1}]`);
}
