// The manifest of a published artefact: what the bundle contains and how to read it, with the checks that make a
// manifest trustworthy when it is loaded back (every field present and of the right type, the parameter layout
// consistent with the draws).
import { BayesServeError } from "../errors.js";
import { isVersionId } from "./version-id.js";
import { parameterLayoutProblems, type ParametersInfo } from "./parameter-layout.js";

export type { ParametersInfo };
import type { SamplerSettings } from "../inference/index.js";
import type { FeatureSpec } from "../predict/index.js";

export type JsonPrimitive = null | boolean | number | string;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export interface JsonObject {
  [key: string]: JsonValue;
}

export const FORMAT_VERSION = 1;
export const MANIFEST_FILE = "manifest.json";
/** The manifest's digest (and signature), written beside it by the store: see seal.ts. */
export const SEAL_FILE = "seal.json";
export const DRAWS_FILE = "draws.bin";
export const SAMPLE_STATS_FILE = "sample-stats.bin";

/** What a request must hold for each feature, as predict/ derives it from the model; stored as it is. */
export type { FeatureSpec };
const FEATURE_TYPES: readonly FeatureSpec["type"][] = ["float", "integer", "category"];

export interface TargetSpec {
  name: string;
}

/**
 * The sampler settings a version was fitted with, as its manifest records them: the run's settings
 * (inference/sampler.ts) that every version has, the number of chains, and any other JSON-valued record (step sizes,
 * the adaptation, a warm start) riding along.
 */
export type SamplerRecord = Pick<SamplerSettings, "draws" | "tune" | "seed" | "maxTreeDepth" | "targetAccept"> & {
  chains: number;
  [setting: string]: JsonValue;
};

/** One object the training data were read from. */
export interface DataObjectInfo {
  uri: string;
  bytes: number;
  /** sha256 (hex) of the object's bytes as stored (compressed, for gzip). */
  sha256: string;
  format: "csv" | "csv+gzip" | "parquet";
  etag?: string;
  versionId?: string;
  lastModified?: string;
}

export interface DataInfo {
  /** sha256 (hex) of the model's columns as read (float64, column after column), whatever the source's format. */
  sha256: string;
  /** The data URI given to `train --data` (absent for simulated data). */
  source?: string;
  /** The objects read from it, in order. */
  objects?: DataObjectInfo[];
  rows: number;
  trainRows: number;
  testRows: number;
  /** Scalar data the model was trained with (sizes given with --data-scalar or inferred), used when serving too. */
  scalars?: Record<string, number>;
  /** Each standardised design matrix's column means and sds over the training rows, applied when serving. */
  standardization?: Record<string, { means: number[]; sds: number[] }>;
  /** Present when a step ran on a random sample of the rows (train --sample-rows): which rows, and what used them. */
  samples?: RowSamplesInfo;
}

/** One random sample of rows: `rows` of `of`, drawn with train's seed on a stream of its own, and what used it. */
export interface RowSampleInfo {
  rows: number;
  of: number;
  seed: number;
  stream: number;
  used: string[];
}

/** The samples of the training and held-out rows (each absent when every row was used). */
export interface RowSamplesInfo {
  method: string;
  train?: RowSampleInfo;
  test?: RowSampleInfo;
}

export interface DrawsInfo {
  chains: number;
  drawsPerChain: number;
  file: typeof DRAWS_FILE;
  dtype: "float64";
  /** Little-endian float64, index ((chain * drawsPerChain) + draw) * names.length + param. */
  layout: "chain,draw,param";
}

export interface SampleStatsInfo {
  file: typeof SAMPLE_STATS_FILE;
  dtype: "float64";
  /** Little-endian float64, index ((chain * drawsPerChain) + draw) * names.length + stat. */
  layout: "chain,draw,stat";
  /** Stat names, e.g. lp, accept_stat, step_size, tree_depth, n_leapfrog, diverging (0/1), energy. */
  names: string[];
}

