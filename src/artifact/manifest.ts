// The manifest of a published artefact: what the bundle contains and how to read it. Its schema (TypeBox, checked by
// ajv; the types below are derived from it) and, after the schema, the checks a schema cannot express (names and
// shapes of the parameters agreeing with each other, a checksum for every file, JSON-faithful values), so that a
// manifest loaded back is trusted only when complete and self-consistent.
import { Type, type Static } from "@sinclair/typebox";
import { BayesServeError } from "../errors.js";
import { fileSchemaChecker } from "../schema/file-schema.js";
import { RecordOf, SchemaOf, StringEnum } from "../schema/forms.js";
import { formatProblem, type SchemaProblem } from "../schema/problems.js";
import { VERSION_ID_PATTERN } from "./version-id.js";
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

// ---------------------------------------------------------------------------------------------------------------
// The schema. Objects admit fields they do not name (a newer bayes-serve may add some); every number is finite (ajv's
// strictNumbers).

const NonEmptyString = Type.String({ minLength: 1 });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const PositiveCount = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const Sha256Hex = Type.String({ pattern: "^[0-9a-f]{64}$", description: "a sha256 digest: 64 lower-case hex digits" });
/** Any JSON value; what JSON cannot hold (NaN, a class instance) is found by `jsonValueProblems` after the schema. */
const Json = (description: string) => Type.Unsafe<JsonValue>({ description });

const FeatureSchema = SchemaOf<FeatureSpec>()(
  Type.Object({
    name: NonEmptyString,
    type: StringEnum(["float", "integer", "category"]),
    levels: Type.Optional(PositiveCount),
    minimum: Type.Optional(Type.Number()),
    maximum: Type.Optional(Type.Number()),
    matrix: Type.Optional(NonEmptyString),
    newLevels: Type.Optional(Type.Boolean()),
  }),
);

const TargetSchema = Type.Object({ name: NonEmptyString });
export type TargetSpec = Static<typeof TargetSchema>;

/**
 * The sampler settings a version was fitted with, as its manifest records them: the run's settings
 * (inference/sampler.ts) that every version has, the number of chains, and any other JSON-valued record (step sizes,
 * the adaptation, a warm start) riding along.
 */
export type SamplerRecord = Pick<SamplerSettings, "draws" | "tune" | "seed" | "maxTreeDepth" | "targetAccept"> & {
  chains: number;
  [setting: string]: JsonValue;
};
const SamplerRecordSchema = Type.Unsafe<SamplerRecord>(
  SchemaOf<Pick<SamplerSettings, "draws" | "tune" | "seed" | "maxTreeDepth" | "targetAccept"> & { chains: number }>()(
    Type.Object({ draws: PositiveCount, tune: Count, chains: PositiveCount, seed: Type.Number(), maxTreeDepth: PositiveCount, targetAccept: Type.Number() }),
  ),
);

const DataObjectSchema = Type.Object({
  uri: NonEmptyString,
  bytes: Count,
  /** sha256 (hex) of the object's bytes as stored (compressed, for gzip). */
  sha256: Sha256Hex,
  format: StringEnum(["csv", "csv+gzip", "parquet"]),
  etag: Type.Optional(NonEmptyString),
  versionId: Type.Optional(NonEmptyString),
  lastModified: Type.Optional(NonEmptyString),
});
/** One object the training data were read from. */
export type DataObjectInfo = Static<typeof DataObjectSchema>;

/** One random sample of rows: `rows` of `of`, drawn with train's seed on a stream of its own, and what used it. */
const RowSampleSchema = Type.Object({
  rows: PositiveCount,
  of: PositiveCount,
  seed: Type.Number(),
  stream: Count,
  used: Type.Array(NonEmptyString),
});
export type RowSampleInfo = Static<typeof RowSampleSchema>;

/** The samples of the training and held-out rows (each absent when every row was used). */
const RowSamplesSchema = Type.Object({
  method: NonEmptyString,
  train: Type.Optional(RowSampleSchema),
  test: Type.Optional(RowSampleSchema),
});
export type RowSamplesInfo = Static<typeof RowSamplesSchema>;

