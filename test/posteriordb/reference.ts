// Shared helpers for the posteriordb reference tests (test/posteriordb/*.test.ts in `npm test`, and
// test/validate/posteriordb.test.ts in `npm run validate`): reading the zipped reference files, fitting a translated
// model with the reference's sampler settings, and comparing every parameter with the reference draws.
//
// The rule (the same everywhere it is used):
//   for every reference quantity (names mapped from Stan's 1-based `beta[1]` to our 0-based `beta[0]`),
//   z = (mean − ref_mean) / sqrt(mcse² + mcse_ref²) with mcse = our mcseMean and mcse_ref = ref_sd / sqrt(ESS_bulk(ref))
//   (the reference ESS computed from the reference draws with our essBulk); pass when |z| < 4,
//   and |sd / ref_sd − 1| < max(0.05, 4·δ), δ = sqrt((mcse_sd / sd)² + (mcse_sd_ref / ref_sd)²) with both mcse_sd
//   from our mcseSd: 5 % wherever the sds are well determined (ESS of a few thousand: δ ≈ 1 %), and the same 4σ as
//   the mean's rule where they are not (an sd from ~1,000 effective draws of a skewed quantity carries 2–3 %
//   Monte Carlo error, so 5 % would be a 2σ test there); R-hat < 1.01; no divergences (no reference run had any).
// A posterior passes when two of up to three seeded fits pass the rule (validateTwoOfThree). One fit is a random
// experiment: with ~1,000 effective draws an R-hat near 1.01 or an sd near its limit comes and goes with the seed, and
// with any change to floating-point order (which re-rolls every trajectory). On unchanged code, full runs at six
// seeds failed at two (kidiq_interaction R-hat 1.017–1.020; low_dim_gauss_mix with one chain stuck away from the
// reference's mode) and passed at four. A wrong sampler or model fails at every seed, so two of three keeps the
// test's power and drops most of its false alarms.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";
import { essBulk } from "../../src/diagnostics/ess.js";
import { mcseMean, mcseSd } from "../../src/diagnostics/mcse.js";
import { rhat } from "../../src/diagnostics/rhat.js";
import { meanOfChains, sdOfChains } from "../../src/diagnostics/chains.js";
import { fit } from "../../src/inference/fit.js";
import { chainsOf, type Posterior } from "../../src/inference/posterior.js";
import type { Adaptation } from "../../src/inference/sampler.js";
import { POSTERIORDB_MODELS, type PosteriordbModel } from "../../src/models/posteriordb/index.js";
import { resolveModel } from "../../src/train/models.js";
import { STAN_SUITE } from "../fixtures/stan-suite/make-reference.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The reference posteriors copied from posteriordb (test/fixtures/posteriordb, with its licence). */
export const POSTERIORDB_DIR = path.resolve(here, "../fixtures/posteriordb");
/** The suite's own reference posteriors, in the same layout (test/fixtures/stan-suite: long runs of Stan). */
export const STAN_SUITE_DIR = path.resolve(here, "../fixtures/stan-suite");

/** A reference posterior's folder: posteriordb's, or the suite's own. */
function referenceDir(name: string): string {
  return STAN_SUITE.some((e) => e.name === name) ? path.join(STAN_SUITE_DIR, name) : path.join(POSTERIORDB_DIR, name);
}

/**
 * Our model of a reference posterior: a posteriordb translation (src/models/posteriordb), or for the suite's own an
 * example's model file (examples/NAME/model.ts), whose data inputs are the Stan data's fields of the same names.
 */
export async function suiteModel(name: string): Promise<PosteriordbModel> {
  const def = POSTERIORDB_MODELS[name];
  if (def) return def;
  const entry = STAN_SUITE.find((e) => e.name === name);
  if (!entry) throw new Error(`no model for the reference posterior ${name}`);
  const model = await resolveModel(path.resolve(here, "../../examples", entry.example, "model.ts"));
  return { posterior: name, model, prepareData: (raw) => Object.fromEntries(model.json.data.map((d) => [d.name, raw[d.name] as number[]])) };
}

/** The single file inside a zip archive, read with the central directory and inflated with zlib (no unzip needed). */
export function readSingleFileZip(file: string): Buffer {
  const buf = readFileSync(file);
  // End of central directory record: signature 0x06054b50, at least 22 bytes from the end (plus a comment).
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--)
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0) throw new Error(`${file}: not a zip archive (no end of central directory)`);
  const entries = buf.readUInt16LE(eocd + 10);
  if (entries !== 1) throw new Error(`${file}: expected one file in the archive, found ${entries}`);
  const cd = buf.readUInt32LE(eocd + 16);
  if (buf.readUInt32LE(cd) !== 0x02014b50) throw new Error(`${file}: bad central directory`);
  const method = buf.readUInt16LE(cd + 10);
  const compressedSize = buf.readUInt32LE(cd + 20);
  const size = buf.readUInt32LE(cd + 24);
  const local = buf.readUInt32LE(cd + 42);
  if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`${file}: bad local file header`);
  const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
  const raw = buf.subarray(start, start + compressedSize);
  const out = method === 0 ? Buffer.from(raw) : method === 8 ? inflateRawSync(raw) : null;
  if (!out) throw new Error(`${file}: compression method ${method} is not supported`);
  if (out.length !== size) throw new Error(`${file}: inflated ${out.length} bytes, expected ${size}`);
  return out;
}

