// Warm starts: a new fit of a model begins where a published fit of the same model ended — each chain at its last
// draw, with its adapted step size and metric — and then needs only a short warm-up that adapts the step size (users
// of Stan measured 2.2–3.4× the ESS per second this way: stan-dev/cmdstan#576, stan-dev/cmdstanpy#305).
//
// What a published artefact records for this, in its manifest's `sampler` section (JSON beside the other settings;
// the manifest's own checks see plain JSON there, so the fields are checked here, when they are read):
//   stepSizes: number[]          one per chain (recorded since the first format version)
//   invMetrics: number[][]       per chain, the diagonal inverse metric, one value per unconstrained coordinate
//   finalPositions: number[][]   per chain, the last draw on the unconstrained scale
//   targetAccept: number         what the step sizes were adapted to (a warm start keeps it unless told otherwise)
//   warmStart: {requested, version, reason?}   what this fit itself started from (null version: a cold start)
import { TRAIN_DEFAULTS } from "../defaults.js";
import { BayesServeError } from "../errors.js";
import type { ArtifactStore } from "../artifact/store.js";
import { type JsonValue, type Manifest } from "../artifact/manifest.js";
import { isVersionId } from "../artifact/version-id.js";
import type { ChainStart, Posterior } from "../inference/index.js";
import type { Model } from "../model/builder.js";
import type { BoundModel } from "../model/bind.js";

/** Warm-up iterations of a warm-started fit unless --tune says otherwise: the step size's dual averaging only. */
export const WARM_START_TUNE = TRAIN_DEFAULTS.warmStartTune;

/** What a fit started from, as the manifest records it. */
export interface WarmStartRecord {
  [key: string]: JsonValue;
  /** What was asked for: "latest" or a version id. */
  requested: string;
  /** The version the chains started from; null when the fit started cold (see `reason`). */
  version: string | null;
  reason: string | null;
}

export interface ResolvedWarmStart {
  record: WarmStartRecord;
  /** The chains' starts; null for a cold start. */
  starts: ChainStart[] | null;
  /**
   * The target acceptance the published fit's step sizes were adapted to (null for a cold start): the new fit's unless
   * --target-accept is given, so that a version `train` fitted again at a higher target after divergent transitions
   * does not start the next scheduled run back at the default, diverge and fit twice again.
   */
  targetAccept: number | null;
}

/** The sampler fields a later warm start reads, from a finished fit. */
export function adaptationRecord(posterior: Posterior): Record<string, JsonValue> {
  return {
    invMetrics: posterior.invMetrics.map((m) => Array.from(m)),
    finalPositions: posterior.finalPositions.map((q) => Array.from(q)),
  };
}

/** JSON with keys sorted, so that two copies of one model (or settings) compare equal however they were written. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object")
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/** Per chain, a list of `width` finite numbers (positive when `positive`); else the problem, naming the field. */
function matrixProblem(value: unknown, field: string, chains: number, width: number, positive: boolean): string | null {
  if (!Array.isArray(value)) return `sampler.${field} is missing (the version was published before warm starts were recorded)`;
  if (value.length !== chains) return `sampler.${field} has ${value.length} chains, sampler.stepSizes ${chains}`;
  for (let c = 0; c < value.length; c++) {
    const row: unknown = value[c];
    if (!Array.isArray(row) || row.length !== width) return `sampler.${field}[${c}] must hold ${width} numbers (one per unconstrained parameter)`;
    for (let i = 0; i < row.length; i++) {
      const x: unknown = row[i];
      if (typeof x !== "number" || !Number.isFinite(x) || (positive && !(x > 0)))
        return `sampler.${field}[${c}][${i}] is ${JSON.stringify(x)}: it must be a ${positive ? "positive " : ""}finite number`;
    }
  }
  return null;
}

/**
 * The chains' starts from a manifest, for the model as bound to the new data; or why the manifest cannot give them
 * (another model, other parameters, fields missing or malformed).
 */
export function startsFromManifest(manifest: Manifest, model: Model, bound: BoundModel): { starts: ChainStart[]; targetAccept: number } | { problem: string } {
  if (canonicalJson(manifest.model) !== canonicalJson(model.json))
    return { problem: `version ${manifest.version} is a fit of another model ("${nameOf(manifest.model)}"), not of "${model.name}"` };
  const names = bound.params.flatMap((p) => p.elementNames);
  const published = manifest.parameters.names.slice(0, names.length);
  if (published.length !== names.length || published.some((n, i) => n !== names[i]))
    return { problem: `version ${manifest.version} has parameters ${published.join(", ")}; with this data the model has ${names.join(", ")}` };
  const s = manifest.sampler as Record<string, unknown>;
  const steps = s.stepSizes;
  if (!Array.isArray(steps) || steps.length === 0 || steps.some((x) => typeof x !== "number" || !(x > 0) || !Number.isFinite(x)))
    return { problem: `version ${manifest.version}: sampler.stepSizes must be a list of positive finite numbers, one per chain` };
  const problem =
    matrixProblem(s.invMetrics, "invMetrics", steps.length, names.length, true) ??
    matrixProblem(s.finalPositions, "finalPositions", steps.length, names.length, false);
  if (problem !== null) return { problem: `version ${manifest.version}: ${problem}` };
  const targetAccept = s.targetAccept;
  if (typeof targetAccept !== "number" || !(targetAccept > 0 && targetAccept < 1))
    return { problem: `version ${manifest.version}: sampler.targetAccept is ${JSON.stringify(targetAccept)}: it must be a number in (0, 1)` };
  const inv = s.invMetrics as number[][];
  const pos = s.finalPositions as number[][];
  return { starts: (steps as number[]).map((stepSize, c) => ({ stepSize, invMetric: inv[c], position: pos[c] })), targetAccept };
}

function nameOf(modelJson: JsonValue): string {
  return modelJson !== null && typeof modelJson === "object" && !Array.isArray(modelJson) && typeof modelJson.name === "string" ? modelJson.name : "?";
}

/**
 * Resolves `--warm-start latest|VERSION` against the store. `latest` falls back to a cold start, saying why, when the
 * store has no version yet or its latest cannot warm-start this model (another model, other parameters, published
 * before warm starts were recorded): so one scheduled command works from the first run on. A version asked for by
 * id must be usable: otherwise a USAGE error says why.
 */
export async function resolveWarmStart(store: ArtifactStore, requested: string, model: Model, bound: BoundModel): Promise<ResolvedWarmStart> {
  const cold = (reason: string): ResolvedWarmStart => ({ record: { requested, version: null, reason }, starts: null, targetAccept: null });
  let version: string;
  if (requested === "latest") {
    const latest = await store.readLatest();
    if (latest === null) return cold(`${store.uri} has no published version yet`);
    version = latest;
  } else if (isVersionId(requested)) version = requested;
  else throw new BayesServeError("USAGE", `--warm-start must be "latest" or a version id like 20261201T003000Z-a1b2c3 (got "${requested}")`);
  const manifest = await store.readManifest(version);
  const from = startsFromManifest(manifest, model, bound);
  if ("problem" in from) {
    if (requested === "latest") return cold(`latest (${version}) cannot warm-start this fit: ${from.problem}`);
    throw new BayesServeError("USAGE", `--warm-start ${requested}: ${from.problem}`);
  }
  return { record: { requested, version, reason: null }, starts: from.starts, targetAccept: from.targetAccept };
}
