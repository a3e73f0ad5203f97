// The JSON Schema of `bayes-serve.yaml`, its validation with ajv, and the checks a schema cannot express (the DAG,
// cycles, unknown or duplicate stages, a service without a port, names too long for Kubernetes, …). Every problem is
// reported with the field's path, its line and column in the file, and what was expected.
import { Ajv, type ErrorObject } from "ajv";
import { TRAIN_DEFAULTS } from "../defaults.js";
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node as YamlNode } from "yaml";
import { LOG_LEVELS } from "../server/constants.js";

// ---- The file's shape (what the schema admits) ----

export type SecretRefFile = string | { secret: string; key?: string };

export interface IngressFile {
  path?: string;
  strip_prefix?: boolean;
  class_name?: string;
  host?: string;
  annotations?: Record<string, string>;
}

export interface StageFile {
  command?: (string | number)[];
  args?: (string | number)[];
  cpu_request?: number;
  cpu_limit?: number;
  memory_request_mb?: number;
  memory_limit_mb?: number;
  env?: Record<string, string | number | boolean>;
  secrets?: Record<string, SecretRefFile>;
  batch?: { max_completion_time_seconds: number; retries?: number; chains_as_pods?: boolean };
  service?: {
    port?: number;
    replicas?: number;
    max_startup_time_seconds: number;
    ingress?: boolean | IngressFile;
    autoscaling?: { min_replicas?: number; max_replicas: number; target_cpu_utilization?: number };
    pod_disruption_budget?: { min_available?: number | string; max_unavailable?: number | string };
    probes?: { liveness_path?: string; readiness_path?: string };
  };
}

export interface PipelineFile {
  version: "1.0";
  pipeline: {
    name: string;
    namespace: string;
    image: string;
    DAG: string;
    image_pull_policy?: "Always" | "IfNotPresent" | "Never";
    image_pull_secrets?: string[];
    run_as_user?: number;
  };
  stages: Record<string, StageFile>;
  logging?: { log_level?: string };
}

// ---- The schema ----

const DNS_LABEL = "^[a-z]([-a-z0-9]*[a-z0-9])?$";
const DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const ENV_NAME = "^[A-Za-z_][A-Za-z0-9_]*$";
const SECRET_KEY = "^[-._a-zA-Z0-9]+$";

const dnsLabel = (maxLength: number) => ({
  type: "string",
  pattern: DNS_LABEL,
  maxLength,
  description: `a DNS label: lower-case letters, digits and '-', starting with a letter, ending with a letter or digit, at most ${maxLength} characters`,
});
const dnsSubdomain = {
  type: "string",
  pattern: DNS_SUBDOMAIN,
  maxLength: 253,
  description: "a Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
};
const envName = {
  type: "string",
  pattern: ENV_NAME,
  description: "an environment variable name: letters, digits and '_', not starting with a digit",
};
const intOrPercent = {
  type: ["integer", "string"],
  minimum: 0,
  pattern: "^[0-9]+%$",
  description: 'a number of pods or a percentage such as "50%"',
};
const args = {
  type: "array",
  items: { type: ["string", "number"], description: "a string (quote numbers if you like; they are passed as text)" },
};