/** A new fit against the version that was `latest` when training began, on the new data's held-out rows. */
export interface ComparisonVerdict {
  /** The version compared with. */
  against: string;
  /** Held-out rows both were scored on. */
  rows: number;
  /** The scores (null when no comparison was made). */
  elpd_new: number | null;
  elpd_latest: number | null;
  /** New minus latest, and the SE of that paired difference. */
  elpd_diff: number | null;
  se_diff: number | null;
  max_elpd_drop: number;
  refused: boolean;
  /** Why no comparison was made (no held-out rows, latest cannot predict these data), when none was. */
  note?: string;
}

export interface GateVerdict {
  passed: boolean;
  failures: string[];
  /** Absent when no version was serving. */
  comparison?: ComparisonVerdict;
}

export interface Manifest {
  formatVersion: typeof FORMAT_VERSION;
  version: string;
  createdAt: string;
  /** The model's JSON form; opaque to the artefact layer. */
  model: JsonValue;
  features: FeatureSpec[];
  target: TargetSpec;
  sampler: SamplerRecord;
  seed: number;
  data: DataInfo;
  parameters: ParametersInfo;
  draws: DrawsInfo;
  sampleStats?: SampleStatsInfo;
  diagnostics: JsonValue;
  metrics: JsonValue;
  gate: GateVerdict;
  /** sha256 (hex) of every file of the bundle except manifest.json, by path relative to the version's folder. */
  files: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

type Check = (value: unknown, path: string, problems: string[]) => void;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const str: Check = (v, p, problems) => {
  if (typeof v !== "string" || v.length === 0) problems.push(`${p} must be a non-empty string, not ${describe(v)}`);
};
const finite: Check = (v, p, problems) => {
  if (typeof v !== "number" || !Number.isFinite(v)) problems.push(`${p} must be a finite number, not ${describe(v)}`);
};
const count: Check = (v, p, problems) => {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    problems.push(`${p} must be a non-negative integer, not ${describe(v)}`);
  }
};
const positive: Check = (v, p, problems) => {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
    problems.push(`${p} must be a positive integer, not ${describe(v)}`);
  }
};
const bool: Check = (v, p, problems) => {
  if (typeof v !== "boolean") problems.push(`${p} must be true or false, not ${describe(v)}`);
};
const exactly =
  (expected: string | number): Check =>
  (v, p, problems) => {
    if (v !== expected) problems.push(`${p} must be ${JSON.stringify(expected)}, not ${describe(v)}`);
  };
const oneOf =
  (allowed: readonly string[]): Check =>
  (v, p, problems) => {
    if (typeof v !== "string" || !allowed.includes(v)) {
      problems.push(`${p} must be one of ${allowed.join(", ")}, not ${describe(v)}`);
    }
  };
const arrayOf =
  (item: Check): Check =>
  (v, p, problems) => {
    if (!Array.isArray(v)) problems.push(`${p} must be an array, not ${describe(v)}`);
    else v.forEach((x, i) => item(x, `${p}[${i}]`, problems));
  };
const recordOf =
  (item: Check): Check =>
  (v, p, problems) => {
    if (!isRecord(v)) problems.push(`${p} must be an object, not ${describe(v)}`);
    else for (const [k, x] of Object.entries(v)) item(x, `${p}.${k}`, problems);
  };
const sha256Hex: Check = (v, p, problems) => {
  if (typeof v !== "string" || !/^[0-9a-f]{64}$/.test(v)) problems.push(`${p} must be a sha256 hex digest, not ${describe(v)}`);
};
const json: Check = (v, p, problems) => {
  if (v === undefined) problems.push(`missing field "${p}"`);
  else jsonValueProblems(v, p, problems);
};
const isoDate: Check = (v, p, problems) => {
  if (typeof v !== "string" || Number.isNaN(Date.parse(v))) problems.push(`${p} must be an ISO-8601 time, not ${describe(v)}`);
};

