// Checking a pipeline file: its YAML, its schema (pipeline-schema.ts), its DAG (pipeline-dag.ts), then the rules no
// schema expresses (a service without a port, a stage both batch and service, names too long for Kubernetes, limits
// below requests, secrets in plain env values…). Every problem is reported with the field's path, its line and column
// in the file, and what was expected.
import { LineCounter, parseDocument } from "yaml";
import { TRAIN_DEFAULTS } from "../defaults.js";
import { BUILTIN_MODELS } from "../train/models.js";
import { fileSchemaChecker } from "../schema/file-schema.js";
import { problemLocation, problemText, formatPath, type FieldPath } from "../schema/problems.js";
import { checkDag } from "./pipeline-dag.js";
import {
  CHAIN_HOSTNAME_SUFFIX_LENGTH,
  CHAINS_JOB_SUFFIX,
  CRONJOB_NAME_SUFFIX,
  JOB_SUFFIX_LENGTH,
  MERGE_JOB_SUFFIX,
  pipelineJsonSchema,
  type PipelineFile,
  type StageFile,
} from "./pipeline-schema.js";
import { locateInYaml, type Position } from "./yaml-locator.js";

export interface Problem {
  /** Path of the field, e.g. `stages.train.batch.retries` (empty for the whole file). */
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

type Locator = (path: FieldPath, atKey?: boolean) => Position | undefined;
type AddProblem = (path: FieldPath, message: string, atKey?: boolean) => void;

const checkSchema = fileSchemaChecker(pipelineJsonSchema);

/** The value of `--flag V` or `--flag=V` in a stage's args, if given. */
export function argValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

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
  return checkPipelineDocument(data, (path, atKey = false) => locateInYaml(doc, lineCounter, path, atKey));
}

/** Check an already-parsed document (JSON or YAML data). */
export function checkPipelineDocument(data: unknown, locate: Locator = () => undefined): ProblemReport {
  const problems: Problem[] = [];
  const warnings: string[] = [];
  const add: AddProblem = (path, message, atKey = false) => {
    const pos = locate(path, atKey);
    const at = formatPath(path);
    problems.push({ path: at, message: at === "" ? message : `${at}: ${message}`, ...(pos ?? {}) });
  };

  if (data === null || data === undefined) {
    add([], "the file is empty: expected a mapping with version, pipeline and stages");
    return { problems, warnings };
  }
  const checked = checkSchema(data);
  if (checked.problems !== undefined) {
    for (const p of checked.problems) {
      const { path, atKey } = problemLocation(p);
      add(path, problemText(p), atKey);
    }
    return { problems, warnings };
  }
  const doc = checked.value;
  const dag = checkSemantics(doc, add, warnings);
  return problems.length > 0 ? { problems, warnings } : { problems, warnings, document: doc, dag };
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

/** The rules across fields and stages; returns the DAG's steps. */
function checkSemantics(doc: PipelineFile, add: AddProblem, warnings: string[]): string[][] {
  const dag = checkDag(
    doc.pipeline.DAG,
    Object.keys(doc.stages),
    (m) => add(["pipeline", "DAG"], m),
    (w) => warnings.push(w),
  );

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
    const stageArgs = (s.args ?? []).map(String);
    const modelArg = stageArgs[0] === "train" ? argValue(stageArgs, "--model") : undefined;
    if (modelArg !== undefined && !Object.hasOwn(BUILTIN_MODELS, modelArg) && !/^(s3|https?):\/\//i.test(modelArg))
      warnings.push(
        `stages.${name}.args: --model ${modelArg} is read from the container's filesystem when the Job runs: it must be in the image ` +
          `or a mounted volume; an s3:// or https:// URI is read as the data are (docs/deploy.md, "Your own model")`,
      );
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
      const given = argValue((s.args ?? []).map(String), "--port");
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