export const pipelineJsonSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://bayes-serve.dev/schemas/bayes-serve.yaml.json",
  title: "bayes-serve deployment pipeline",
  type: "object",
  additionalProperties: false,
  required: ["version", "pipeline", "stages"],
  properties: {
    version: { type: "string", enum: ["1.0"], description: 'the file format version, "1.0" (quoted)' },
    pipeline: {
      type: "object",
      additionalProperties: false,
      required: ["name", "namespace", "image", "DAG"],
      properties: {
        name: dnsLabel(40),
        namespace: dnsLabel(63),
        image: {
          type: "string",
          minLength: 1,
          pattern: "^[^\\s]+$",
          description: "a container image reference such as ghcr.io/org/bayes-serve:0.1.0",
        },
        DAG: {
          type: "string",
          minLength: 1,
          description: "the stages in order, e.g. \"train >> scoring-service\" (',' for stages that run side by side)",
        },
        image_pull_policy: { type: "string", enum: ["Always", "IfNotPresent", "Never"] },
        image_pull_secrets: { type: "array", items: dnsSubdomain },
        run_as_user: { type: "integer", minimum: 1, description: "a non-root numeric user id (the image's USER)" },
      },
    },
    stages: {
      type: "object",
      minProperties: 1,
      propertyNames: dnsLabel(40),
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        properties: {
          command: { ...args, minItems: 1 },
          args,
          cpu_request: { type: "number", exclusiveMinimum: 0, description: "CPU cores, e.g. 0.5 or 1" },
          cpu_limit: { type: "number", exclusiveMinimum: 0, description: "CPU cores, e.g. 0.5 or 1" },
          memory_request_mb: { type: "integer", minimum: 1, description: "megabytes, e.g. 750" },
          memory_limit_mb: { type: "integer", minimum: 1, description: "megabytes, e.g. 750" },
          env: {
            type: "object",
            propertyNames: envName,
            additionalProperties: { type: ["string", "number", "boolean"] },
          },
          secrets: {
            type: "object",
            propertyNames: envName,
            additionalProperties: {
              type: ["string", "object"],
              pattern: DNS_SUBDOMAIN,
              description: "the name of a Kubernetes Secret (its key is the variable's name), or {secret: NAME, key: KEY}",
              additionalProperties: false,
              required: ["secret"],
              properties: {
                secret: dnsSubdomain,
                key: { type: "string", pattern: SECRET_KEY, description: "a Secret key: letters, digits, '-', '_' and '.'" },
              },
            },
          },
          batch: {
            type: "object",
            additionalProperties: false,
            required: ["max_completion_time_seconds"],
            properties: {
              max_completion_time_seconds: { type: "integer", minimum: 1 },
              retries: { type: "integer", minimum: 0, maximum: 100 },
              chains_as_pods: {
                type: "boolean",
                description: "run each chain of the `train` stage in its own pod (an Indexed Job), then a Job that merges them",
              },
            },
          },
          service: {
            type: "object",
            additionalProperties: false,
            required: ["max_startup_time_seconds"],
            properties: {
              port: { type: "integer", minimum: 1, maximum: 65535 },
              replicas: { type: "integer", minimum: 1 },
              max_startup_time_seconds: { type: "integer", minimum: 1 },
              ingress: {
                type: ["boolean", "object"],
                description: "true, or {path, strip_prefix, class_name, host, annotations}",
                additionalProperties: false,
                properties: {
                  path: { type: "string", pattern: "^/[^\\s]*$", description: "a URL path starting with '/'" },
                  strip_prefix: { type: "boolean" },
                  class_name: dnsSubdomain,
                  host: {
                    type: "string",
                    pattern: "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                    description: "a DNS host name",
                  },
                  annotations: { type: "object", additionalProperties: { type: "string" } },
                },
              },
              autoscaling: {
                type: "object",
                additionalProperties: false,
                required: ["max_replicas"],
                properties: {
                  min_replicas: { type: "integer", minimum: 1 },
                  max_replicas: { type: "integer", minimum: 1 },
                  target_cpu_utilization: { type: "integer", minimum: 1, maximum: 1000, description: "percent of the CPU request" },
                },
              },
              pod_disruption_budget: {
                type: "object",
                additionalProperties: false,
                minProperties: 1,
                properties: { min_available: intOrPercent, max_unavailable: intOrPercent },
              },
              probes: {
                type: "object",
                additionalProperties: false,
                properties: {
                  liveness_path: { type: "string", pattern: "^/", description: "a URL path starting with '/'" },
                  readiness_path: { type: "string", pattern: "^/", description: "a URL path starting with '/'" },
                },
              },
            },
          },
        },
      },
    },
    logging: {
      type: "object",
      additionalProperties: false,
      properties: {
        log_level: { type: "string", enum: [...LOG_LEVELS, ...LOG_LEVELS.map((l) => l.toUpperCase())] },
      },
    },
  },
} as const;

// ---- Validation ----

export interface Problem {
  /** Dotted path of the field, e.g. `stages.train.batch.retries` (empty for the whole file). */
  path: string;
  message: string;
  line?: number;
  col?: number;
}

export interface ProblemReport {
  problems: Problem[];
  warnings: string[];
  document?: PipelineFile;
  dag?: string[][];
}

const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true });
const validateSchema = ajv.compile<PipelineFile>(pipelineJsonSchema);

/** Longest suffix a Job name gets after `<pipeline>--<stage>`: `-` and a 10-character run id. */
export const JOB_SUFFIX_LENGTH = 11;
/** What the Jobs of a stage with chains as pods add to `<pipeline>--<stage>-<run id>` (and `-<index>` on pod hostnames). */
export const CHAINS_JOB_SUFFIX = "-chains";
export const MERGE_JOB_SUFFIX = "-merge";
const CHAIN_HOSTNAME_SUFFIX_LENGTH = 3;

