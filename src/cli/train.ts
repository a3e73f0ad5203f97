// `bayes-serve train`: data in, fit, evaluate, gate, report, publish — one command.
import { DEFAULT_STORE_URI } from "../artifact/store.js";
import { DIVERGENCE_RETRY_TARGETS, TRAIN_DEFAULTS } from "../defaults.js";
import { readFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { parse as parseYaml } from "yaml";
import { BayesServeError } from "../errors.js";
import { formatSummaryTable } from "../diagnostics/index.js";
import { DEFAULT_GATE, parseMetricRule, type MetricRule } from "../train/gate.js";
import { DEFAULT_MAX_ELPD_DROP, describeComparison, EXIT_NOT_PROMOTED } from "../train/promotion.js";
import { resolveModel, DEFAULT_MODEL } from "../train/models.js";
import { DEFAULT_TUNE, SEED_SIMULATION, train, type TrainOptions, type TrainResult } from "../train/pipeline.js";
import { mergeChains, type StagedChain, trainChain } from "../train/chain-stage.js";
import { WARM_START_TUNE } from "../train/warm-start.js";
import { ADAPTATIONS, type Adaptation } from "../inference/index.js";
import { parseDecimal } from "../schema/decimal.js";

// Decimal integers only: Number() would read "" as 0 and accept "0x10" or "1e3".
const int = (flag: string) => (v: string) => {
  const n = /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new BayesServeError("USAGE", `${flag} must be an integer (got "${v}")`);
  return n;
};
const num = (flag: string) => (v: string) => {
  const n = parseDecimal(v.trim());
  if (!Number.isFinite(n)) throw new BayesServeError("USAGE", `${flag} must be a number (got "${v}")`);
  return n;
};
const list = (flag: string) => (v: string) => v.split(",").map((s) => num(flag)(s.trim()));

/** "J=12" → { J: 12 }. */
function parseScalar(text: string): Record<string, number> {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)\s*$/.exec(text);
  const v = m === null ? Number.NaN : Number(m[2]);
  if (m === null || !Number.isFinite(v)) throw new BayesServeError("USAGE", `--data-scalar "${text}": write it as NAME=NUMBER, e.g. J=12`);
  return { [m[1]]: v };
}