export interface ReferencePosterior {
  name: string;
  data: Record<string, unknown>;
  /** Reference draws by our 0-based name: one array per reference chain. */
  draws: Map<string, Float64Array[]>;
  info: {
    inference: { method_arguments: { control?: { adapt_delta?: number; max_treedepth?: number } } };
    diagnostics: { divergent_transitions: number[] };
  };
}

/** Stan's 1-based `beta[1]` → our 0-based `beta[0]`. */
export function zeroBasedName(stanName: string): string {
  return stanName.replace(/\[(\d+)\]$/, (_, k: string) => `[${Number(k) - 1}]`);
}

export function loadReference(name: string): ReferencePosterior {
  const dir = referenceDir(name);
  const data = JSON.parse(readSingleFileZip(path.join(dir, "data.json.zip")).toString("utf8")) as Record<string, unknown>;
  const chains = JSON.parse(readSingleFileZip(path.join(dir, "reference_draws.json.zip")).toString("utf8")) as Record<string, number[]>[];
  const draws = new Map<string, Float64Array[]>();
  for (const stanName of Object.keys(chains[0]))
    draws.set(
      zeroBasedName(stanName),
      chains.map((c) => Float64Array.from(c[stanName])),
    );
  const info = JSON.parse(readFileSync(path.join(dir, "reference_info.json"), "utf8")) as ReferencePosterior["info"];
  return { name, data, draws, info };
}

export interface ParameterComparison {
  name: string;
  mean: number;
  refMean: number;
  sd: number;
  refSd: number;
  mcse: number;
  mcseRef: number;
  z: number;
  sdRatioError: number;
  /** The sd tolerance applied: max(sdTolerance, zLimit·δ). */
  sdLimit: number;
  rhat: number;
  essBulk: number;
}

export interface ValidationResult {
  posterior: string;
  params: ParameterComparison[];
  maxAbsZ: number;
  maxSdRatioError: number;
  /** The largest sd tolerance applied (above 5 % only where the sds' Monte Carlo error is large). */
  maxSdLimit: number;
  maxRhat: number;
  minEssBulk: number;
  divergences: number;
  referenceDivergences: number;
  seconds: number;
  /** Rule violations, in words; empty when the posterior passes. */
  failures: string[];
}

export interface ValidationSettings {
  chains: number;
  draws: number;
  tune: number;
  seed: number;
  /** |sd / ref_sd − 1| must stay below this, or below zLimit relative Monte Carlo errors of the sds if that is larger. */
  sdTolerance: number;
  zLimit: number;
  rhatLimit: number;
  threads: boolean;
  /** How the metric adapts (the sampler's default unless a posterior needs another). */
  adaptation?: Adaptation;
}

/** Our reference settings: 4 chains × (1000 warm-up + 1000 draws), adapt_delta and max_treedepth as reference_info. */
export const DEFAULT_VALIDATION: ValidationSettings = {
  chains: 4,
  draws: 1000,
  tune: 1000,
  seed: 20240611,
  sdTolerance: 0.05,
  zLimit: 4,
  rhatLimit: 1.01,
  threads: true,
};

export function compareWithReference(
  posterior: Posterior,
  ref: ReferencePosterior,
  settings: Pick<ValidationSettings, "sdTolerance" | "zLimit" | "rhatLimit">,
) {
  const params: ParameterComparison[] = [];
  const failures: string[] = [];
  for (const [name, refChains] of ref.draws) {
    if (!posterior.names.includes(name)) {
      failures.push(`${name}: in the reference but not in the posterior (names: ${posterior.names.join(", ")})`);
      continue;
    }
    const ours = chainsOf(posterior, name);
    const mean = meanOfChains(ours);
    const sd = sdOfChains(ours);
    const mcse = mcseMean(ours);
    const refMean = meanOfChains(refChains);
    const refSd = sdOfChains(refChains);
    const mcseRef = refSd / Math.sqrt(essBulk(refChains));
    const z = (mean - refMean) / Math.sqrt(mcse * mcse + mcseRef * mcseRef);
    const sdRatioError = Math.abs(sd / refSd - 1);
    const delta = Math.hypot(mcseSd(ours) / sd, mcseSd(refChains) / refSd);
    const sdLimit = Math.max(settings.sdTolerance, settings.zLimit * delta);
    const r = rhat(ours);
    const c: ParameterComparison = { name, mean, refMean, sd, refSd, mcse, mcseRef, z, sdRatioError, sdLimit, rhat: r, essBulk: essBulk(ours) };
    params.push(c);
    if (!(Math.abs(z) < settings.zLimit)) failures.push(`${name}: mean ${mean.toPrecision(6)} vs reference ${refMean.toPrecision(6)}, z = ${z.toFixed(2)}`);
    if (!(sdRatioError < sdLimit))
      failures.push(
        `${name}: sd ${sd.toPrecision(5)} vs reference ${refSd.toPrecision(5)} (ratio error ${(sdRatioError * 100).toFixed(1)} %, limit ${(sdLimit * 100).toFixed(1)} %)`,
      );
    if (!(r < settings.rhatLimit)) failures.push(`${name}: R-hat ${r.toFixed(4)}`);
  }
  return { params, failures };
}