/** Checks `fields` of the object at `path`; a missing field is reported as such, not as a wrong type. */
function object(fields: Record<string, Check>, optional: readonly string[] = []): Check {
  return (v, path, problems) => {
    if (!isRecord(v)) {
      problems.push(`${path || "manifest"} must be an object, not ${describe(v)}`);
      return;
    }
    for (const [key, check] of Object.entries(fields)) {
      const at = path === "" ? key : `${path}.${key}`;
      if (!(key in v) || v[key] === undefined) {
        if (!optional.includes(key)) problems.push(`missing field "${at}"`);
        continue;
      }
      check(v[key], at, problems);
    }
  };
}

const featureCheck: Check = (v, p, problems) => {
  object({ name: str, type: oneOf(FEATURE_TYPES), levels: positive }, ["levels"])(v, p, problems);
  if (!isRecord(v)) return;
  if (v.type === "category" && v.levels === undefined) problems.push(`missing field "${p}.levels" (a category feature needs its number of levels)`);
  if (v.type !== "category" && v.levels !== undefined) problems.push(`${p}.levels is only allowed on a category feature`);
};

const shapesCheck: Check = (v, p, problems) => {
  if (!isRecord(v)) {
    problems.push(`${p} must be an object of shapes, not ${describe(v)}`);
    return;
  }
  for (const [name, shape] of Object.entries(v)) arrayOf(count)(shape, `${p}.${name}`, problems);
};

const filesCheck: Check = (v, p, problems) => {
  if (!isRecord(v)) {
    problems.push(`${p} must be an object of checksums, not ${describe(v)}`);
    return;
  }
  for (const [path, digest] of Object.entries(v)) {
    const bad = bundlePathProblem(path);
    if (bad !== null) problems.push(`${p}: ${bad}`);
    sha256Hex(digest, `${p}["${path}"]`, problems);
  }
};

const samplerCheck: Check = (v, p, problems) => {
  object({ draws: positive, tune: count, chains: positive, seed: finite, maxTreeDepth: positive, targetAccept: finite })(v, p, problems);
  if (isRecord(v)) for (const [key, x] of Object.entries(v)) if (x !== undefined) jsonValueProblems(x, `${p}.${key}`, problems);
};

const manifestCheck = object(
  {
    formatVersion: exactly(FORMAT_VERSION),
    version: (v, p, problems) => {
      if (typeof v !== "string" || !isVersionId(v)) problems.push(`${p} must be a version id like 20261201T003000Z-a1b2c3, not ${describe(v)}`);
    },
    createdAt: isoDate,
    model: json,
    features: arrayOf(featureCheck),
    target: object({ name: str }),
    sampler: samplerCheck,
    seed: finite,
    data: object(
      {
        sha256: sha256Hex,
        source: str,
        objects: arrayOf(
          object({ uri: str, bytes: count, sha256: sha256Hex, format: oneOf(["csv", "csv+gzip", "parquet"]), etag: str, versionId: str, lastModified: str }, [
            "etag",
            "versionId",
            "lastModified",
          ]),
        ),
        rows: count,
        trainRows: count,
        testRows: count,
        scalars: recordOf(finite),
        standardization: recordOf(object({ means: arrayOf(finite), sds: arrayOf(finite) })),
      },
      ["source", "objects", "scalars", "standardization"],
    ),
    parameters: object({ names: arrayOf(str), shapes: shapesCheck }),
    draws: object({
      chains: positive,
      drawsPerChain: positive,
      file: exactly(DRAWS_FILE),
      dtype: exactly("float64"),
      layout: exactly("chain,draw,param"),
    }),
    sampleStats: object({
      file: exactly(SAMPLE_STATS_FILE),
      dtype: exactly("float64"),
      layout: exactly("chain,draw,stat"),
      names: arrayOf(str),
    }),
    diagnostics: json,
    metrics: json,
    gate: object({
      passed: bool,
      failures: arrayOf((v, p, problems) => {
        if (typeof v !== "string") problems.push(`${p} must be a string`);
      }),
    }),
    files: filesCheck,
  },
  ["sampleStats"],
);