/** A JSON or YAML file of name: number. */
async function readScalarsFile(file: string): Promise<Record<string, number>> {
  let parsed: unknown;
  try {
    parsed = parseYaml(await readFile(file, "utf8")); // YAML is a superset of JSON
  } catch (err) {
    throw new BayesServeError("USAGE", `--data-scalars ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new BayesServeError("USAGE", `--data-scalars ${file}: must hold name: value pairs`);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== "number" || !Number.isFinite(v))
      throw new BayesServeError("USAGE", `--data-scalars ${file}: ${k} must be a number (got ${JSON.stringify(v)})`);
    out[k] = v;
  }
  return out;
}

export interface TrainCommandOptions {
  simulate?: boolean;
  data?: string;
  dataAll?: boolean;
  model: string;
  store: string;
  seed: number;
  draws: number;
  tune?: number;
  chains: number;
  threadsPerChain?: number;
  testFraction: number;
  targetAccept?: number;
  maxTreeDepth: number;
  adaptation: Adaptation;
  warmStart?: string;
  target?: string;
  dataScalar: Record<string, number>;
  dataScalars?: string;
  rows: number;
  beta: number[];
  sigma: number;
  maxRhat: number;
  minEssBulk: number;
  minEssTail: number;
  maxDivergences: number;
  divergenceRetries: number;
  gateMetric: MetricRule[];
  compare: boolean;
  maxElpdDrop: number;
  json?: boolean;
  report: boolean;
  sampleRows?: number;
  chainIndex?: number;
  stage?: string;
  merge?: string;
}

/** `train`'s options as the pipeline takes them. */
async function trainOptionsOf(o: TrainCommandOptions, log: (line: string) => void): Promise<TrainOptions> {
  if (o.simulate && o.data) throw new BayesServeError("USAGE", "give either --simulate or --data FILE.csv, not both");
  if (o.dataAll === true && !o.data)
    throw new BayesServeError("USAGE", "--data-all reads every object under the --data s3:// prefix: give --data s3://bucket/prefix/");
  const model = await resolveModel(o.model);
  return {
    model,
    source: o.data ? { data: o.data, all: o.dataAll } : { simulate: { ...SEED_SIMULATION, rows: o.rows, beta: o.beta, sigma: o.sigma, seed: o.seed } },
    store: o.store,
    seed: o.seed,
    draws: o.draws,
    tune: o.tune,
    chains: o.chains,
    threadsPerChain: o.threadsPerChain,
    testFraction: o.testFraction,
    targetAccept: o.targetAccept,
    maxTreeDepth: o.maxTreeDepth,
    adaptation: o.adaptation,
    warmStart: o.warmStart,
    target: o.target,
    compare: o.compare,
    maxElpdDrop: o.maxElpdDrop,
    scalars: { ...(o.dataScalars !== undefined ? await readScalarsFile(o.dataScalars) : {}), ...o.dataScalar },
    gate: { maxRhat: o.maxRhat, minEssBulk: o.minEssBulk, minEssTail: o.minEssTail, maxDivergences: o.maxDivergences, metrics: o.gateMetric ?? [] },
    divergenceRetries: o.divergenceRetries,
    report: o.report,
    sampleRows: o.sampleRows,
    log,
  };
}

/** `train --chain-index i --chains n --stage URI`: one chain of the fit, staged for a later `train --merge URI`. */
export async function runStagedChainCommand(o: TrainCommandOptions): Promise<StagedChain> {
  if (o.chainIndex === undefined || o.stage === undefined)
    throw new BayesServeError("USAGE", "--chain-index and --stage go together: run chain i of --chains n and stage it at a URI");
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const staged = await trainChain(await trainOptionsOf(o, log), o.chainIndex, o.stage);
  if (o.json) process.stdout.write(JSON.stringify(staged) + "\n");
  else
    process.stdout.write(
      `staged chain ${staged.chain} of ${staged.chains} to ${staged.file} (${staged.seconds.toFixed(2)} s); merge with: bayes-serve train --merge ${o.stage} and the same options\n`,
    );
  return staged;
}

export async function runTrainCommand(o: TrainCommandOptions): Promise<TrainResult> {
  if (o.merge !== undefined && (o.chainIndex !== undefined || o.stage !== undefined))
    throw new BayesServeError("USAGE", "--merge URI merges staged chains; --chain-index/--stage run one: give one or the other");
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const options = await trainOptionsOf(o, log);
  const result = o.merge !== undefined ? await mergeChains(options, o.merge) : await train(options);
  log(
    `timings (s): ${Object.entries(result.timings)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(", ")}`,
  );
  const out = o.json ? process.stderr : process.stdout;
  out.write(`\n${formatSummaryTable(result.summary)}\n`);
  if (Object.keys(result.metrics).length) {
    out.write(`\nheld-out metrics:\n`);
    for (const [k, v] of Object.entries(result.metrics)) out.write(`  ${k.padEnd(12)} ${ROW_COUNTS.has(k) ? v : v.toFixed(4)}\n`);
    const sampled = result.metrics.evaluation_sample_rows !== undefined || result.metrics.loo_sample_rows !== undefined;
    if (sampled)
      out.write(
        `  (${[
          result.metrics.evaluation_sample_rows !== undefined
            ? `held-out metrics but elpd_holdout on a random sample of ${result.metrics.evaluation_sample_rows} of ${result.metrics.test_rows} held-out rows`
            : "",
          result.metrics.loo_sample_rows !== undefined
            ? `elpd_loo and p_loo on a random sample of ${result.metrics.loo_sample_rows} training rows, scaled to all (subsampled PSIS-LOO)`
            : "",
        ]
          .filter((t) => t !== "")
          .join("; ")})\n`,
      );
  }
  out.write(`\nquality gate: ${result.gate.passed ? "passed" : "FAILED"}${result.divergences ? ` (${result.divergences} divergences)` : ""}\n`);
  for (const f of result.gate.failures) out.write(`  ${f}\n`);
  if (result.gate.comparison !== undefined && !result.gate.comparison.refused) out.write(`  ${describeComparison(result.gate.comparison)}\n`);
  out.write(
    result.promoted
      ? `published ${result.version} to ${result.store} as latest (${result.seconds.toFixed(2)} s)\n`
      : `stored ${result.version} in ${result.store}, not promoted (latest unchanged)\n`,
  );
  if (o.json) {
    const parameters: Record<string, Record<string, number | null>> = {};
    for (const r of result.summary)
      parameters[r.name] = {
        mean: r.mean,
        sd: r.sd,
        "hdi_3%": r.hdiLow,
        "hdi_97%": r.hdiHigh,
        ess_bulk: finite(r.essBulk),
        ess_tail: finite(r.essTail),
        r_hat: finite(r.rHat),
      };
    process.stdout.write(
      JSON.stringify({
        version: result.version,
        store: result.store,
        published: result.published,
        promoted: result.promoted,
        parameters,
        metrics: result.metrics,
        gate: result.gate,
        divergent_fits: result.divergentFits,
        seconds: result.seconds,
      }) + "\n",
    );
  }
  if (!result.promoted)
    throw new BayesServeError(
      "QUALITY_GATE",
      `quality gate failed: ${result.gate.failures.join("; ")}; stored as ${result.version} but not promoted (bayes-serve models promote ${result.version} serves it anyway)`,
      { exitCode: EXIT_NOT_PROMOTED },
    );
  return result;
}

/** Metrics that are counts of rows, printed as integers. */
const ROW_COUNTS = new Set(["test_rows", "evaluation_sample_rows", "loo_sample_rows"]);

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

export function addTrainOptions(cmd: Command): Command {
  return cmd
    .option("--simulate", "train on the seed's simulated data (the default when no --data is given)")
    .option(
      "--data <uri>",
      "training data: a path or file://, s3://bucket/key, s3://bucket/prefix/ (its newest object), or http(s)://; CSV (also gzip) or Parquet with a column per model input (seed: x,category,y; category 0-based)",
    )
    .option("--data-all", "with an s3:// prefix: read every object under it, in key order, as one table")
    .option(
      "--model <name|file|uri>",
      "built-in model name, or a model file (.ts/.js exporting a model, or its .json form): a path, s3://bucket/key or https://…",
      DEFAULT_MODEL,
    )
    .option("--store <uri>", "artefact store: a folder or s3://bucket/prefix", DEFAULT_STORE_URI)
    .option("--seed <n>", "random seed (data simulation, split, sampler)", int("--seed"), TRAIN_DEFAULTS.seed)
    .option("--draws <n>", "draws per chain after warm-up", int("--draws"), TRAIN_DEFAULTS.draws)
    .option("--tune <n>", `warm-up iterations per chain (default ${DEFAULT_TUNE}; ${WARM_START_TUNE} with a warm start)`, int("--tune"))
    .option("--chains <n>", "chains, run in parallel on worker threads", int("--chains"), TRAIN_DEFAULTS.chains)
    .option(
      "--threads-per-chain <n>",
      "threads evaluating each chain's gradient over shards of the rows (default: the cores left per chain, when the data are large enough to gain)",
      (v: string) => {
        const n = int("--threads-per-chain")(v);
        if (n < 1 || n > 256) throw new BayesServeError("USAGE", `--threads-per-chain must be an integer in 1..256 (got ${n})`);
        return n;
      },
    )
    .option("--test-fraction <f>", "held-out fraction, stratified by category (0 = no evaluation)", num("--test-fraction"), TRAIN_DEFAULTS.testFraction)
    .option(
      "--target-accept <p>",
      `target acceptance statistic (Stan's adapt_delta; default: ${TRAIN_DEFAULTS.targetAccept}, or with --warm-start the published fit's)`,
      num("--target-accept"),
    )
    .option("--max-tree-depth <n>", "NUTS maximum tree depth", int("--max-tree-depth"), TRAIN_DEFAULTS.maxTreeDepth)
    .addOption(
      new Option(
        "--adaptation <name>",
        "how warm-up learns the metric: nutpie's gradient-based diagonal (grad-diag), Stan's windowed variance of draws (stan), or nutpie's low-rank-plus-diagonal (low-rank)",
      )
        .choices([...ADAPTATIONS])
        .default(TRAIN_DEFAULTS.adaptation),
    )
    .option(
      "--warm-start <version|latest>",
      "start from a published fit of the same model in --store (step sizes, metrics, last draws) with a short warm-up; latest starts cold when there is none",
    )
    .option("--target <name>", "the observed column the service predicts, when the model observes several (default: its only one)")
    .option(
      "--data-scalar <name=value>",
      "a scalar data input (a size such as J) the CSV cannot hold (repeatable); sizes of categories and N are inferred",
      (v: string, all: Record<string, number>) => ({ ...all, ...parseScalar(v) }),
      {} as Record<string, number>,
    )
    .option("--data-scalars <file>", "scalar data inputs from a JSON or YAML file of name: value")
    .addOption(new Option("--rows <n>", "simulated rows").argParser(int("--rows")).default(SEED_SIMULATION.rows))
    .addOption(new Option("--beta <b0,b1,...>", "simulated betas, one per category").argParser(list("--beta")).default(SEED_SIMULATION.beta, "1,1.25,1.5"))
    .addOption(new Option("--sigma <s>", "simulated noise sd").argParser(num("--sigma")).default(SEED_SIMULATION.sigma))
    .option("--max-rhat <r>", "gate: largest R-hat allowed", num("--max-rhat"), DEFAULT_GATE.maxRhat)
    .option("--min-ess-bulk <n>", "gate: smallest bulk ESS allowed", num("--min-ess-bulk"), DEFAULT_GATE.minEssBulk)
    .option("--min-ess-tail <n>", "gate: smallest tail ESS allowed", num("--min-ess-tail"), DEFAULT_GATE.minEssTail)
    .option("--max-divergences <n>", "gate: most divergent transitions allowed", int("--max-divergences"), DEFAULT_GATE.maxDivergences)
    .option(
      "--divergence-retries <n>",
      `fit again at a higher --target-accept (the next of ${DIVERGENCE_RETRY_TARGETS.join(", ")}) while the fit has more divergent transitions than --max-divergences, up to n times (0: never; not for staged fits)`,
      int("--divergence-retries"),
      TRAIN_DEFAULTS.divergenceRetries,
    )
    .option(
      "--gate-metric <rule>",
      'gate: a bound on a held-out metric of the target\'s kind, e.g. "coverage_90>=0.85" or "brier<=0.2" (repeatable)',
      (v: string, rules: MetricRule[]) => [...rules, parseMetricRule(v)],
      [] as MetricRule[],
    )
    .option(
      "--max-elpd-drop <n>",
      "gate: a fit predicting the held-out rows worse than latest by more than this many SEs is not promoted",
      num("--max-elpd-drop"),
      DEFAULT_MAX_ELPD_DROP,
    )
    .option("--no-compare", "promote without comparing with the version serving")
    .option("--no-report", "skip the plots and report.html")
    .option(
      "--sample-rows <n>",
      "above this many training (held-out) rows, the report's figures and PSIS-LOO (the held-out metrics but elpd_holdout) use a seeded random sample of this many, recorded in the manifest and the report",
      (v: string) => {
        const n = int("--sample-rows")(v);
        if (n < 2) throw new BayesServeError("USAGE", `--sample-rows must be an integer ≥ 2 (got ${n})`);
        return n;
      },
      TRAIN_DEFAULTS.sampleRows,
    )
    .option("--json", "print one JSON object as the last line of stdout")
    .option(
      "--chain-index <i>",
      "run only chain i (0-based) of the --chains fit, with the seed stream it has in the whole fit, and write it to --stage",
      int("--chain-index"),
    )
    .option("--stage <uri>", "with --chain-index: where to write the chain, a folder or s3://bucket/prefix (one folder per fit)")
    .option(
      "--merge <uri>",
      "merge the --chains chains staged at the URI (all present, whole, of this fit: same model, data and options) and train on as usual",
    );
}

export function register(program: Command): void {
  addTrainOptions(program.command("train").description("fit a model by NUTS, evaluate it, and publish a versioned artefact")).action(
    async (opts: TrainCommandOptions) => {
      if (opts.chainIndex !== undefined || opts.stage !== undefined) {
        if (opts.merge !== undefined)
          throw new BayesServeError("USAGE", "--merge URI merges staged chains; --chain-index/--stage run one: give one or the other");
        await runStagedChainCommand(opts);
      } else await runTrainCommand(opts);
    },
  );
}
