// A bundle in memory: the manifest, the posterior draws (and sampler stats) as float64 arrays, and every file of the
// version serialised, with a sha256 of each in the manifest. Building one checks it; decoding one verifies every
// checksum and returns the draws as a view on the bytes read (no copy when aligned).
import { createHash } from "node:crypto";
import { endianness } from "node:os";
import { BayesServeError } from "../errors.js";
import {
  DRAWS_FILE,
  FORMAT_VERSION,
  MANIFEST_FILE,
  SAMPLE_STATS_FILE,
  bundlePathProblem,
  jsonValueProblems,
  serializeManifest,
  validateManifest,
  type DataInfo,
  type FeatureSpec,
  type GateVerdict,
  type Manifest,
  type ParametersInfo,
  type SamplerRecord,
  type TargetSpec,
} from "./manifest.js";
import { newVersionId } from "./version-id.js";

/** What the train pipeline supplies; the artefact layer fills in the format, version, time, layout and checksums. */
export interface ManifestFields {
  /** Defaults to a new id (`newVersionId()`). */
  version?: string;
  /** Defaults to now. */
  createdAt?: string;
  /** The model's JSON form; must be plain JSON (finite numbers, no undefined in arrays, no class instances). */
  model: unknown;
  features: FeatureSpec[];
  target: TargetSpec;
  sampler: SamplerRecord;
  seed: number;
  data: DataInfo;
  parameters: ParametersInfo;
  draws: { chains: number; drawsPerChain: number };
  /** Required when `sampleStats` draws are given: the stat names, in column order. */
  sampleStats?: { names: string[] };
  diagnostics: unknown;
  metrics: unknown;
  gate: GateVerdict;
}

export interface BundleInput {
  manifest: ManifestFields;
  /** chain-major: index ((chain * drawsPerChain) + draw) * parameters.names.length + param. */
  draws: Float64Array;
  /** chain-major: index ((chain * drawsPerChain) + draw) * sampleStats.names.length + stat. */
  sampleStats?: Float64Array;
  /** Other files of the bundle by relative path, e.g. `report/report.html`, `report/trace.png`. */
  extraFiles?: Record<string, Uint8Array | string>;
}

export interface Bundle {
  readonly manifest: Manifest;
  /** Layout as in `BundleInput.draws`. Usually a view on the bytes of `files.get("draws.bin")` (no copy). */
  readonly draws: Float64Array;
  readonly sampleStats: Float64Array | null;
  /** The serialised bytes of every file of the bundle except manifest.json (draws.bin included). */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

export interface BundleEntry {
  path: string;
  bytes: Uint8Array;
}

const LITTLE_ENDIAN_HOST = endianness() === "LE";

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The bytes of a float64 array as little-endian (a view when the host is little-endian). */
function float64ToLittleEndian(values: Float64Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i], true);
  return out;
}

/**
 * The little-endian float64 bytes as a Float64Array: a view on the same memory when the host is little-endian and
 * the bytes start on an 8-byte boundary (the usual case for a file read whole), else one copy.
 */
