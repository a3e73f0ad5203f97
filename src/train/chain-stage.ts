// A fit's chains run apart — each in its own process or Kubernetes pod — and merged: `train --chain-index i --chains n
// --stage URI` runs chain i of the n-chain fit (the random stream chain i has in the in-process fit with the same
// seed, so the merged posterior is bit-identical to it) and writes it to the staging area; `train --merge URI` checks
// that all n chains are there, whole and of one fit, assembles the posterior and runs the rest of train (diagnostics,
// gate, evaluation, report, publish) as an in-process fit would — except fitting again when the fit diverges
// (pipeline.ts fitWithRetries): the merge can only say which --target-accept to stage the chains again with.
//
// One file per chain, `chain-<i>.bin`, written whole (stage-store.ts):
//   "BSCHAIN1"                      8 bytes, the format
//   header length H                 uint32, little-endian
//   header                          H bytes of JSON (StagedChainHeader)
//   zero padding                    to a multiple of 8 bytes
//   unconstrained draws             draws × dim float64 (LE), [draw][parameter]
//   sample statistics               draws × statNames float64, [draw][statistic]
//   inverse metric                  dim float64
//   sha256                          32 bytes, of every byte before it
// A chain's final position is its last draw. The fingerprint is the sha256 of the model (with its sizes), the data
// (the table's sha256 and the training rows) and the settings that decide the draws; the merge computes its own from
// its own options and data and refuses a chain whose fingerprint differs, naming what differs.
import { createHash } from "node:crypto";
import { TRAIN_DEFAULTS } from "../defaults.js";
import { BayesServeError } from "../errors.js";
import { openStageStore, type StageStore } from "../artifact/stage-store.js";
import { assemblePosterior, type ChainResult, fitChain, SAMPLE_STATS, samplerSettingsOf } from "../inference/index.js";
import {
  divergencesOf,
  finishTraining,
  fitOptionsOf,
  namingDataRows,
  nextRetryTarget,
  prepareTraining,
  type PreparedTraining,
  resolveFitStart,
  runTrainSteps,
  type TrainOptions,
  type TrainResult,
  type TrainStep,
} from "./pipeline.js";
import { EXIT_STAGE_REFUSED } from "./promotion.js";
import { canonicalJson, type WarmStartRecord } from "./warm-start.js";

export { EXIT_STAGE_REFUSED };

const MAGIC = "BSCHAIN1";
/** 2: the header records the target acceptance the chain ran at (a warm start's may be the published fit's). */
const FORMAT = 2;
const DIGEST_BYTES = 32;

export const chainFileName = (chain: number): string => `chain-${chain}.bin`;
const CHAIN_FILE = /^chain-(0|[1-9][0-9]*)\.bin$/;

/** What decides a fit's draws, besides the chain index: compared part by part to say what differs. */
export interface FitIdentity {
  /** sha256 of the model's JSON form with its sizes filled in (keys sorted). */
  model: string;
  /** sha256 of the whole table, its rows and the training rows chosen by the split. */
  data: { sha256: string; rows: number; trainRows: string };
  /** The sampler's settings, the warm start asked for (not what it resolved to: see the header) and the target. */
  settings: Record<string, string | number | null>;
}

export interface StagedChainHeader {
  format: number;
  chain: number;
  chains: number;
  fingerprint: string;
  identity: FitIdentity;
  dim: number;
  draws: number;
  statNames: string[];
  stepSize: number;
  warmupDivergences: number;
  gradients: number;
  warmStarted: boolean;
  seconds: number;
  warmupSeconds: number;
  /** Warm-up iterations run (the default depends on whether a warm start was found). */
  tune: number;
  /** The step size's target acceptance the chain ran at (without --target-accept, a warm start's is the published fit's). */
  targetAccept: number;
  /** The warm start this chain resolved (null: none asked for); every chain of a merge must agree on it. */
  warmStart: WarmStartRecord | null;
  stagedAt: string;
}

const sha256 = (bytes: Uint8Array | string): string => createHash("sha256").update(bytes).digest("hex");