const DataSchema = Type.Object({
  /** sha256 (hex) of the model's columns as read (float64, column after column), whatever the source's format. */
  sha256: Sha256Hex,
  /** The data URI given to `train --data` (absent for simulated data). */
  source: Type.Optional(NonEmptyString),
  /** The objects read from it, in order. */
  objects: Type.Optional(Type.Array(DataObjectSchema)),
  rows: Count,
  trainRows: Count,
  testRows: Count,
  /** Scalar data the model was trained with (sizes given with --data-scalar or inferred), used when serving too. */
  scalars: Type.Optional(RecordOf(Type.Number())),
  /** Each standardised design matrix's column means and sds over the training rows, applied when serving. */
  standardization: Type.Optional(RecordOf(Type.Object({ means: Type.Array(Type.Number()), sds: Type.Array(Type.Number()) }))),
  /** Present when a step ran on a random sample of the rows (train --sample-rows): which rows, and what used them. */
  samples: Type.Optional(RowSamplesSchema),
});
export type DataInfo = Static<typeof DataSchema>;

const ParametersSchema = SchemaOf<ParametersInfo>()(
  Type.Object({
    names: Type.Array(NonEmptyString),
    shapes: RecordOf(Type.Array(Count), { description: 'each parameter\'s shape, e.g. {"beta": [3], "sigma": []}' }),
  }),
);

const DrawsSchema = Type.Object({
  chains: PositiveCount,
  drawsPerChain: PositiveCount,
  file: Type.Literal(DRAWS_FILE),
  dtype: Type.Literal("float64"),
  /** Little-endian float64, index ((chain * drawsPerChain) + draw) * names.length + param. */
  layout: Type.Literal("chain,draw,param"),
});
export type DrawsInfo = Static<typeof DrawsSchema>;

const SampleStatsSchema = Type.Object({
  file: Type.Literal(SAMPLE_STATS_FILE),
  dtype: Type.Literal("float64"),
  /** Little-endian float64, index ((chain * drawsPerChain) + draw) * names.length + stat. */
  layout: Type.Literal("chain,draw,stat"),
  /** Stat names, e.g. lp, accept_stat, step_size, tree_depth, n_leapfrog, diverging (0/1), energy. */
  names: Type.Array(NonEmptyString),
});
export type SampleStatsInfo = Static<typeof SampleStatsSchema>;

/** A number, or null when there is none. */
const NumberOrNull = Type.Unsafe<number | null>({ type: ["number", "null"] });

const ComparisonSchema = Type.Object({
  /** The version compared with. */
  against: NonEmptyString,
  /** Held-out rows both were scored on. */
  rows: Count,
  /** The scores (null when no comparison was made). */
  elpd_new: NumberOrNull,
  elpd_latest: NumberOrNull,
  /** New minus latest, and the SE of that paired difference. */
  elpd_diff: NumberOrNull,
  se_diff: NumberOrNull,
  max_elpd_drop: Type.Number(),
  refused: Type.Boolean(),
  /** Why no comparison was made (no held-out rows, latest cannot predict these data), when none was. */
  note: Type.Optional(Type.String()),
});
/** A new fit against the version that was `latest` when training began, on the new data's held-out rows. */
export type ComparisonVerdict = Static<typeof ComparisonSchema>;

const GateSchema = Type.Object(
  {
    passed: Type.Boolean(),
    failures: Type.Array(Type.String()),
    /** Absent when no version was serving. */
    comparison: Type.Optional(ComparisonSchema),
  },
  { description: "the quality gate's verdict" },
);
export type GateVerdict = Static<typeof GateSchema>;

export const ManifestSchema = Type.Object({
  formatVersion: Type.Literal(FORMAT_VERSION),
  version: Type.String({ pattern: VERSION_ID_PATTERN, description: "a version id like 20261201T003000Z-a1b2c3" }),
  createdAt: Type.String({ format: "timestamp", description: "an ISO-8601 time like 2026-12-01T00:30:00.000Z" }),
  model: Json("the model's JSON form"),
  features: Type.Array(FeatureSchema, { description: "what a request must hold for each feature" }),
  target: TargetSchema,
  sampler: SamplerRecordSchema,
  seed: Type.Number(),
  data: DataSchema,
  parameters: ParametersSchema,
  draws: DrawsSchema,
  sampleStats: Type.Optional(SampleStatsSchema),
  diagnostics: Json("the fit's diagnostics"),
  metrics: Json("the held-out metrics"),
  gate: GateSchema,
  /** sha256 (hex) of every file of the bundle except manifest.json, by path relative to the version's folder. */
  files: RecordOf(Sha256Hex, { description: "the sha256 of every file of the bundle, by path" }),
});
export type Manifest = Static<typeof ManifestSchema>;

