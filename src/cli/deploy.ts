// `bayes-serve deploy …`: validate, render, create/update, status, logs, delete, secrets and scheduled retraining for
// the pipeline in bayes-serve.yaml, against the cluster of the current kubeconfig context.
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { Command, Option } from "commander";
import { BayesServeError } from "../errors.js";
import { createRetraining, deleteRetraining } from "../deploy/cronjob.js";
import { deletePipeline } from "../deploy/delete.js";
import { createKubeApi, loadKubeConfig, type KubeApi } from "../deploy/kube-client.js";
import { stageLogs } from "../deploy/logs.js";
import { runPipeline } from "../deploy/orchestrate.js";
import { loadPipelineFile, type LoadedPipeline, type Pipeline } from "../deploy/pipeline.js";
import { newRunId, renderPipeline, renderRetraining, renderedObjects, retrainingObjects, toYaml } from "../deploy/render.js";
import { kserveObjects, renderKServe, renderKServeRetraining, type KServeDeploymentMode } from "../deploy/kserve.js";
import { createSecret, deleteSecret, formatSecrets, listSecrets, secretData } from "../deploy/secrets.js";
import { formatStatus, pipelineStatus } from "../deploy/status.js";

export interface DeployIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo: DeployIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
};

interface FileOpts {
  file: string;
}
interface ClusterOpts {
  kubeconfig?: string;
  context?: string;
  requestTimeout: string;
}
interface CommitOpts {
  gitCommit?: string;
  image?: string;
}

export function register(program: Command): void {
  registerDeploy(program, defaultIo);
}

export function registerDeploy(program: Command, io: DeployIo = defaultIo): Command {
  const deploy = program.command("deploy").description("deploy the train-and-serve pipeline in bayes-serve.yaml to Kubernetes (current kubeconfig context)");
  const context = deployContext(io);
  registerValidate(deploy, context);
  registerRender(deploy, context);
  registerRun(deploy, context, "create", "first deployment: check, then create the namespace and run the DAG (fails if already deployed)");
  registerRun(deploy, context, "update", "apply the pipeline again: run the batch stages, roll out the services, roll back on failure");
  registerStatus(deploy, context);
  registerLogs(deploy, context);
  registerDelete(deploy, context);
  registerSecrets(deploy, context);
  registerRetraining(deploy, context);
  return deploy;
}

/** What every subcommand's action uses: the output streams, the pipeline file loader and the cluster's API. */
interface DeployContext {
  io: DeployIo;
  /** The pipeline file, its warnings written to stderr. */
  load: (o: FileOpts) => LoadedPipeline;
  /** The API of the cluster the options name. */
  api: (o: ClusterOpts) => KubeApi;
  /** A progress line on stderr. */
  progress: (line: string) => void;
}

function deployContext(io: DeployIo): DeployContext {
  return {
    io,
    load: (o) => {
      const loaded = loadPipelineFile(o.file);
      for (const w of loaded.warnings) io.err(`warning: ${w}\n`);
      return loaded;
    },
    api: (o) => {
      const timeout = Number(o.requestTimeout);
      if (!Number.isFinite(timeout) || timeout <= 0)
        throw new BayesServeError("USAGE", `--request-timeout ${o.requestTimeout}: expected a number of seconds > 0`);
      return createKubeApi(loadKubeConfig({ ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}), ...(o.context ? { context: o.context } : {}) }), {
        timeoutMs: timeout * 1000,
      });
    },
    progress: (line) => io.err(`${line}\n`),
  };
}

// ---- options shared by the subcommands ----

const fileOption = () => new Option("-f, --file <path>", "pipeline file").default("bayes-serve.yaml");

