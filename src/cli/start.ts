// `bayes-serve start`: the main job. With no model in the store yet, train the seed's model on the seed's simulated
// data and publish it there; then serve the store's latest version.
import { TRAIN_DEFAULTS } from "../defaults.js";
import type { Command } from "commander";
import { DEFAULT_STORE_URI, openStore } from "../artifact/store.js";
import { runTrainCommand, type TrainCommandOptions } from "./train.js";
import { integer, startServer } from "./serve.js";
import { DEFAULT_GATE } from "../train/gate.js";
import { DEFAULT_MAX_ELPD_DROP } from "../train/promotion.js";
import { SEED_SIMULATION } from "../train/simulate.js";
import { DEFAULT_MODEL } from "../train/models.js";

interface StartFlags {
  store: string;
  port: number;
  host: string;
}

export async function runStart(flags: StartFlags): Promise<void> {
  const store = await openStore(flags.store);
  const latest = await store.readLatest();
  if (latest === null) {
    process.stderr.write(`no model in ${store.uri} yet: training the seed's model on simulated data first\n`);
    const seedTraining: TrainCommandOptions = {
      simulate: true,
      model: DEFAULT_MODEL,
      store: flags.store,
      seed: SEED_SIMULATION.seed,
      draws: TRAIN_DEFAULTS.draws,
      tune: TRAIN_DEFAULTS.tune,
      chains: TRAIN_DEFAULTS.chains,
      testFraction: TRAIN_DEFAULTS.testFraction,
      targetAccept: TRAIN_DEFAULTS.targetAccept,
      maxTreeDepth: TRAIN_DEFAULTS.maxTreeDepth,
      adaptation: TRAIN_DEFAULTS.adaptation,
      rows: SEED_SIMULATION.rows,
      beta: SEED_SIMULATION.beta,
      sigma: SEED_SIMULATION.sigma,
      maxRhat: DEFAULT_GATE.maxRhat,
      minEssBulk: DEFAULT_GATE.minEssBulk,
      minEssTail: DEFAULT_GATE.minEssTail,
      maxDivergences: DEFAULT_GATE.maxDivergences,
      divergenceRetries: TRAIN_DEFAULTS.divergenceRetries,
      gateMetric: [],
      dataScalar: {},
      compare: true,
      maxElpdDrop: DEFAULT_MAX_ELPD_DROP,
      report: true,
    };
    await runTrainCommand(seedTraining);
  } else process.stderr.write(`serving ${store.uri} (latest: ${latest})\n`);
  await startServer({ model: flags.store, port: flags.port, host: flags.host });
}

export function register(program: Command): void {
  program
    .command("start")
    .description("train the seed's model into the store if it holds none, then serve it (what `npm start` runs)")
    .option("--store <uri>", "artefact store: a folder or s3://bucket/prefix", DEFAULT_STORE_URI)
    .option("--port <port>", "TCP port", integer("--port", 0, 65535), 8000)
    .option("--host <host>", "interface to listen on", "0.0.0.0")
    .action(async (flags: StartFlags) => {
      await runStart(flags);
    });
}