/** The value of `--flag V` or `--flag=V` in a stage's args, if given. */
export function argValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

/** CronJob names are limited to 52 characters (the controller appends an 11-character suffix to Job names). */
export const CRONJOB_NAME_SUFFIX = "--retrain";

/** Check pipeline YAML text: YAML syntax, the schema, then the semantic rules. Never throws for bad input. */
export function checkPipelineText(text: string): ProblemReport {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: "", message: `YAML syntax: ${e.message.split("\n")[0]}`, line: pos.line, col: pos.col };
      }),
      warnings: [],
    };
  }
  const data: unknown = doc.toJS();
  const locate = (path: (string | number)[], key = false) => locateInYaml(doc, lineCounter, path, key);
  return checkPipelineDocument(data, locate);
}

type Locator = (path: (string | number)[], key?: boolean) => { line: number; col: number } | undefined;

/** Check an already-parsed document (JSON or YAML data). */
export function checkPipelineDocument(data: unknown, locate: Locator = () => undefined): ProblemReport {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const add = (path: (string | number)[], message: string, atKey = false) => {
    const pos = locate(path, atKey);
    const dotted = path.join(".");
    problems.push({ path: dotted, message: dotted === "" ? message : `${dotted}: ${message}`, ...(pos ?? {}) });
  };

  if (data === null || data === undefined) {
    add([], "the file is empty: expected a mapping with version, pipeline and stages");
    return { problems, warnings };
  }
  if (!validateSchema(data)) {
    for (const e of simplifyErrors(validateSchema.errors ?? [])) {
      const path = pointerToPath(e.instancePath);
      const { where, message, atKey } = describeError(e, path);
      add(where, message, atKey);
    }
    return { problems, warnings };
  }
  const doc = data;
  const dag = checkSemantics(doc, add, warnings);
  return problems.length > 0 ? { problems, warnings } : { problems, warnings, document: doc, dag };
}

/** Parse `a >> b, c >> d` into steps; problems go to `fail`. Exported for tests and the CLI. */
export function parseDag(text: string, fail: (message: string) => void): string[][] {
  const steps: string[][] = [];
  const rawSteps = text.split(">>");
  rawSteps.forEach((raw, i) => {
    const names = raw.split(",").map((s) => s.trim());
    if (names.length === 1 && names[0] === "") {
      fail(`step ${i + 1} of "${text}" is empty: expected stage names separated by ',' between '>>'`);
      return;
    }
    const step: string[] = [];
    for (const name of names) {
      if (name === "") {
        fail(`step ${i + 1} of "${text}" has an empty stage name (a stray ',')`);
        continue;
      }
      if (!new RegExp(DNS_LABEL).test(name)) {
        fail(
          `"${name}" in step ${i + 1} is not a stage name: expected a DNS label (lower-case letters, digits and '-'), with '>>' between steps and ',' between stages of one step`,
        );
        continue;
      }
      step.push(name);
    }
    steps.push(step);
  });
  return steps;
}

/**
 * Environment variable names that hold secrets: AWS's secret key and session token, the artefact signing key, and any
 * name with a SECRET, PASSWORD or PASSWD part, ending in TOKEN, or ending in API_KEY, PRIVATE_KEY, SIGNING_KEY or
 * SECRET_KEY. (Not AWS_ACCESS_KEY_ID: a key id is an identifier, shown in logs and consoles.)
 */
export function looksSecret(name: string): boolean {
  const n = name.toUpperCase();
  return /(^|_)(SECRET|SECRETS|PASSWORD|PASSWD)(_|$)/.test(n) || /(^|_)TOKEN$/.test(n) || /(^|_)(API|PRIVATE|SIGNING|SECRET)_KEY$/.test(n);
}