// ---------------------------------------------------------------------------------------------------------------
// The checks after the schema

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

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every value under the fields JSON carries opaquely (and the sampler's extra records) is one JSON can hold. */
function jsonProblems(m: Manifest, problems: string[]): void {
  jsonValueProblems(m.model, "model", problems);
  jsonValueProblems(m.diagnostics, "diagnostics", problems);
  jsonValueProblems(m.metrics, "metrics", problems);
  for (const [key, x] of Object.entries(m.sampler)) if (x !== undefined) jsonValueProblems(x, `sampler.${key}`, problems);
}

/** A category feature has its number of levels, no other feature has one, and no two features share a name. */
function featureProblems(m: Manifest, problems: string[]): void {
  const names = new Set<string>();
  m.features.forEach((f, i) => {
    if (f.type === "category" && f.levels === undefined)
      problems.push(`features[${i}]: missing required field \`levels\` (a category feature needs its number of levels)`);
    if (f.type !== "category" && f.levels !== undefined) problems.push(`features[${i}].levels: only allowed on a category feature`);
    if (names.has(f.name)) problems.push(`features: "${f.name}" appears twice`);
    names.add(f.name);
  });
}

/** Every file named is a path inside the version's folder, and the draws (and sample stats, if any) have a checksum. */
function fileProblems(m: Manifest, problems: string[]): void {
  for (const path of Object.keys(m.files)) {
    const bad = bundlePathProblem(path);
    if (bad !== null) problems.push(`files: ${bad}`);
  }
  if (!(DRAWS_FILE in m.files)) problems.push(`files: no checksum for ${DRAWS_FILE}`);
  if (m.sampleStats !== undefined && !(SAMPLE_STATS_FILE in m.files)) problems.push(`files: no checksum for ${SAMPLE_STATS_FILE}`);
  if (m.sampleStats === undefined && SAMPLE_STATS_FILE in m.files) problems.push(`files lists ${SAMPLE_STATS_FILE} but sampleStats is missing`);
}

/** The checks after the schema, each with the fields it reads: it runs when the schema found those fields sound. */
const CROSS_CHECKS: readonly { reads: readonly (keyof Manifest)[]; check: (m: Manifest, problems: string[]) => void }[] = [
  { reads: ["model", "diagnostics", "metrics", "sampler"], check: jsonProblems },
  { reads: ["features"], check: featureProblems },
  { reads: ["parameters"], check: (m, problems) => parameterLayoutProblems(m.parameters, problems) },
  { reads: ["files", "sampleStats"], check: fileProblems },
];

/** The top-level fields a schema problem lies in; null when the manifest is not even an object. */
function fieldsWithProblems(problems: readonly SchemaProblem[]): Set<string> | null {
  const fields = new Set<string>();
  for (const p of problems) {
    const field = p.path.length > 0 ? p.path[0] : p.property;
    if (field === undefined) return null;
    fields.add(String(field));
  }
  return fields;
}

const checkManifestSchema = fileSchemaChecker(ManifestSchema);

/**
 * Checks that `value` is a complete, self-consistent manifest and returns it typed. `source` names where it came
 * from (a file or an object URI) for the error message, which lists every problem found.
 */
export function validateManifest(value: unknown, source: string): Manifest {
  if (isRecord(value) && typeof value.formatVersion === "number" && value.formatVersion > FORMAT_VERSION) {
    throw new BayesServeError(
      "ARTIFACT",
      `manifest ${source} has format version ${value.formatVersion}; this bayes-serve reads format version ${FORMAT_VERSION} — upgrade bayes-serve`,
    );
  }
  const checked = checkManifestSchema(value);
  const schemaProblems = checked.problems ?? [];
  const problems = schemaProblems.map(formatProblem);
  const broken = fieldsWithProblems(schemaProblems);
  if (broken !== null) {
    // The fields a check reads passed the schema, so reading them as a Manifest's is sound.
    const m = value as Manifest;
    for (const { reads, check } of CROSS_CHECKS) if (!reads.some((field) => broken.has(field))) check(m, problems);
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
