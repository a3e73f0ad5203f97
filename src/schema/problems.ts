// ajv's errors as problems a person can act on: which field (its path from the document's root), what was found there
// and what the schema expected, with "did you mean" for a misspelt field name. The one formatter of validation errors:
// the manifest and the pipeline file print `problemText`; the server words the same problems as FastAPI does
// (server/errors.ts) and the Open Inference Protocol routes in their own short form (server/v2-routes.ts).
import type { ErrorObject } from "ajv";
import { closest } from "./edit-distance.js";

/** A field's path from the document's root: property names, and array indices as numbers. */
export type FieldPath = (string | number)[];

/** What the formatter reads of the schema that failed (ajv's `parentSchema`, present when compiled `verbose`). */
interface SchemaHints {
  description?: string;
  properties?: Record<string, { description?: string } | undefined>;
}

/** One failed check of a value against its schema. */
export interface SchemaProblem {
  /** Where the value that failed is: for a missing or unknown field or a bad property name, the object holding it. */
  path: FieldPath;
  /** The missing field, the unknown field or the property whose name is bad, when the problem is one of those. */
  property?: string;
  /** The schema keyword that failed (`type`, `required`, `minimum`…), and its parameters as ajv gives them. */
  keyword: string;
  params: Record<string, unknown>;
  /** ajv's own wording (`must be <= 100000`), for what has no better one here. */
  message: string;
  /** The value found at `path` (the name itself, for a bad property name); undefined when there is none. */
  value: unknown;
  /** The failing schema, for its description and its fields' names; absent unless the validator is `verbose`. */
  schema?: SchemaHints;
}

