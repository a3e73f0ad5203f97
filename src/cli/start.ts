// `bayes-serve start`: the main job. With no model in the store yet, train the seed's model on the seed's simulated
// data and publish it there; then serve the store's latest version.
import type { Command } from "commander";
import { openStore } from "../artifact/store.js";
import { DEFAULT_STORE, runTrainCommand, type TrainCommandOptions } from "./train.js";
import { startServer } from "./serve.js";
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
      draws: 5000,
      tune: 1000,
      chains: 2,
      testFraction: 0.2,
      targetAccept: 0.8,
      maxTreeDepth: 10,
      adaptation: "stan",
      rows: SEED_SIMULATION.rows,
      beta: SEED_SIMULATION.beta,
      sigma: SEED_SIMULATION.sigma,
      maxRhat: DEFAULT_GATE.maxRhat,
      minEssBulk: DEFAULT_GATE.minEssBulk,
      minEssTail: DEFAULT_GATE.minEssTail,
      maxDivergences: DEFAULT_GATE.maxDivergences,
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
    .option("--store <uri>", "artefact store: a folder or s3://bucket/prefix", DEFAULT_STORE)
    .option("--port <port>", "TCP port", (v) => Number(v), 8000)
    .option("--host <host>", "interface to listen on", "0.0.0.0")
    .action(async (flags: StartFlags) => {
      await runStart(flags);
    });
}