/** Why `path` cannot be a file of a bundle, or null when it can. */
export function bundlePathProblem(path: string): string | null {
  const parts = path.split("/");
  if (path.length === 0 || parts.some((s) => !/^[A-Za-z0-9._-]+$/.test(s) || s === "." || s === "..")) {
    return `"${path}" is not a relative path of letters, digits, ".", "_", "-" separated by "/"`;
  }
  if (path === MANIFEST_FILE) return `"${path}" is reserved for the manifest itself`;
  if (path === SEAL_FILE) return `"${path}" is reserved for the manifest's seal`;
  return null;
}

/** Pushes a problem for every value under `value` that JSON cannot represent faithfully. */
export function jsonValueProblems(value: unknown, path: string, problems: string[]): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) problems.push(`${path} is ${value}, which JSON cannot hold (use null)`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((x, i) => jsonValueProblems(x, `${path}[${i}]`, problems));
    return;
  }
  if (isRecord(value)) {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      problems.push(`${path} is a ${value.constructor?.name ?? "non-plain"} object, not plain JSON`);
      return;
    }
    for (const [k, x] of Object.entries(value)) {
      if (x !== undefined) jsonValueProblems(x, `${path}.${k}`, problems);
    }
    return;
  }
  problems.push(`${path} is ${typeof value}, not a JSON value`);
}

/**
 * Checks that `value` is a complete, self-consistent manifest and returns it typed. `source` names where it came
 * from (a file or an object URI) for the error message, which lists every problem found.
 */
export function validateManifest(value: unknown, source: string): Manifest {
  const problems: string[] = [];
  if (isRecord(value) && typeof value.formatVersion === "number" && value.formatVersion > FORMAT_VERSION) {
    throw new BayesServeError(
      "ARTIFACT",
      `manifest ${source} has format version ${value.formatVersion}; this bayes-serve reads format version ${FORMAT_VERSION} — upgrade bayes-serve`,
    );
  }
  manifestCheck(value, "", problems);
  if (problems.length === 0) {
    const m = value as Manifest;
    parameterLayoutProblems(m.parameters, problems);
    if (!(DRAWS_FILE in m.files)) problems.push(`files has no checksum for ${DRAWS_FILE}`);
    if (m.sampleStats !== undefined && !(SAMPLE_STATS_FILE in m.files)) problems.push(`files has no checksum for ${SAMPLE_STATS_FILE}`);
    if (m.sampleStats === undefined && SAMPLE_STATS_FILE in m.files) problems.push(`files lists ${SAMPLE_STATS_FILE} but sampleStats is missing`);
    const featureNames = new Set<string>();
    for (const f of m.features) {
      if (featureNames.has(f.name)) problems.push(`features has "${f.name}" twice`);
      featureNames.add(f.name);
    }
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    const more = problems.length > shown.length ? `; … and ${problems.length - shown.length} more` : "";
    throw new BayesServeError("ARTIFACT", `manifest ${source} is invalid: ${shown.join("; ")}${more}`);
  }
  return value as Manifest;
}

/** Parses and validates a manifest from its JSON text (or bytes). */
export function parseManifest(text: string | Uint8Array, source: string): Manifest {
  const s = typeof text === "string" ? text : new TextDecoder("utf-8", { fatal: false }).decode(text);
  let value: unknown;
  try {
    value = JSON.parse(s);
  } catch (err) {
    throw new BayesServeError("ARTIFACT", `manifest ${source} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return validateManifest(value, source);
}

/** The manifest's canonical serialisation (what is written as manifest.json). */
export function serializeManifest(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
}
