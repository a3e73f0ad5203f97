// The posteriors the sampler benchmarks run, ours and Stan's side by side: the seed's regression (1,600 and 20,000
// rows), every posteriordb posterior of the validated suite, and the four worked examples of docs/models.md (the
// model families the issue names: hierarchical, logistic, Poisson with exposure, robust Student-t). Each case carries
// our model and data, the same model in Stan (rstan 2.21 syntax) with its data, the quantities whose smallest bulk
// ESS is compared, and the sampler controls the reference used.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { DataInput } from "../src/model/bind.js";
import type { Model } from "../src/model/builder.js";
import { POSTERIORDB_MODELS } from "../src/models/posteriordb/index.js";
import { seedRegression } from "../src/models/seed-regression.js";
import { resolveModel } from "../src/train/models.js";
import { simulateSeedData, SEED_SIMULATION } from "../src/train/simulate.js";
import { EXAMPLES, parseRows, simulatedCsv } from "../test/fixtures/stan-examples/make-reference.js";
import { loadReference, POSTERIORDB_DIR, readSingleFileZip } from "../test/posteriordb/reference.js";
import { REPO, toRstan221Syntax } from "./stan-peer.js";

export interface BenchCase {
  name: string;
  model: Model;
  data: DataInput;
  stan: { program: string; data: unknown };
  /** Our 0-based names of the quantities whose smallest bulk ESS is compared (Stan's are the same, 1-based). */
  quantities: string[];
  targetAccept: number;
  maxTreeDepth: number;
  /** Iterations when a case needs other than the run's (diamonds: its trees are 100× longer). */
  tune?: number;
  draws?: number;
}

/** The suite's posteriordb posteriors (test/validate/posteriordb.test.ts validates them, and the suite's own two). */
export const SUITE_POSTERIORS = [
  "eight_schools-eight_schools_noncentered",
  "kidiq-kidscore_momiq",
  "kidiq-kidscore_interaction",
  "earnings-logearn_height",
  "mesquite-logmesquite",
  "arK-arK",
  "sblrc-blr",
  "nes2000-nes",
  "kilpisjarvi_mod-kilpisjarvi",
  "low_dim_gauss_mix-low_dim_gauss_mix",
  "gp_pois_regr-gp_regr",
  "diamonds-diamonds",
];

/** Every element name of the model's parameters, for a model whose shapes are known from the data. */
function elementNames(m: Model, sizes: Record<string, number>): string[] {
  return m.json.params.flatMap((p) => (p.shape.length === 0 ? [p.name] : Array.from({ length: sizes[p.name] }, (_, i) => `${p.name}[${i}]`)));
}

function seedCase(rows: number): BenchCase {
  const d = simulateSeedData({ ...SEED_SIMULATION, rows, seed: 1 });
  return {
    name: `seed-regression-${rows}`,
    model: seedRegression,
    data: { x: d.x, category: d.category, y: d.y },
    stan: {
      program: readFileSync(path.join(REPO, "bench/peers/seed_model.stan"), "utf8"),
      data: { N: rows, x: Array.from(d.x), c: Array.from(d.category, (c) => c + 1), y: Array.from(d.y) },
    },
    quantities: elementNames(seedRegression, { beta: 3 }),
    targetAccept: 0.8,
    maxTreeDepth: 10,
  };
}

function posteriordbCase(name: string): BenchCase {
  const def = POSTERIORDB_MODELS[name];
  const ref = loadReference(name);
  const control = ref.info.inference.method_arguments.control ?? {};
  const raw = JSON.parse(readSingleFileZip(path.join(POSTERIORDB_DIR, name, "data.json.zip")).toString("utf8")) as unknown;
  return {
    name,
    model: def.model,
    data: def.prepareData(ref.data),
    stan: { program: toRstan221Syntax(readFileSync(path.join(POSTERIORDB_DIR, name, "model.stan"), "utf8")), data: raw },
    quantities: [...ref.draws.keys()],
    targetAccept: control.adapt_delta ?? 0.8,
    maxTreeDepth: Math.min(control.max_treedepth ?? 10, 20),
    ...(name === "diamonds-diamonds" ? { draws: 1000 } : {}),
  };
}

async function exampleCase(name: string): Promise<BenchCase> {
  const ex = EXAMPLES.find((e) => e.name === name)!;
  const rows = parseRows(simulatedCsv(name));
  const model = await resolveModel(path.join(REPO, "examples", name, "model.ts"));
  const data: DataInput = {};
  for (const d of model.json.data) data[d.name] = rows.map((r) => r[d.name]);
  // The Stan program without its generated quantities (the predictions validate needs, not part of the posterior).
  const program = readFileSync(path.join(REPO, "test/fixtures/stan-examples", `${name}.stan`), "utf8").replace(/generated quantities\s*\{[\s\S]*$/, "");
  const sizes: Record<string, number> = { z: 12 };
  return {
    name: `example-${name}`,
    model,
    data,
    stan: { program, data: ex.stanData(rows, ex.instances) },
    quantities: elementNames(model, sizes),
    targetAccept: 0.8,
    maxTreeDepth: 10,
  };
}

/** Every case, or those whose name contains one of `only`. */
export async function benchCases(only: string[] = []): Promise<BenchCase[]> {
  const wanted = (n: string) => only.length === 0 || only.some((o) => n.includes(o));
  const out: BenchCase[] = [];
  for (const rows of [1600, 20000]) if (wanted(`seed-regression-${rows}`)) out.push(seedCase(rows));
  for (const name of SUITE_POSTERIORS) if (wanted(name)) out.push(posteriordbCase(name));
  for (const name of ["hierarchical", "logistic", "poisson-exposure", "robust"]) if (wanted(`example-${name}`)) out.push(await exampleCase(name));
  return out;
}