function checkSemantics(doc: PipelineFile, add: (path: (string | number)[], message: string, atKey?: boolean) => void, warnings: string[]): string[][] {
  const stageNames = Object.keys(doc.stages);
  const dagPath = ["pipeline", "DAG"];
  const dag = parseDag(doc.pipeline.DAG, (m) => add(dagPath, m));

  // Unknown stages, duplicates inside a step, and stages that come back in a later step (a cycle).
  const firstStep = new Map<string, number>();
  dag.forEach((step, i) => {
    const seenHere = new Set<string>();
    for (const name of step) {
      if (!(name in doc.stages)) {
        const near = closest(name, stageNames);
        add(
          dagPath,
          `unknown stage "${name}" in step ${i + 1}: the stages defined are ${stageNames.map((s) => `"${s}"`).join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`,
        );
      }
      if (seenHere.has(name)) {
        add(dagPath, `stage "${name}" is listed twice in step ${i + 1} (duplicate)`);
        continue;
      }
      seenHere.add(name);
      const earlier = firstStep.get(name);
      if (earlier !== undefined) {
        add(dagPath, `cycle: stage "${name}" runs in step ${earlier + 1} and again in step ${i + 1}, so it would depend on itself; each stage may appear once`);
      } else {
        firstStep.set(name, i);
      }
    }
  });
  for (const name of stageNames) {
    if (!firstStep.has(name)) warnings.push(`stages.${name}: defined but not in the DAG "${doc.pipeline.DAG}"; it will not be deployed`);
  }

  const ingressPaths = new Map<string, string>();
  for (const [name, s] of Object.entries(doc.stages)) {
    const at = (...rest: (string | number)[]) => ["stages", name, ...rest];
    const base = `${doc.pipeline.name}--${name}`;
    if (s.batch !== undefined && s.service !== undefined) {
      add(at(), "has both `batch` and `service`: a stage is one or the other");
    } else if (s.batch === undefined && s.service === undefined) {
      add(
        at(),
        "is neither a batch nor a service stage: expected a `batch:` block (command that runs to completion) or a `service:` block (long-running server)",
      );
    }
    if (s.batch !== undefined && base.length + JOB_SUFFIX_LENGTH > 63) {
      add(
        at(),
        `Job names "${base}-<run id>" would exceed Kubernetes' 63 characters: shorten the pipeline or stage name (at most ${63 - JOB_SUFFIX_LENGTH} characters for "<pipeline>--<stage>")`,
        true,
      );
    }
    if (s.batch?.chains_as_pods === true)
      checkChainsAsPods(
        s,
        base,
        (message, ...rest) => add(at(...rest), message),
        (w) => warnings.push(`stages.${name}.batch.chains_as_pods: ${w}`),
      );
    if (s.service !== undefined && base.length > 63) {
      add(at(), `the Service name "${base}" would exceed Kubernetes' 63 characters: shorten the pipeline or stage name`, true);
    }
    if (s.cpu_limit !== undefined && s.cpu_request !== undefined && s.cpu_limit < s.cpu_request) {
      add(at("cpu_limit"), `must be at least cpu_request (${s.cpu_request})`);
    }
    if (s.memory_limit_mb !== undefined && s.memory_request_mb !== undefined && s.memory_limit_mb < s.memory_request_mb) {
      add(at("memory_limit_mb"), `must be at least memory_request_mb (${s.memory_request_mb})`);
    }
    for (const envName of Object.keys(s.secrets ?? {})) {
      if (s.env !== undefined && envName in s.env) {
        add(at("secrets", envName), `duplicate environment variable: ${envName} is also set in env`, true);
      }
    }
    for (const envName of Object.keys(s.env ?? {})) {
      if (looksSecret(envName) && !(s.secrets !== undefined && envName in s.secrets)) {
        add(
          at("env", envName),
          `${envName} looks like a secret, and a plain env value is written into the rendered manifest and the cluster's ` +
            `objects for anyone who can read them: store it with \`bayes-serve deploy secret create <name> --from-literal ` +
            `${envName}=…\` (or --from-env ${envName}) and reference it under \`secrets: {${envName}: <name>}\``,
          true,
        );
      }
    }
    const svc = s.service;
    if (svc === undefined) continue;
    if (svc.port === undefined) {
      add(at("service"), "a service stage needs a port: expected `port: <1-65535>`, the port its server listens on (e.g. 8000)");
    } else {
      const argv = (s.args ?? []).map(String);
      const i = argv.indexOf("--port");
      const given = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith("--port="))?.slice("--port=".length);
      if (given !== undefined && Number(given) !== svc.port) {
        add(at("args"), `passes --port ${given} but service.port is ${svc.port}: the probes and the Service would target the wrong port`);
      }
    }
    const as = svc.autoscaling;
    if (as !== undefined) {
      const min = as.min_replicas ?? 1;
      if (min > as.max_replicas) add(at("service", "autoscaling", "min_replicas"), `must not exceed max_replicas (${as.max_replicas})`);
      if (s.cpu_request === undefined) {
        add(at("service", "autoscaling"), "CPU autoscaling needs a CPU request: set cpu_request on the stage (utilisation is measured against it)");
      }
      if (svc.replicas !== undefined) {
        warnings.push(`stages.${name}.service.replicas: ignored while autoscaling is on (the HorizontalPodAutoscaler owns the replica count)`);
      }
    }
    const pdb = svc.pod_disruption_budget;
    if (pdb !== undefined) {
      if (pdb.min_available !== undefined && pdb.max_unavailable !== undefined) {
        add(at("service", "pod_disruption_budget"), "set min_available or max_unavailable, not both");
      }
      const replicas = as?.min_replicas ?? svc.replicas ?? 1;
      if (typeof pdb.min_available === "number" && pdb.min_available >= replicas) {
        warnings.push(
          `stages.${name}.service.pod_disruption_budget: min_available ${pdb.min_available} with ${replicas} replica(s) blocks every voluntary eviction (node drains will hang)`,
        );
      }
    }
    if (svc.ingress !== undefined && svc.ingress !== false) {
      const o = svc.ingress === true ? {} : svc.ingress;
      const path = o.path ?? `/${doc.pipeline.namespace}/${base}`;
      const key = `${o.host ?? "*"}${path}`;
      const other = ingressPaths.get(key);
      if (other !== undefined) {
        add(at("service", "ingress"), `duplicate ingress path ${path}${o.host ? ` on ${o.host}` : ""}: stage "${other}" already uses it`);
      }
      ingressPaths.set(key, name);
    }
  }
  if (`${doc.pipeline.name}${CRONJOB_NAME_SUFFIX}`.length > 52) {
    add(["pipeline", "name"], `is too long for the retraining CronJob name "${doc.pipeline.name}${CRONJOB_NAME_SUFFIX}" (at most 52 characters)`);
  }
  return dag;
}