export function countDivergences(posterior: Posterior): number {
  const k = posterior.statNames.indexOf("diverging");
  const w = posterior.statNames.length;
  let n = 0;
  for (let i = k; i < posterior.stats.length; i += w) n += posterior.stats[i];
  return n;
}

/** Fits one translated posterior with the reference's adapt_delta / max_treedepth and applies the rule. */
export async function validatePosterior(name: string, overrides: Partial<ValidationSettings> = {}): Promise<ValidationResult> {
  const settings = { ...DEFAULT_VALIDATION, ...overrides };
  const def = await suiteModel(name);
  const ref = loadReference(name);
  const control = ref.info.inference.method_arguments.control ?? {};
  const started = performance.now();
  const posterior = await fit(def.model, def.prepareData(ref.data), {
    chains: settings.chains,
    draws: settings.draws,
    tune: settings.tune,
    seed: settings.seed,
    threads: settings.threads,
    progress: false,
    targetAccept: control.adapt_delta ?? 0.8,
    maxTreeDepth: Math.min(control.max_treedepth ?? 10, 20),
    adaptation: settings.adaptation,
  });
  const seconds = (performance.now() - started) / 1000;
  const { params, failures } = compareWithReference(posterior, ref, settings);
  const divergences = countDivergences(posterior);
  const referenceDivergences = ref.info.diagnostics.divergent_transitions.reduce((a, b) => a + b, 0);
  if (referenceDivergences === 0 && divergences > 0) failures.push(`${divergences} divergent transitions (the reference had none)`);
  return {
    posterior: name,
    params,
    maxAbsZ: Math.max(...params.map((p) => Math.abs(p.z))),
    maxSdRatioError: Math.max(...params.map((p) => p.sdRatioError)),
    maxSdLimit: Math.max(...params.map((p) => p.sdLimit)),
    maxRhat: Math.max(...params.map((p) => p.rhat)),
    minEssBulk: Math.min(...params.map((p) => p.essBulk)),
    divergences,
    referenceDivergences,
    seconds,
    failures,
  };
}

/** One line per posterior for the test log. */
export function formatResult(r: ValidationResult): string {
  const status = r.failures.length === 0 ? "PASS" : "FAIL";
  return (
    `${status} ${r.posterior}: max|z| ${r.maxAbsZ.toFixed(2)}, max sd ratio error ${(r.maxSdRatioError * 100).toFixed(2)} % (sd limit ≤ ${(r.maxSdLimit * 100).toFixed(1)} %), ` +
    `max R-hat ${r.maxRhat.toFixed(4)}, min ESS bulk ${r.minEssBulk.toFixed(0)}, divergences ${r.divergences}, ${r.seconds.toFixed(1)} s` +
    (r.failures.length ? `\n    ${r.failures.join("\n    ")}` : "")
  );
}

/** The reference seed first; the others only as needed to settle two passes or two failures. */
export const VALIDATION_SEEDS = [DEFAULT_VALIDATION.seed, 20240612, 20240613];
const PASSES_NEEDED = 2;

/** Fits at up to three seeds (see the rule above); logs each fit. `failures` is empty when two fits passed. */
export async function validateTwoOfThree(name: string, overrides: Partial<ValidationSettings> = {}): Promise<{ fits: ValidationResult[]; failures: string[] }> {
  const fits: ValidationResult[] = [];
  const failed: string[] = [];
  let passed = 0;
  for (const seed of VALIDATION_SEEDS) {
    const result = await validatePosterior(name, { ...overrides, seed });
    fits.push(result);
    console.log(`${formatResult(result)} [seed ${seed}]`);
    if (result.failures.length === 0) passed++;
    else failed.push(`seed ${seed}: ${result.failures.join("; ")}`);
    if (passed >= PASSES_NEEDED || failed.length > VALIDATION_SEEDS.length - PASSES_NEEDED) break;
  }
  return { fits, failures: passed >= PASSES_NEEDED ? [] : failed };
}