function withCluster(c: Command): Command {
  return c
    .option("--kubeconfig <path>", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
    .option("--context <name>", "kubeconfig context (default: the current one)")
    .option("--request-timeout <seconds>", "give up on any single API request after this long", "30");
}

function withCommit(c: Command): Command {
  return c
    .option("--git-commit <sha>", "recorded in the bayes-serve/git-commit label (default: git rev-parse HEAD)")
    .option("--image <ref>", "run this image instead of pipeline.image (e.g. one tagged by CI)");
}

/** `--image` and `--time-zone`, when given, as the renderers' options take them. */
const imageOption = (o: CommitOpts) => (o.image !== undefined ? { image: o.image } : {});
const timeZoneOption = (o: { timeZone?: string }) => (o.timeZone !== undefined ? { timeZone: o.timeZone } : {});

// ---- validate ----

function registerValidate(deploy: Command, { io, load }: DeployContext): void {
  deploy
    .command("validate")
    .description("check the pipeline file against its schema and rules; apply nothing")
    .addOption(fileOption())
    .action((o: FileOpts) => {
      const { pipeline } = load(o);
      const steps = pipeline.dag.map((step) => step.map((name) => describeStage(pipeline, name)).join(", "));
      io.out(`${o.file}: valid pipeline "${pipeline.name}" → namespace ${pipeline.namespace}, image ${pipeline.image}\n  ${steps.join("\n  >> ")}\n`);
    });
}

/** One stage in `validate`'s summary: its kind and its budget or serving shape. */
function describeStage(pipeline: Pipeline, name: string): string {
  const s = pipeline.stages[name];
  if (s.type === "batch") return `${name} (batch, ${s.batch.retries} retries, ${s.batch.maxCompletionTimeSeconds} s)`;
  const ing = s.service.ingress ? `, ingress ${s.service.ingress.path}` : "";
  const as = s.service.autoscaling;
  const scale =
    as !== undefined
      ? `${as.minReplicas}–${as.maxReplicas} replicas (autoscaled at ${as.targetCpuUtilization} % CPU)`
      : `${s.service.replicas} replica${s.service.replicas === 1 ? "" : "s"}`;
  return `${name} (service, port ${s.service.port}, ${scale}${ing})`;
}

// ---- render ----

type RenderOpts = FileOpts &
  CommitOpts & {
    runId?: string;
    schedule?: string;
    timeZone?: string;
    target: string;
    canaryTrafficPercent?: string;
    deploymentMode?: string;
    modelVersion?: string;
    serviceAccount?: string;
  };

function registerRender(deploy: Command, { io, load }: DeployContext): void {
  withCommit(
    deploy
      .command("render")
      .description("print every Kubernetes manifest as YAML (for kubectl apply -f - or GitOps); contact no cluster")
      .addOption(fileOption())
      .option("--run-id <id>", "suffix for this run's Job names (default: a new one)")
      .option("--schedule <cron>", "also render the retraining CronJob and its ServiceAccount/Role/RoleBinding/ConfigMap")
      .option("--time-zone <tz>", "IANA time zone for --schedule")
      .option(
        "--target <target>",
        "kubernetes (Deployments, Services…) or kserve (a ServingRuntime and an InferenceService per service stage; see docs/deploy.md)",
        "kubernetes",
      )
      .option(
        "--canary-traffic-percent <n>",
        "with --target kserve: the share of traffic (0-100) a new revision gets while the last ready one keeps the rest (KServe's canaryTrafficPercent; Serverless mode)",
      )
      .option("--deployment-mode <mode>", "with --target kserve: RawDeployment (default) or Serverless (Knative; the default with --canary-traffic-percent)")
      .option(
        "--model-version <version>",
        "with --target kserve: pin this version of the store (default: the service stage's --model …@VERSION, else its latest)",
      )
      .option("--service-account <name>", "with --target kserve: the predictor's ServiceAccount, whose S3 secret KServe's storage initializer uses"),
  ).action((o: RenderOpts) => {
    const loaded = load(o);
    const gitCommit = o.gitCommit ?? gitHead(o.file);
    checkTarget(o);
    const objects = o.target === "kserve" ? renderKServeObjects(loaded, o, gitCommit) : renderKubernetesObjects(loaded, o, gitCommit);
    io.out(toYaml(objects));
  });
}

/** `--target` is one of the two, and KServe's options come only with `--target kserve`. */
function checkTarget(o: RenderOpts): void {
  if (o.target !== "kubernetes" && o.target !== "kserve") throw new BayesServeError("USAGE", `--target ${o.target}: kubernetes or kserve`);
  for (const [flag, given] of [
    ["--canary-traffic-percent", o.canaryTrafficPercent],
    ["--deployment-mode", o.deploymentMode],
    ["--model-version", o.modelVersion],
    ["--service-account", o.serviceAccount],
  ] as const)
    if (given !== undefined && o.target !== "kserve") throw new BayesServeError("USAGE", `${flag} is for --target kserve`);
}

/** The plain target: the pipeline's objects, and with `--schedule` the retraining CronJob's. */
function renderKubernetesObjects(loaded: LoadedPipeline, o: RenderOpts, gitCommit: string): KubernetesObject[] {
  const rendered = renderPipeline(loaded.pipeline, { gitCommit, runId: o.runId ?? newRunId(), ...imageOption(o) });
  const objects = renderedObjects(rendered);
  if (o.schedule !== undefined) {
    const retraining = renderRetraining(loaded.pipeline, {
      schedule: o.schedule,
      gitCommit,
      pipelineText: loaded.text,
      ...timeZoneOption(o),
      ...imageOption(o),
    });
    objects.push(...retrainingObjects(retraining));
  }
  return objects;
}

/** `--target kserve`: a ServingRuntime and an InferenceService per service stage, and with `--schedule` KServe's CronJob. */
function renderKServeObjects(loaded: LoadedPipeline, o: RenderOpts, gitCommit: string): KubernetesObject[] {
  const runId = o.runId ?? newRunId();
  const percent = o.canaryTrafficPercent;
  if (percent !== undefined && !/^\d{1,3}$/.test(percent)) throw new BayesServeError("USAGE", `--canary-traffic-percent ${percent}: an integer from 0 to 100`);
  const kserve = renderKServe(loaded.pipeline, {
    gitCommit,
    runId,
    ...imageOption(o),
    ...(percent !== undefined ? { canaryTrafficPercent: Number(percent) } : {}),
    ...(o.deploymentMode !== undefined ? { deploymentMode: o.deploymentMode as KServeDeploymentMode } : {}),
    ...(o.modelVersion !== undefined ? { modelVersion: o.modelVersion } : {}),
    ...(o.serviceAccount !== undefined ? { serviceAccountName: o.serviceAccount } : {}),
  });
  const objects = kserveObjects(kserve);
  if (o.schedule !== undefined)
    objects.push(
      renderKServeRetraining(loaded.pipeline, { schedule: o.schedule, gitCommit, runId, pipelineText: loaded.text, ...timeZoneOption(o), ...imageOption(o) }),
    );
  return objects;
}

// ---- create / update ----

type RunOpts = FileOpts & ClusterOpts & CommitOpts & { skipNamespace?: boolean; restart?: boolean; pollIntervalMs: string; graceSeconds: string };

function registerRun(deploy: Command, { io, load, api, progress }: DeployContext, mode: "create" | "update", description: string): void {
  const c = withCluster(withCommit(deploy.command(mode).description(description).addOption(fileOption())));
  if (mode === "update") {
    c.option("--skip-namespace", "assume the namespace exists; do not apply it (used by the in-cluster CronJob)");
    c.option("--restart", "roll the service stages out again even if nothing in them changed");
  }
  c.addOption(new Option("--poll-interval-ms <ms>", "between status polls").default("2000").hideHelp());
  c.addOption(new Option("--grace-seconds <s>", "added to each stage's time budget").default("30").hideHelp());
  c.action(async (o: RunOpts) => {
    const loaded = load(o);
    const result = await runPipeline(api(o), loaded.pipeline, {
      mode,
      gitCommit: o.gitCommit ?? gitHead(o.file),
      ...imageOption(o),
      ...(o.skipNamespace ? { skipNamespace: true } : {}),
      ...(o.restart ? { restart: true } : {}),
      pollIntervalMs: Number(o.pollIntervalMs),
      graceSeconds: Number(o.graceSeconds),
      log: progress,
    });
    for (const s of result.stages) io.out(`${s.stage}: ${s.detail}\n`);
  });
}

// ---- status, logs, delete ----

function registerStatus(deploy: Command, { io, load, api }: DeployContext): void {
  withCluster(
    deploy
      .command("status")
      .description("table of the pipeline's stages, objects, ready replicas and last job results")
      .addOption(fileOption())
      .option("--json", "print JSON"),
  ).action(async (o: FileOpts & ClusterOpts & { json?: boolean }) => {
    const { pipeline } = load(o);
    const s = await pipelineStatus(api(o), pipeline);
    io.out(o.json ? `${JSON.stringify(s, null, 2)}\n` : `${formatStatus(s)}\n`);
  });
}

function registerLogs(deploy: Command, { io, load, api }: DeployContext): void {
  withCluster(
    deploy
      .command("logs")
      .description("logs of a stage's pods (a batch stage: its last run)")
      .argument("<stage>", "stage name")
      .addOption(fileOption())
      .option("--tail <lines>", "only the last lines of each pod's log")
      .option("--previous", "the previous (crashed) container's log"),
  ).action(async (stage: string, o: FileOpts & ClusterOpts & { tail?: string; previous?: boolean }) => {
    const { pipeline } = load(o);
    const tail = o.tail !== undefined ? Number(o.tail) : undefined;
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new BayesServeError("USAGE", `--tail ${o.tail}: expected a whole number of lines`);
    const logs = await stageLogs(api(o), pipeline, stage, { ...(tail !== undefined ? { tailLines: tail } : {}), ...(o.previous ? { previous: true } : {}) });
    for (const l of logs) {
      if (logs.length > 1) io.out(`==> pod/${l.pod} <==\n`);
      io.out(l.text.endsWith("\n") || l.text === "" ? l.text : `${l.text}\n`);
    }
  });
}

function registerDelete(deploy: Command, { io, load, api }: DeployContext): void {
  withCluster(
    deploy
      .command("delete")
      .description("delete the pipeline's objects (found by label); secrets stay unless the namespace goes")
      .addOption(fileOption())
      .option("--stage <name>", "only this stage's objects")
      .option("--with-namespace", "also delete the namespace (and everything in it, secrets included)"),
  ).action(async (o: FileOpts & ClusterOpts & { stage?: string; withNamespace?: boolean }) => {
    const { pipeline } = load(o);
    const deleted = await deletePipeline(api(o), pipeline, {
      ...(o.stage !== undefined ? { stage: o.stage } : {}),
      ...(o.withNamespace ? { namespace: true } : {}),
    });
    io.out(
      deleted.length === 0 ? `nothing of pipeline ${pipeline.name} found in namespace ${pipeline.namespace}\n` : deleted.map((d) => `deleted ${d}\n`).join(""),
    );
  });
}

// ---- secrets ----

function registerSecrets(deploy: Command, { io, api }: DeployContext): void {
  const secret = deploy.command("secret").description("named Secrets in the pipeline's namespace, mapped to stage environment variables");
  const secretNamespace = (o: FileOpts & { namespace?: string }) => o.namespace ?? loadPipelineFile(o.file).pipeline.namespace;
  const collect = (v: string, prev: string[]) => [...prev, v];
  withCluster(
    secret
      .command("create")
      .description("create or replace a Secret (values are never printed)")
      .argument("<name>", "Secret name, e.g. aws-credentials")
      .option("--from-literal <KEY=VALUE>", "a key and its value (repeatable; visible in shell history — prefer --from-env)", collect, [])
      .option("--from-env <VAR>", "a key named VAR with the value of environment variable VAR (repeatable)", collect, [])
      .option("--from-env-file <file>", "KEY=VALUE lines (repeatable)", collect, [])
      .option("-n, --namespace <ns>", "namespace (default: the pipeline's)")
      .addOption(fileOption()),
  ).action(async (name: string, o: FileOpts & ClusterOpts & { fromLiteral: string[]; fromEnv: string[]; fromEnvFile: string[]; namespace?: string }) => {
    const data = secretData({ literals: o.fromLiteral, fromEnv: o.fromEnv, envFiles: o.fromEnvFile }, io.env);
    const ns = secretNamespace(o);
    const keys = await createSecret(api(o), ns, name, data);
    io.out(`secret ${name} in namespace ${ns}: keys ${keys.join(", ")}\n`);
  });
  withCluster(
    secret
      .command("list")
      .description("Secrets in the namespace with their keys (never their values)")
      .option("-n, --namespace <ns>", "namespace (default: the pipeline's)")
      .addOption(fileOption()),
  ).action(async (o: FileOpts & ClusterOpts & { namespace?: string }) => {
    const ns = secretNamespace(o);
    io.out(`${formatSecrets(ns, await listSecrets(api(o), ns))}\n`);
  });
  withCluster(
    secret
      .command("delete")
      .description("delete a Secret")
      .argument("<name>", "Secret name")
      .option("-n, --namespace <ns>", "namespace (default: the pipeline's)")
      .addOption(fileOption()),
  ).action(async (name: string, o: FileOpts & ClusterOpts & { namespace?: string }) => {
    const ns = secretNamespace(o);
    await deleteSecret(api(o), ns, name);
    io.out(`deleted secret ${name} from namespace ${ns}\n`);
  });
}

// ---- scheduled retraining ----

function registerRetraining(deploy: Command, { io, load, api, progress }: DeployContext): void {
  const cron = deploy.command("cronjob").description("scheduled retraining: a CronJob that runs `deploy update` in the cluster");
  withCluster(
    withCommit(
      cron
        .command("create")
        .description("schedule the train-and-serve pipeline (batch/v1 CronJob, concurrencyPolicy Forbid)")
        .requiredOption("--schedule <cron>", 'cron schedule, e.g. "0 3 * * *" (03:00 daily)')
        .option("--time-zone <tz>", "IANA time zone for the schedule, e.g. Europe/London (default: the controller's, usually UTC)")
        .addOption(fileOption()),
    ),
  ).action(async (o: FileOpts & ClusterOpts & CommitOpts & { schedule: string; timeZone?: string }) => {
    const loaded = load(o);
    const cluster = api(o);
    const options = { schedule: o.schedule, gitCommit: o.gitCommit ?? gitHead(o.file), pipelineText: loaded.text, ...timeZoneOption(o), ...imageOption(o) };
    const applied = await createRetraining(cluster, loaded.pipeline, options, progress);
    io.out(applied.map((a) => `applied ${a}\n`).join(""));
  });
  withCluster(cron.command("delete").description("stop scheduled retraining").addOption(fileOption())).action(async (o: FileOpts & ClusterOpts) => {
    const { pipeline } = load(o);
    const deleted = await deleteRetraining(api(o), pipeline);
    io.out(deleted.map((d) => `deleted ${d}\n`).join(""));
  });
}

/** `git rev-parse HEAD` in the pipeline file's directory, or "unknown" outside a git checkout. */
export function gitHead(file: string): string {
  try {
    const sha = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: dirname(resolve(file)),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5000,
    }).trim();
    return /^[0-9a-f]{7,64}$/.test(sha) ? sha : "unknown";
  } catch {
    return "unknown";
  }
}