/**
 * A batch stage with `chains_as_pods: true` runs `bayes-serve train` once per chain and once to merge, adding the
 * flags that say which: its args must be a plain `train` with a store every pod reaches.
 */
function checkChainsAsPods(s: StageFile, base: string, add: (message: string, ...path: (string | number)[]) => void, warn: (message: string) => void): void {
  const args = (s.args ?? []).map(String);
  if (s.command !== undefined) add("runs `bayes-serve train` itself, once per chain and once to merge: leave out `command`", "command");
  if (args[0] !== "train") {
    add(`needs a \`train\` stage: args must begin with train (got ${args.length === 0 ? "none" : JSON.stringify(args[0])})`, "args");
    return;
  }
  for (const flag of ["--chain-index", "--stage", "--merge"])
    if (args.some((a) => a === flag || a.startsWith(`${flag}=`))) add(`passes ${flag}, which chains_as_pods sets for each pod itself: leave it out`, "args");
  const store = argValue(args, "--store");
  if (store === undefined || !store.startsWith("s3://"))
    add(
      `the chains' pods and the merge share no disk: --store must be s3://bucket/prefix (got ${store === undefined ? "none, the default ./artifacts" : JSON.stringify(store)})`,
      "args",
    );
  const chainsText = argValue(args, "--chains");
  const chains = chainsText === undefined ? TRAIN_DEFAULTS.chains : Number(chainsText);
  if (!(Number.isInteger(chains) && chains >= 1 && chains <= 64)) add(`--chains must be an integer from 1 to 64 (got ${JSON.stringify(chainsText)})`, "args");
  else if (chains === 1) warn("--chains 1: one pod does the work of one chain, plus a merge Job; nothing runs in parallel");
  const longest = base.length + JOB_SUFFIX_LENGTH + Math.max(CHAINS_JOB_SUFFIX.length, MERGE_JOB_SUFFIX.length) + CHAIN_HOSTNAME_SUFFIX_LENGTH;
  if (longest > 63)
    add(
      `its pods' host names "${base}-<run id>${CHAINS_JOB_SUFFIX}-<index>" would exceed Kubernetes' 63 characters: shorten the pipeline or stage name (at most ${63 - (longest - base.length)} characters for "<pipeline>--<stage>")`,
    );
}

// ---- Turning ajv errors into messages a person can act on ----