/** The identity of the fit the prepared training would run, and its fingerprint. */
export function fitIdentity(prepared: PreparedTraining): { identity: FitIdentity; fingerprint: string } {
  const { options, model, sha256: tableSha, table, split } = prepared;
  const settings = samplerSettingsOf(fitOptionsOf(prepared, { warm: null, tune: options.tune ?? 0 }));
  const identity: FitIdentity = {
    model: sha256(canonicalJson(model.json)),
    data: { sha256: tableSha, rows: table.rows, trainRows: sha256(new Uint8Array(split.train.buffer, split.train.byteOffset, split.train.byteLength)) },
    settings: {
      chains: options.chains,
      draws: settings.draws,
      // As given; null: the default, which depends on the warm start found (the header's `tune` says what ran).
      tune: options.tune ?? null,
      seed: settings.seed,
      maxTreeDepth: settings.maxTreeDepth,
      // As given; null: the default, or the warm start's published fit's (the header's `targetAccept` says what ran).
      targetAccept: options.targetAccept ?? null,
      initRadius: settings.initRadius,
      adaptation: settings.adaptation,
      warmStart: options.warmStart ?? null,
      target: prepared.schema.target,
      testFraction: options.testFraction,
    },
  };
  return { identity, fingerprint: sha256(canonicalJson(identity)) };
}

/** The bytes of a staged chain. */
export function encodeChain(header: StagedChainHeader, result: ChainResult): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = 12 + json.byteLength;
  const bodyStart = Math.ceil(headerEnd / 8) * 8;
  const body = [result.unconstrained, result.stats, result.invMetric];
  const bodyBytes = body.reduce((n, a) => n + a.byteLength, 0);
  const out = new Uint8Array(bodyStart + bodyBytes + DIGEST_BYTES);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.byteLength, true);
  out.set(json, 12);
  const view = new DataView(out.buffer);
  let at = bodyStart;
  for (const a of body) for (let i = 0; i < a.length; i++, at += 8) view.setFloat64(at, a[i], true);
  out.set(createHash("sha256").update(out.subarray(0, at)).digest(), at);
  return out;
}

