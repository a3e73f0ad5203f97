// Scheduled retraining on the plain target: a CronJob that runs `bayes-serve deploy update` in the cluster on the
// pipeline file (shipped in a ConfigMap), under a ServiceAccount whose Role grants just what the update touches.
import type { KubernetesObject, V1ConfigMap, V1CronJob, V1PodSpec, V1Role, V1RoleBinding, V1ServiceAccount } from "@kubernetes/client-node";
import { CRONJOB_NAME_SUFFIX } from "./pipeline-schema.js";
import { cronJobSchedule } from "./cron-schedule.js";
import { checkGitCommitLabel, retrainingLabels } from "./labels.js";
import { referencedSecrets, type Pipeline } from "./pipeline.js";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./pod-security.js";
import { pipelineBudgetSeconds } from "./time-budget.js";

/** Where the in-cluster retraining job finds the pipeline file (mounted from a ConfigMap). */
export const IN_CLUSTER_PIPELINE_DIR = "/etc/bayes-serve";
export const IN_CLUSTER_PIPELINE_FILE = `${IN_CLUSTER_PIPELINE_DIR}/bayes-serve.yaml`;

export interface RetrainingOptions {
  /** Cron schedule, e.g. "0 3 * * *". */
  schedule: string;
  /** IANA time zone for the schedule (CronJob spec.timeZone); the controller's zone when absent. */
  timeZone?: string;
  gitCommit: string;
  /** The pipeline file's text, shipped to the cluster in a ConfigMap. */
  pipelineText: string;
  image?: string;
}

export interface RenderedRetraining {
  serviceAccount: V1ServiceAccount;
  role: V1Role;
  roleBinding: V1RoleBinding;
  configMap: V1ConfigMap;
  cronJob: V1CronJob;
}

/** The name of the retraining's objects (all of them: account, role, binding, ConfigMap, CronJob). */
export function retrainingName(pipeline: Pipeline): string {
  return `${pipeline.name}${CRONJOB_NAME_SUFFIX}`;
}

/** What every retraining object shares. */
interface RetrainingMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

export function renderRetraining(pipeline: Pipeline, options: RetrainingOptions): RenderedRetraining {
  checkGitCommitLabel(options.gitCommit);
  const schedule = cronJobSchedule(options);
  const name = retrainingName(pipeline);
  const meta: RetrainingMeta = { name, namespace: pipeline.namespace, labels: retrainingLabels(pipeline, name, options.gitCommit) };
  const serviceAccount: V1ServiceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata: meta };
  const roleBinding: V1RoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: meta,
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [{ kind: "ServiceAccount", name, namespace: meta.namespace }],
  };
  const configMap: V1ConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: meta, data: { "bayes-serve.yaml": options.pipelineText } };
  const cronJob: V1CronJob = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: meta,
    spec: {
      ...schedule,
      jobTemplate: {
        metadata: { labels: meta.labels },
        spec: {
          // A failed run has already rolled back and reported; the next schedule tries again.
          backoffLimit: 0,
          activeDeadlineSeconds: pipelineBudgetSeconds(pipeline),
          template: { metadata: { labels: meta.labels }, spec: deployerPod(pipeline, options, name) },
        },
      },
    },
  };
  return { serviceAccount, role: retrainingRole(pipeline, meta), roleBinding, configMap, cronJob };
}

/** The rights `deploy update` needs in the namespace: manage the stages' objects, read pods, logs, events and the secrets the stages reference. */
function retrainingRole(pipeline: Pipeline, meta: RetrainingMeta): V1Role {
  const secretNames = [...referencedSecrets(pipeline).keys()].sort();
  const manage = ["get", "list", "create", "patch", "delete"];
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: meta,
    rules: [
      { apiGroups: [""], resources: ["services"], verbs: manage },
      { apiGroups: [""], resources: ["pods", "pods/log", "events"], verbs: ["get", "list"] },
      ...(secretNames.length > 0 ? [{ apiGroups: [""], resources: ["secrets"], resourceNames: secretNames, verbs: ["get"] }] : []),
      { apiGroups: ["apps"], resources: ["deployments"], verbs: manage },
      { apiGroups: ["batch"], resources: ["jobs"], verbs: manage },
      { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: manage },
      { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: manage },
      { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: manage },
    ],
  };
}

/** The retraining run's pod: the deployer container running `deploy update` on the mounted pipeline file. */
function deployerPod(pipeline: Pipeline, options: RetrainingOptions, name: string): V1PodSpec {
  const args = ["deploy", "update", "--file", IN_CLUSTER_PIPELINE_FILE, "--git-commit", options.gitCommit, "--skip-namespace"];
  if (options.image !== undefined) args.push("--image", options.image);
  return {
    serviceAccountName: name,
    automountServiceAccountToken: true,
    restartPolicy: "Never",
    enableServiceLinks: false,
    securityContext: restrictedPodSecurity(pipeline.runAsUser),
    ...(pipeline.imagePullSecrets.length > 0 ? { imagePullSecrets: pipeline.imagePullSecrets.map((n) => ({ name: n })) } : {}),
    containers: [
      {
        name: "deployer",
        image: options.image ?? pipeline.image,
        ...(pipeline.imagePullPolicy !== undefined ? { imagePullPolicy: pipeline.imagePullPolicy } : {}),
        args,
        env: [
          { name: "LOG_LEVEL", value: pipeline.logLevel },
          { name: "HOME", value: "/tmp" },
          { name: "TMPDIR", value: "/tmp" },
        ],
        resources: { requests: { cpu: "100m", memory: "256M" }, limits: { memory: "256M" } },
        securityContext: restrictedContainerSecurity(),
        volumeMounts: [
          { name: "pipeline", mountPath: IN_CLUSTER_PIPELINE_DIR, readOnly: true },
          { name: "tmp", mountPath: "/tmp" },
        ],
      },
    ],
    volumes: [
      { name: "pipeline", configMap: { name } },
      { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
    ],
  };
}

export function retrainingObjects(r: RenderedRetraining): KubernetesObject[] {
  return [r.serviceAccount, r.role, r.roleBinding, r.configMap, r.cronJob];
}