function pointerToPath(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** ajv reports a failing union-typed value once per keyword; keep the most useful error per path. */
function simplifyErrors(errors: ErrorObject[]): ErrorObject[] {
  const out: ErrorObject[] = [];
  const typeFailed = new Set(errors.filter((e) => e.keyword === "type").map((e) => e.instancePath));
  const seen = new Set<string>();
  for (const e of errors) {
    // A value of the wrong type also fails e.g. `minimum`/`pattern` meant for its other union branch: report the type.
    if (typeFailed.has(e.instancePath) && e.keyword !== "type") continue;
    // `propertyNames` failures come in pairs (the pattern, then the wrapper): keep the first.
    if (e.keyword === "propertyNames") continue;
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

function describeError(e: ErrorObject, path: string[]): { where: (string | number)[]; message: string; atKey: boolean } {
  const schema = (e.parentSchema ?? {}) as { description?: string; type?: unknown };
  const got = (v: unknown) => (v === undefined ? "" : `, got ${show(v)}`);
  const expected = schema.description ? `: expected ${schema.description}` : "";
  switch (e.keyword) {
    case "required": {
      const prop = (e.params as { missingProperty: string }).missingProperty;
      return { where: path, message: `missing required field \`${prop}\`${fieldHint(path, prop)}`, atKey: false };
    }
    case "additionalProperties": {
      const prop = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys((e.parentSchema as { properties?: Record<string, unknown> })?.properties ?? {});
      const near = closest(prop, allowed);
      const hint = allowed.length > 0 ? ` (expected one of: ${allowed.join(", ")}${near ? `; did you mean \`${near}\`?` : ""})` : "";
      return { where: [...path, prop], message: `unknown field \`${prop}\`${hint}`, atKey: true };
    }
    case "type": {
      const t = (e.params as { type: string | string[] }).type;
      const types = (Array.isArray(t) ? t : String(t).split(",")).join(" or ");
      const what = schema.description ? ` (${schema.description})` : "";
      return { where: path, message: `expected ${types}${what}${got(e.data)}`, atKey: false };
    }
    case "enum": {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      const lower = [...new Set(allowed.map((a) => (typeof a === "string" ? a.toLowerCase() : a)))];
      const list = (path[path.length - 1] === "log_level" ? lower : allowed).map(show).join(", ");
      return { where: path, message: `expected one of ${list}${got(e.data)}`, atKey: false };
    }
    case "pattern":
      return {
        where: path,
        message: `${show(e.data)} is not valid${expected || `: expected a match for ${String((e.params as { pattern: string }).pattern)}`}`,
        atKey: false,
      };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum": {
      const p = e.params as { comparison: string; limit: number };
      return { where: path, message: `expected a value ${p.comparison} ${p.limit}${got(e.data)}`, atKey: false };
    }
    case "minLength":
      return { where: path, message: "must not be empty", atKey: false };
    case "maxLength":
      return { where: path, message: `${show(e.data)} is too long${expected}`, atKey: false };
    case "minItems":
      return { where: path, message: `expected at least ${(e.params as { limit: number }).limit} item(s)`, atKey: false };
    case "minProperties":
      return { where: path, message: `must not be empty`, atKey: false };
    default:
      return { where: path, message: `${e.message ?? "is invalid"}${expected}`, atKey: false };
  }
}

function fieldHint(path: string[], prop: string): string {
  const hints: Record<string, string> = {
    version: ' (expected version: "1.0")',
    pipeline: " (expected a mapping with name, namespace, image and DAG)",
    stages: " (expected a mapping of stage name to stage)",
    DAG: ' (expected the order of stages, e.g. "train >> scoring-service")',
    image: " (expected the container image to run, e.g. ghcr.io/org/bayes-serve:0.1.0)",
    max_completion_time_seconds: " (expected the most seconds the batch stage may run, retries included)",
    max_startup_time_seconds: " (expected the most seconds a new version may take to become ready)",
    max_replicas: " (expected the most replicas the autoscaler may run)",
  };
  void path;
  return hints[prop] ?? "";
}

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return String(v);
}

/** The candidate within edit distance 2 (and less than half the word), if any. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= 2 && bestD <= word.length / 2 ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

// ---- Positions in the YAML source ----

function locateInYaml(doc: Document, lc: LineCounter, path: (string | number)[], atKey: boolean): { line: number; col: number } | undefined {
  // Walk down as far as the path exists; report the deepest node found (a missing field is reported at its parent).
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const seg of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
    if (pair === undefined) break;
    keyNode = pair.key;
    node = pair.value;
  }
  // A mapping is reported at its key ("service:"), a scalar at its value.
  const useKey = keyNode !== undefined && (atKey || isMap(node) || node === null || node === undefined);
  const target = (useKey ? keyNode : node) as YamlNode | undefined;
  const offset = target?.range?.[0];
  if (offset === undefined) return undefined;
  return lc.linePos(offset);
}