/** A staged chain's header and result from its bytes, every byte checked; a damaged file is refused saying how. */
export function decodeChain(bytes: Uint8Array, file: string): { header: StagedChainHeader; result: ChainResult } {
  const damaged = (why: string): never => {
    throw new BayesServeError("STAGE", `staged chain file ${file} is damaged: ${why}; run its chain again (it replaces only this file)`, {
      exitCode: EXIT_STAGE_REFUSED,
    });
  };
  if (bytes.byteLength < 12 + DIGEST_BYTES || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC)
    damaged(`it does not begin with "${MAGIC}" (${bytes.byteLength} bytes): not a staged chain, or cut short`);
  const digestAt = bytes.byteLength - DIGEST_BYTES;
  const digest = createHash("sha256").update(bytes.subarray(0, digestAt)).digest();
  if (!digest.equals(bytes.subarray(digestAt))) damaged(`its sha256 does not match its contents (${bytes.byteLength} bytes): cut short or altered`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > digestAt) damaged(`its header claims ${headerLength} bytes, more than the file holds`);
  let header: StagedChainHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as StagedChainHeader;
  } catch (err) {
    return damaged(`its header is not JSON (${(err as Error).message})`);
  }
  const count = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  if (header === null || typeof header !== "object" || header.format !== FORMAT) damaged(`format ${JSON.stringify(header?.format)}, expected ${FORMAT}`);
  if (!count(header.chain, 0) || !count(header.chains, 1) || !count(header.dim, 1) || !count(header.draws, 1) || !count(header.tune, 0))
    damaged("its header's chain, chains, dim, draws or tune is not a count");
  if (typeof header.fingerprint !== "string" || typeof header.identity !== "object" || header.identity === null) damaged("its header has no fingerprint");
  if (!Array.isArray(header.statNames) || header.statNames.join() !== SAMPLE_STATS.join())
    damaged(`its sample statistics are ${JSON.stringify(header.statNames)}, expected ${SAMPLE_STATS.join(", ")}`);
  if (!(header.stepSize > 0 && Number.isFinite(header.stepSize))) damaged(`its step size is ${header.stepSize}`);
  if (typeof header.targetAccept !== "number" || !(header.targetAccept > 0 && header.targetAccept < 1))
    damaged(`its target acceptance is ${JSON.stringify(header.targetAccept)}`);
  const { dim, draws } = header;
  const nStats = SAMPLE_STATS.length;
  const bodyStart = Math.ceil((12 + headerLength) / 8) * 8;
  const expected = bodyStart + 8 * (draws * dim + draws * nStats + dim);
  if (expected !== digestAt) damaged(`it holds ${digestAt - bodyStart} bytes of numbers; ${draws} draws of ${dim} parameters need ${expected - bodyStart}`);
  const read = (n: number, at: number): Float64Array => {
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = view.getFloat64(at + 8 * i, true);
    return a;
  };
  const unconstrained = read(draws * dim, bodyStart);
  const stats = read(draws * nStats, bodyStart + 8 * draws * dim);
  const invMetric = read(dim, bodyStart + 8 * (draws * dim + draws * nStats));
  if (!unconstrained.every(Number.isFinite)) damaged("a draw is not a finite number");
  if (!invMetric.every((x) => x > 0 && Number.isFinite(x))) damaged("its inverse metric is not positive and finite");
  const result: ChainResult = {
    chain: header.chain,
    unconstrained,
    stats,
    stepSize: header.stepSize,
    invMetric,
    warmupDivergences: header.warmupDivergences,
    gradients: header.gradients,
    warmStarted: header.warmStarted === true,
    seconds: header.seconds,
    warmupSeconds: header.warmupSeconds,
  };
  return { header, result };
}

export interface StagedChain {
  chain: number;
  chains: number;
  /** Where it was written: a path or s3:// URI. */
  file: string;
  fingerprint: string;
  seconds: number;
  bytes: number;
}

function checkChainIndex(options: TrainOptions, chain: number): void {
  if (!(Number.isInteger(options.chains) && options.chains >= 1))
    throw new BayesServeError("USAGE", `--chains must be a positive integer (got ${options.chains})`);
  if (!(Number.isInteger(chain) && chain >= 0 && chain < options.chains))
    throw new BayesServeError("USAGE", `--chain-index must be an integer in 0..${options.chains - 1} for --chains ${options.chains} (got ${chain})`);
}

async function openStage(uri: string, at: TrainStep): Promise<StageStore> {
  at.step = `opening the staging area ${uri}`;
  const stage = openStageStore(uri);
  // Unreachable or unwritable staging fails before minutes of sampling, not after.
  await stage.list();
  return stage;
}

/** Runs chain `chain` of the fit `options` describe and writes it to the staging area (replacing only its own file). */
export async function trainChain(options: TrainOptions, chain: number, stageUri: string): Promise<StagedChain> {
  const own = { ...options, report: false };
  return runTrainSteps(own, async (at) => {
    checkChainIndex(options, chain);
    const stage = await openStage(stageUri, at);
    const prepared = await prepareTraining(own, at);
    const { identity, fingerprint } = fitIdentity(prepared);
    const t0 = performance.now();
    at.step = `sampling chain ${chain} of ${options.chains}`;
    const { result, start, targetAccept } = await namingDataRows(prepared, async () => {
      const start = await resolveFitStart(prepared);
      at.step = `sampling chain ${chain} of ${options.chains} (${start.tune} + ${options.draws} iterations on ${prepared.trainTable.rows} rows)`;
      const fitOptions = fitOptionsOf(prepared, start);
      return { result: fitChain(prepared.model, prepared.data, fitOptions, chain), start, targetAccept: samplerSettingsOf(fitOptions).targetAccept };
    });
    const header: StagedChainHeader = {
      format: FORMAT,
      chain,
      chains: options.chains,
      fingerprint,
      identity,
      dim: result.invMetric.length,
      draws: options.draws,
      statNames: [...SAMPLE_STATS],
      stepSize: result.stepSize,
      warmupDivergences: result.warmupDivergences,
      gradients: result.gradients,
      warmStarted: result.warmStarted,
      seconds: result.seconds,
      warmupSeconds: result.warmupSeconds,
      tune: start.tune,
      targetAccept,
      warmStart: start.warm?.record ?? null,
      stagedAt: new Date().toISOString(),
    };
    at.step = `writing chain ${chain} to ${stage.describe(chainFileName(chain))}`;
    const bytes = encodeChain(header, result);
    await stage.put(chainFileName(chain), bytes);
    const seconds = (performance.now() - t0) / 1000;
    prepared.log(`chain ${chain} of ${options.chains}: ${result.seconds.toFixed(2)} s sampling, staged to ${stage.describe(chainFileName(chain))}`);
    return { chain, chains: options.chains, file: stage.describe(chainFileName(chain)), fingerprint, seconds, bytes: bytes.byteLength };
  });
}