function decodePointer(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The value at a JSON pointer's segments, and the path with array indices as numbers. */
function resolve(data: unknown, segments: readonly string[]): { path: FieldPath; value: unknown } {
  const path: FieldPath = [];
  let value: unknown = data;
  for (const s of segments) {
    if (Array.isArray(value)) {
      const i = Number(s);
      path.push(i);
      value = value[i];
    } else {
      path.push(s);
      value = typeof value === "object" && value !== null && Object.prototype.hasOwnProperty.call(value, s) ? (value as Record<string, unknown>)[s] : undefined;
    }
  }
  return { path, value };
}

/**
 * The problems in ajv's `errors` for `data`, in ajv's order, each made when asked for (a caller that stops after 100
 * does not resolve the ten thousandth). A value of the wrong type gets one problem, not also those of keywords meant
 * for another type (ajv checks 2.5 against an integer's maximum, "x" against a union's number bounds); repeats are
 * dropped; a bad property name is reported once, at the name.
 */
export function* eachSchemaProblem(errors: readonly ErrorObject[], data: unknown): Generator<SchemaProblem> {
  const typeFailed = new Set<string>();
  for (const e of errors) if (e.keyword === "type") typeFailed.add(e.instancePath);
  const seen = new Set<string>();
  for (const e of errors) {
    // `propertyNames` reports the name's own failure (a pattern, a length) and then itself: keep the first.
    if (e.keyword === "propertyNames") continue;
    const byName = e.propertyName !== undefined;
    if (typeFailed.has(e.instancePath) && e.keyword !== "type" && !byName && e.keyword !== "required" && e.keyword !== "additionalProperties") continue;
    const key = `${e.instancePath}|${e.keyword}|${e.propertyName ?? ""}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { path, value } = resolve(data, decodePointer(e.instancePath));
    const params = e.params as Record<string, unknown>;
    const property = byName
      ? e.propertyName
      : e.keyword === "required"
        ? String(params.missingProperty)
        : e.keyword === "additionalProperties"
          ? String(params.additionalProperty)
          : undefined;
    yield {
      path,
      ...(property === undefined ? {} : { property }),
      keyword: e.keyword,
      params,
      message: e.message ?? "is invalid",
      value: byName ? e.propertyName : value,
      ...(e.parentSchema === undefined ? {} : { schema: e.parentSchema as SchemaHints }),
    };
  }
}

/** The problems of `eachSchemaProblem`, at most `limit` of them. */
export function schemaProblems(errors: readonly ErrorObject[], data: unknown, limit = Infinity): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  if (limit <= 0) return out;
  for (const p of eachSchemaProblem(errors, data)) if (out.push(p) >= limit) break;
  return out;
}

/** A path as people write it: `stages.train.args[0]`, `features[1].type` (empty for the root). */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const s of path) out += typeof s === "number" ? `[${s}]` : out === "" ? s : `.${s}`;
  return out;
}

/**
 * Where a problem should be pointed at: a missing field at the object that lacks it, an unknown field or a bad name at
 * the name (`atKey`), anything else at the value.
 */
export function problemLocation(p: SchemaProblem): { path: FieldPath; atKey: boolean } {
  if (p.property === undefined || p.keyword === "required") return { path: p.path, atKey: false };
  return { path: [...p.path, p.property], atKey: true };
}

/** How a value is named in a message: strings quoted (and cut short), containers by their kind. */
export function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}…` : v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return String(v);
}

/** Allowed values, each once whatever its case (an enum listing `info` and `INFO` shows `"info"`). */
function listValues(values: readonly unknown[]): string {
  const shown = new Set<string>();
  const out: string[] = [];
  for (const v of values) {
    const k = typeof v === "string" ? v.toLowerCase() : JSON.stringify(v);
    if (shown.has(k)) continue;
    shown.add(k);
    out.push(showValue(v));
  }
  return out.join(", ");
}

/** The problem as a sentence, without its path: what was expected and what was found. */
export function problemText(p: SchemaProblem): string {
  const description = p.schema?.description;
  const got = p.value === undefined ? "" : `, got ${showValue(p.value)}`;
  const aside = description === undefined ? "" : ` (${description})`;
  const params = p.params;
  switch (p.keyword) {
    case "required": {
      const hint = p.schema?.properties?.[String(p.property)]?.description;
      return `missing required field \`${p.property}\`${hint === undefined ? "" : ` (expected ${hint})`}`;
    }
    case "additionalProperties": {
      const allowed = Object.keys(p.schema?.properties ?? {});
      const near = closest(String(p.property), allowed);
      const hint = allowed.length > 0 ? ` (expected one of: ${allowed.join(", ")}${near === undefined ? "" : `; did you mean \`${near}\`?`})` : "";
      return `unknown field \`${p.property}\`${hint}`;
    }
    case "type": {
      const t = params.type as string | string[];
      const types = (Array.isArray(t) ? t : String(t).split(",")).join(" or ");
      return `expected ${types}${aside}${got}`;
    }
    case "enum":
      return `expected one of ${listValues(params.allowedValues as unknown[])}${got}`;
    case "const":
      return `expected ${showValue(params.allowedValue)}${got}`;
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return `expected a value ${String(params.comparison)} ${String(params.limit)}${aside}${got}`;
    case "pattern":
    case "format": {
      const what = description ?? (p.keyword === "pattern" ? `a match for ${String(params.pattern)}` : `a ${String(params.format)} value`);
      return `${p.property === undefined ? "" : "name "}${showValue(p.value)} is not valid: expected ${what}`;
    }
    case "minLength":
      return Number(params.limit) === 1 ? "must not be empty" : `expected at least ${String(params.limit)} characters${got}`;
    case "maxLength":
      return `${p.property === undefined ? "" : "name "}${showValue(p.value)} is too long: expected ${description ?? `at most ${String(params.limit)} characters`}`;
    case "minItems":
      return `expected at least ${String(params.limit)} item(s)`;
    case "maxItems":
      return `expected at most ${String(params.limit)} item(s)`;
    case "minProperties":
      return Number(params.limit) === 1 ? "must not be empty" : `expected at least ${String(params.limit)} fields`;
    default:
      return `${p.message}${description === undefined ? "" : `: expected ${description}`}`;
  }
}

/** The problem as `path: sentence` (the sentence alone at the root), pointing where `problemLocation` does. */
export function formatProblem(p: SchemaProblem): string {
  const at = formatPath(problemLocation(p).path);
  const text = problemText(p);
  return at === "" ? text : `${at}: ${text}`;
}