export function float64FromLittleEndian(bytes: Uint8Array): Float64Array {
  const n = bytes.byteLength / 8;
  if (LITTLE_ENDIAN_HOST) {
    if (bytes.byteOffset % 8 === 0) return new Float64Array(bytes.buffer, bytes.byteOffset, n);
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return new Float64Array(copy.buffer, 0, n);
  }
  const out = new Float64Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

function artifactError(message: string): BayesServeError {
  return new BayesServeError("ARTIFACT", message);
}

/** Builds and checks a bundle: every file serialised, every checksum in the manifest. Copies the arrays given. */
export function buildBundle(input: BundleInput): Bundle {
  const m = input.manifest;
  const version = m.version ?? newVersionId();
  const label = `bundle ${version}`;
  const problems: string[] = [];
  jsonValueProblems(m.model, "model", problems);
  jsonValueProblems(m.diagnostics, "diagnostics", problems);
  jsonValueProblems(m.metrics, "metrics", problems);
  if (problems.length > 0) throw artifactError(`${label}: ${problems.join("; ")}`);

  const nParams = m.parameters.names.length;
  const expected = m.draws.chains * m.draws.drawsPerChain * nParams;
  if (input.draws.length !== expected) {
    throw artifactError(
      `${label}: draws has ${input.draws.length} values, expected chains × drawsPerChain × parameters = ` +
        `${m.draws.chains} × ${m.draws.drawsPerChain} × ${nParams} = ${expected}`,
    );
  }
  if ((input.sampleStats === undefined) !== (m.sampleStats === undefined)) {
    throw artifactError(`${label}: sample stats need both the values and manifest.sampleStats.names, or neither`);
  }
  const files = new Map<string, Uint8Array>();
  const draws = input.draws.slice();
  files.set(DRAWS_FILE, float64ToLittleEndian(draws));
  let sampleStats: Float64Array | null = null;
  if (input.sampleStats !== undefined && m.sampleStats !== undefined) {
    const want = m.draws.chains * m.draws.drawsPerChain * m.sampleStats.names.length;
    if (input.sampleStats.length !== want) {
      throw artifactError(`${label}: sampleStats has ${input.sampleStats.length} values, expected chains × drawsPerChain × stats = ${want}`);
    }
    sampleStats = input.sampleStats.slice();
    files.set(SAMPLE_STATS_FILE, float64ToLittleEndian(sampleStats));
  }
  const encoder = new TextEncoder();
  for (const [path, content] of Object.entries(input.extraFiles ?? {})) {
    const bad = bundlePathProblem(path);
    if (bad !== null) throw artifactError(`${label}: extra file ${bad}`);
    if (files.has(path)) throw artifactError(`${label}: extra file "${path}" clashes with a file the bundle writes itself`);
    files.set(path, typeof content === "string" ? encoder.encode(content) : content.slice());
  }
  const checksums: Record<string, string> = {};
  for (const path of [...files.keys()].sort()) checksums[path] = sha256Hex(files.get(path) as Uint8Array);

  const candidate = {
    formatVersion: FORMAT_VERSION,
    version,
    createdAt: m.createdAt ?? new Date().toISOString(),
    model: m.model,
    features: m.features,
    target: m.target,
    sampler: m.sampler,
    seed: m.seed,
    data: m.data,
    parameters: m.parameters,
    draws: { chains: m.draws.chains, drawsPerChain: m.draws.drawsPerChain, file: DRAWS_FILE, dtype: "float64", layout: "chain,draw,param" },
    ...(m.sampleStats === undefined
      ? {}
      : { sampleStats: { file: SAMPLE_STATS_FILE, dtype: "float64", layout: "chain,draw,stat", names: m.sampleStats.names } }),
    diagnostics: m.diagnostics,
    metrics: m.metrics,
    gate: m.gate,
    files: checksums,
  };
  // A deep copy through JSON, so that the bundle cannot change behind the caller's back and what is validated is
  // exactly what will be written.
  const manifest = validateManifest(JSON.parse(JSON.stringify(candidate)) as unknown, label);
  return { manifest, draws, sampleStats, files };
}

/** Every file of the bundle with its bytes, in publishing order: data files first, manifest.json last. */
export function bundleEntries(bundle: Bundle): BundleEntry[] {
  const entries: BundleEntry[] = [...bundle.files].map(([path, bytes]) => ({ path, bytes }));
  entries.push({ path: MANIFEST_FILE, bytes: serializeManifest(bundle.manifest) });
  return entries;
}

/** Which files a load reads: all of them, or only what predictions need (draws and sampler stats). */
export type BundleFileSelection = "all" | "posterior";

/** The paths (besides manifest.json) a load with `selection` needs. */
export function bundleFilesToRead(manifest: Manifest, selection: BundleFileSelection = "all"): string[] {
  const all = Object.keys(manifest.files);
  return selection === "all" ? all : all.filter((p) => p === DRAWS_FILE || p === SAMPLE_STATS_FILE);
}

/** Verifies one file's bytes against the manifest's checksum. `where` names the file for the error. */
export function verifyFile(manifest: Manifest, path: string, bytes: Uint8Array, where: string): void {
  const expected = manifest.files[path];
  if (expected === undefined) throw artifactError(`${where}: version ${manifest.version} has no file "${path}"`);
  const actual = sha256Hex(bytes);
  if (actual !== expected) {
    throw artifactError(
      `checksum mismatch for ${path} of version ${manifest.version} (${where}): manifest says sha256 ${expected}, ` +
        `file has ${actual} — the file is corrupt or was modified`,
    );
  }
}

/**
 * A bundle from a validated manifest and the bytes of its files (at least those `bundleFilesToRead` names).
 * Verifies every checksum and the sizes of the binary files. `where(path)` names a file for error messages.
 */
export function decodeBundle(manifest: Manifest, files: ReadonlyMap<string, Uint8Array>, where: (path: string) => string): Bundle {
  for (const [path, bytes] of files) verifyFile(manifest, path, bytes, where(path));
  const drawsBytes = files.get(DRAWS_FILE);
  if (drawsBytes === undefined) throw artifactError(`${where(DRAWS_FILE)}: the draws were not read`);
  const perDraw = manifest.draws.chains * manifest.draws.drawsPerChain;
  const wantDraws = perDraw * manifest.parameters.names.length * 8;
  if (drawsBytes.byteLength !== wantDraws) {
    throw artifactError(`${where(DRAWS_FILE)}: ${drawsBytes.byteLength} bytes, the manifest's layout needs ${wantDraws}`);
  }
  let sampleStats: Float64Array | null = null;
  if (manifest.sampleStats !== undefined) {
    const bytes = files.get(SAMPLE_STATS_FILE);
    if (bytes !== undefined) {
      const want = perDraw * manifest.sampleStats.names.length * 8;
      if (bytes.byteLength !== want) {
        throw artifactError(`${where(SAMPLE_STATS_FILE)}: ${bytes.byteLength} bytes, the manifest's layout needs ${want}`);
      }
      sampleStats = float64FromLittleEndian(bytes);
    }
  }
  return { manifest, draws: float64FromLittleEndian(drawsBytes), sampleStats, files };
}