/** The first field of two identities that differs, as "what: a ≠ b". */
function identityDifference(theirs: FitIdentity, ours: FitIdentity): string {
  if (theirs.model !== ours.model) return `the model differs (sha256 ${String(theirs.model).slice(0, 12)}… ≠ ${ours.model.slice(0, 12)}…)`;
  const d = theirs.data ?? {};
  if (d.sha256 !== ours.data.sha256) return `the data differ (table sha256 ${String(d.sha256).slice(0, 12)}… ≠ ${ours.data.sha256.slice(0, 12)}…)`;
  if (d.rows !== ours.data.rows || d.trainRows !== ours.data.trainRows) return "the training rows differ (another split)";
  for (const [k, v] of Object.entries(ours.settings))
    if (theirs.settings?.[k] !== v) return `setting ${k} differs (${JSON.stringify(theirs.settings?.[k])} ≠ ${JSON.stringify(v)})`;
  return "its fingerprint differs";
}

/** Every chain of the fit, read from the staging area and checked: present, whole, of this fit, each once. */
async function readStagedChains(stage: StageStore, prepared: PreparedTraining): Promise<{ headers: StagedChainHeader[]; results: ChainResult[] }> {
  const { options } = prepared;
  const chains = options.chains;
  const refuse = (message: string): never => {
    throw new BayesServeError("STAGE", message, { exitCode: EXIT_STAGE_REFUSED });
  };
  const staged = new Map<number, string>();
  for (const name of await stage.list()) {
    const m = CHAIN_FILE.exec(name);
    if (m !== null) staged.set(Number(m[1]), name);
  }
  const stray = [...staged.keys()].filter((c) => c >= chains).sort((a, b) => a - b);
  if (stray.length > 0)
    refuse(
      `staging ${stage.uri} holds chain ${stray[0]} (${stage.describe(staged.get(stray[0])!)}) but this fit has --chains ${chains}: a chain of another fit; stage each fit under its own prefix`,
    );
  const missing = Array.from({ length: chains }, (_, c) => c).filter((c) => !staged.has(c));
  if (missing.length > 0)
    refuse(
      `chain${missing.length > 1 ? "s" : ""} ${missing.join(", ")} of ${chains} missing from staging ${stage.uri} (expected ${stage.describe(chainFileName(missing[0]))}): ` +
        `its run failed or has not finished; run \`train --chain-index ${missing[0]} --chains ${chains} --stage ${stage.uri}\` with the same options, then merge again`,
    );
  const { identity, fingerprint } = fitIdentity(prepared);
  const headers: StagedChainHeader[] = [];
  const results: ChainResult[] = [];
  for (let c = 0; c < chains; c++) {
    const file = stage.describe(chainFileName(c));
    const bytes = await stage.get(chainFileName(c));
    if (bytes === null) return refuse(`chain ${c} of ${chains} vanished from staging ${stage.uri} while the merge read it (${file})`);
    const { header, result } = decodeChain(bytes, file);
    if (header.chain !== c)
      refuse(`staged chain file ${file} holds chain ${header.chain}, not chain ${c}: a duplicate of chain ${header.chain}; run chain ${c} again`);
    if (header.chains !== chains) refuse(`chain ${c} (${file}) is chain ${c} of a ${header.chains}-chain fit, but this merge has --chains ${chains}`);
    if (header.fingerprint !== fingerprint)
      refuse(
        `chain ${c} (${file}) is of another fit than this merge: ${identityDifference(header.identity, identity)}; merge with the options the chains ran with, or run the chain again`,
      );
    if (c > 0 && header.dim !== headers[0].dim) refuse(`chain ${c} (${file}) has ${header.dim} parameters, chain 0 ${headers[0].dim}`);
    const first = headers[0];
    if (
      first !== undefined &&
      (first.tune !== header.tune || first.warmStart?.version !== header.warmStart?.version || first.targetAccept !== header.targetAccept)
    )
      refuse(
        `chain ${c} (${file}) started from ${header.warmStart?.version ?? "a cold start"} with ${header.tune} warm-up iterations at target acceptance ${header.targetAccept}, ` +
          `chain 0 from ${first.warmStart?.version ?? "a cold start"} with ${first.tune} at ${first.targetAccept}: ` +
          "`latest` moved while the chains started; run them again",
      );
    const twin = results.findIndex(
      (r) => r.unconstrained.length === result.unconstrained.length && r.unconstrained.every((x, i) => x === result.unconstrained[i]),
    );
    if (twin >= 0) refuse(`chain ${c} (${file}) has the very draws of chain ${twin}: a copy, not a chain of its own; run chain ${c} again`);
    headers.push(header);
    results.push(result);
  }
  return { headers, results };
}

/** Merges the staged chains of the fit `options` describe into one posterior and runs the rest of train on it. */
export async function mergeChains(options: TrainOptions, stageUri: string): Promise<TrainResult> {
  return runTrainSteps(options, async (at) => {
    if (!(Number.isInteger(options.chains) && options.chains >= 1))
      throw new BayesServeError("USAGE", `--chains must be a positive integer (got ${options.chains})`);
    const stage = await openStage(stageUri, at);
    const prepared = await prepareTraining(options, at);
    const t0 = performance.now();
    at.step = `reading ${options.chains} chains from ${stage.uri}`;
    const { headers, results } = await readStagedChains(stage, prepared);
    const { tune, warmStart, targetAccept } = headers[0];
    at.step = `assembling the posterior of ${options.chains} staged chains`;
    const settings = { ...samplerSettingsOf(fitOptionsOf(prepared, { warm: null, tune })), targetAccept };
    const posterior = assemblePosterior(prepared.model, prepared.data, settings, results);
    prepared.timings.merge = (performance.now() - t0) / 1000;
    // The fit's sampling time is its slowest chain's, as for chains on threads (each measured in its own process).
    prepared.timings.sampling = posterior.seconds;
    prepared.log(`merged ${options.chains} chains from ${stage.uri} (slowest chain ${posterior.seconds.toFixed(2)} s)`);
    // What the steps after the fit read of a warm start: its record, and whether chains began from one (the starts
    // themselves were used by the chains and are not needed again).
    const warm = warmStart === null ? null : { record: warmStart, starts: warmStart.version !== null ? [] : null, targetAccept: null };
    const divergences = divergencesOf(posterior);
    const next = nextRetryTarget(settings.targetAccept);
    if (divergences > prepared.gateThresholds.maxDivergences && (options.divergenceRetries ?? TRAIN_DEFAULTS.divergenceRetries) > 0 && next !== null)
      prepared.log(
        `${divergences} divergent transition(s) at target acceptance ${settings.targetAccept}: a staged fit is not fitted again (its chains ran apart); ` +
          `stage its chains again with --target-accept ${next}`,
      );
    return finishTraining(prepared, { posterior, warm, tune }, at);
  });
}
