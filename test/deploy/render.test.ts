// Rendering: every manifest validates against the official Kubernetes OpenAPI schemas (through kubernetes-models 5.x,
// generated from Kubernetes v1.36.0), survives @kubernetes/client-node's serializer unchanged (so no field is unknown to
// the client or silently dropped on the way to the server), and says what the pipeline says.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubernetesObject, V1Container, V1CronJob, V1Job, V1PodSpec } from "@kubernetes/client-node";
import { DEFAULT_SHUTDOWN_TIMEOUT_SECONDS, SERVING_NODE_OPTIONS, SHUTDOWN_GRACE_SECONDS } from "../../src/server/constants.js";
import { BayesServeError } from "../../src/errors.js";
import { asSerialized, validateK8s } from "./k8s-schemas.js";
import { loadPipelineFile, parsePipeline } from "../../src/deploy/pipeline.js";
import {
  cpuQuantity,
  newRunId,
  pipelineBudgetSeconds,
  renderPipeline,
  renderRetraining,
  renderedObjects,
  retrainingObjects,
  toYaml,
  type RenderedServiceStage,
} from "../../src/deploy/render.js";
import { FULL_PIPELINE } from "./fixtures.js";

const seed = loadPipelineFile(resolve(import.meta.dirname, "../../bayes-serve.yaml"));
const full = parsePipeline(FULL_PIPELINE, "full.yaml");
const opts = { gitCommit: "0123456789abcdef0123456789abcdef01234567", runId: "t1abc2def" };
const all = (p = seed) => [
  ...renderedObjects(renderPipeline(p.pipeline, opts)),
  ...retrainingObjects(renderRetraining(p.pipeline, { schedule: "0 3 * * *", timeZone: "Etc/UTC", gitCommit: opts.gitCommit, pipelineText: p.text })),
];

describe("every rendered manifest validates against the Kubernetes v1.36 OpenAPI schemas", () => {
  it("the schemas come from kubernetes-models 5.x (Kubernetes v1.36.0)", () => {
    const require = createRequire(import.meta.url);
    const pkg = JSON.parse(readFileSync(require.resolve("kubernetes-models/package.json"), "utf8")) as { version: string };
    expect(pkg.version).toMatch(/^5\./);
    // Markers of a 1.36 schema set: MutatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1) and PodSpec has
    // schedulingGroup; resource.k8s.io/v1 (GA in 1.34) is present.
    const dir = resolve(require.resolve("kubernetes-models/package.json"), "..");
    expect(readFileSync(resolve(dir, "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy.d.ts"), "utf8")).toContain("MutatingAdmissionPolicy");
    expect(readFileSync(resolve(dir, "_schemas/IoK8sApiCoreV1PodSpec.js"), "utf8")).toContain("schedulingGroup");
    expect(readFileSync(resolve(dir, "resource.k8s.io/v1/ResourceClaim.d.ts"), "utf8")).toContain("ResourceClaim");
  });

  it("the validator is live: it rejects a broken manifest", () => {
    const d = renderPipeline(seed.pipeline, opts).steps[1][0] as RenderedServiceStage;
    const broken = JSON.parse(JSON.stringify(d.deployment)) as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } };
    broken.spec.template.spec.containers[0].ports[0].containerPort = "8000";
    expect(() => validateK8s(broken as KubernetesObject)).toThrow(/containerPort must be integer/);
    const noName = JSON.parse(JSON.stringify(d.deployment)) as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    delete noName.spec.template.spec.containers[0].name;
    expect(() => validateK8s(noName as KubernetesObject)).toThrow(/containers\/0 must have required property name/);
  });

  for (const [label, p] of [
    ["the repository's bayes-serve.yaml", seed],
    ["a pipeline using every option", full],
  ] as const) {
    it(`${label}: every object, plus the retraining CronJob and its RBAC`, () => {
      const objects = all(p);
      expect(objects.length).toBeGreaterThanOrEqual(9);
      for (const o of objects) expect(() => validateK8s(o), `${o.kind}/${o.metadata?.name}`).not.toThrow();
    });

    it(`${label}: no field unknown to @kubernetes/client-node's models (nothing dropped on the wire)`, () => {
      for (const o of all(p)) expect(asSerialized(o), `${o.kind}/${o.metadata?.name}`).toEqual(JSON.parse(JSON.stringify(o)));
    });
  }

  it("the serializer check is live: a misspelt field is dropped and detected", () => {
    const d = (renderPipeline(seed.pipeline, opts).steps[1][0] as RenderedServiceStage).deployment;
    const typo = { ...d, spec: { ...d.spec, replica: 3 } } as KubernetesObject;
    expect(asSerialized(typo)).not.toEqual(JSON.parse(JSON.stringify(typo)));
  });
});

describe("what the manifests say", () => {
  const r = renderPipeline(seed.pipeline, opts);
  const job = (r.steps[0][0] as { job: V1Job }).job;
  const svc = r.steps[1][0] as RenderedServiceStage;
  const pod = (spec: V1PodSpec | undefined): V1PodSpec => spec ?? ({} as V1PodSpec);
  const c = (spec: V1PodSpec | undefined): V1Container => pod(spec).containers[0];

  it("the namespace comes first, then the DAG in order", () => {
    expect(renderedObjects(r).map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      "Namespace/pymc",
      "Job/bayes-serve--train-t1abc2def",
      "Deployment/bayes-serve--scoring-service",
      "Service/bayes-serve--scoring-service",
      "Ingress/bayes-serve--scoring-service",
    ]);
    expect(r.namespace.metadata?.labels?.["pod-security.kubernetes.io/warn"]).toBe("restricted");
  });

  it("a batch stage is a Job: backoffLimit = retries, activeDeadlineSeconds = max completion time, never restarts in place", () => {
    expect(job.spec?.backoffLimit).toBe(2);
    expect(job.spec?.activeDeadlineSeconds).toBe(900);
    expect(job.spec?.template.spec?.restartPolicy).toBe("Never");
    expect(c(job.spec?.template.spec).args).toEqual(["train", "--simulate", "--store", "s3://your-bucket/bayes-serve"]);
  });

  it("labels: app.kubernetes.io/*, pipeline, stage, git commit (selectors use only the stable ones)", () => {
    const labels = svc.deployment.metadata?.labels;
    expect(labels).toMatchObject({
      "app.kubernetes.io/name": "bayes-serve",
      "app.kubernetes.io/instance": "bayes-serve--scoring-service",
      "app.kubernetes.io/component": "service",
      "app.kubernetes.io/part-of": "bayes-serve",
      "app.kubernetes.io/managed-by": "bayes-serve",
      "bayes-serve/pipeline": "bayes-serve",
      "bayes-serve/stage": "scoring-service",
      "bayes-serve/git-commit": opts.gitCommit,
    });
    expect(svc.deployment.spec?.selector.matchLabels).toEqual({ "bayes-serve/pipeline": "bayes-serve", "bayes-serve/stage": "scoring-service" });
    expect(svc.deployment.spec?.template.metadata?.labels).toMatchObject(svc.deployment.spec?.selector.matchLabels ?? {});
    expect(svc.service.spec?.selector).toEqual(svc.deployment.spec?.selector.matchLabels);
    expect(job.metadata?.labels?.["bayes-serve/run"]).toBe("t1abc2def");
  });

  it("probes on the health endpoints; the startup probe allows the stage's max startup time", () => {
    const ctr = c(svc.deployment.spec?.template.spec);
    expect(ctr.ports).toEqual([{ name: "http", containerPort: 8000, protocol: "TCP" }]);
    expect(ctr.startupProbe?.httpGet).toEqual({ path: "/health/live", port: "http" });
    expect((ctr.startupProbe?.periodSeconds ?? 0) * (ctr.startupProbe?.failureThreshold ?? 0)).toBe(300);
    expect(ctr.readinessProbe?.httpGet?.path).toBe("/health/ready");
    expect(ctr.livenessProbe?.httpGet?.path).toBe("/health/live");
    expect(svc.deployment.spec?.progressDeadlineSeconds).toBe(300);
    expect(svc.deployment.spec?.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  it("a service pod waits before SIGTERM (preStop, the server's default grace period) and has time to drain after it", () => {
    const spec = svc.deployment.spec?.template.spec;
    expect(c(spec).lifecycle).toEqual({ preStop: { exec: { command: ["sleep", String(SHUTDOWN_GRACE_SECONDS)] } } });
    // preStop 5 s + the server's grace 5 s + its drain deadline 10 s, with 10 s to spare.
    expect(pod(spec).terminationGracePeriodSeconds).toBe(SHUTDOWN_GRACE_SECONDS * 2 + DEFAULT_SHUTDOWN_TIMEOUT_SECONDS + 10);
    expect(c(job.spec?.template.spec).lifecycle).toBeUndefined();
    // A stage that sets its own shutdown times gets room for them.
    const own = parsePipeline(
      FULL_PIPELINE.replace('args: [serve, --port, "9000"]', 'args: [serve, --port, "9000", --shutdown-grace, "20", "--shutdown-timeout=60"]'),
    );
    const slow = renderPipeline(own.pipeline, opts).steps[1][1] as RenderedServiceStage;
    expect(pod(slow.deployment.spec?.template.spec).terminationGracePeriodSeconds).toBe(SHUTDOWN_GRACE_SECONDS + 20 + 60 + 10);
  });

  it("the service gets the serving V8 heap settings as NODE_OPTIONS (a stage's own NODE_OPTIONS wins); jobs do not", () => {
    expect(c(svc.deployment.spec?.template.spec).env).toContainEqual({ name: "NODE_OPTIONS", value: SERVING_NODE_OPTIONS });
    expect(c(job.spec?.template.spec).env?.some((e) => e.name === "NODE_OPTIONS")).toBe(false);
    const own = parsePipeline(
      FULL_PIPELINE.replace('args: [serve, --port, "9000"]', 'args: [serve, --port, "9000"]\n    env: { NODE_OPTIONS: "--max-old-space-size=512" }'),
    );
    const mine = renderPipeline(own.pipeline, opts).steps[1][1] as RenderedServiceStage;
    const env = c(mine.deployment.spec?.template.spec).env ?? [];
    expect(env.filter((e) => e.name === "NODE_OPTIONS")).toEqual([{ name: "NODE_OPTIONS", value: "--max-old-space-size=512" }]);
  });

  it("the pipeline's log level reaches `serve` as --log-level (and every container as LOG_LEVEL)", () => {
    expect(c(svc.deployment.spec?.template.spec).args).toEqual([
      "serve",
      "--model",
      "s3://your-bucket/bayes-serve",
      "--port",
      "8000",
      "--poll-interval",
      "60",
      "--log-level",
      "info",
    ]);
    const own = parsePipeline(FULL_PIPELINE.replace('args: [serve, --port, "9000"]', 'args: [serve, --port, "9000", --log-level=warn]'));
    const admin = renderPipeline(own.pipeline, opts).steps[1][1] as RenderedServiceStage;
    expect(c(admin.deployment.spec?.template.spec).args).toEqual(["serve", "--port", "9000", "--log-level=warn"]);
  });

  it("resources, a non-root read-only container with /tmp writable, secrets as secretKeyRef env", () => {
    for (const spec of [svc.deployment.spec?.template.spec, job.spec?.template.spec]) {
      const ctr = c(spec);
      expect(pod(spec).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } });
      expect(ctr.securityContext).toEqual({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
      expect(ctr.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
      expect(pod(spec).volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }]);
      expect(pod(spec).automountServiceAccountToken).toBe(false);
      expect(ctr.resources).toEqual({ requests: { cpu: "1", memory: "750M" }, limits: { memory: "750M" } });
      expect(ctr.env).toContainEqual({ name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "aws-credentials", key: "AWS_SECRET_ACCESS_KEY" } } });
      expect(ctr.env).toContainEqual({ name: "LOG_LEVEL", value: "info" });
    }
  });

  it("the ingress serves /<namespace>/<name>/… and strips the prefix (ingress-nginx), as the seed's URL", () => {
    const ing = svc.ingress;
    expect(ing?.spec?.ingressClassName).toBe("nginx");
    expect(ing?.metadata?.annotations).toEqual({ "nginx.ingress.kubernetes.io/rewrite-target": "/$2" });
    const path = ing?.spec?.rules?.[0].http?.paths[0];
    expect(path?.path).toBe("/pymc/bayes-serve--scoring-service(/|$)(.*)");
    expect(path?.pathType).toBe("ImplementationSpecific");
    expect(path?.backend.service).toEqual({ name: "bayes-serve--scoring-service", port: { name: "http" } });
    const m = new RegExp(`^${path?.path}$`).exec("/pymc/bayes-serve--scoring-service/predict/v1.0.0/point");
    expect(`/${m?.[2]}`).toBe("/predict/v1.0.0/point");
  });

  it("every option: autoscaling (no replicas in the Deployment), PDBs, side-by-side stages, host ingress without rewrite", () => {
    const f = renderPipeline(full.pipeline, opts);
    expect(f.steps.map((s) => s.map((x) => x.stage.name))).toEqual([
      ["prepare", "train"],
      ["api", "admin"],
    ]);
    const api = f.steps[1][0] as RenderedServiceStage;
    const admin = f.steps[1][1] as RenderedServiceStage;
    expect(api.deployment.spec?.replicas).toBeUndefined();
    expect(api.hpa?.spec).toMatchObject({ minReplicas: 2, maxReplicas: 6, scaleTargetRef: { kind: "Deployment", name: "full--api" } });
    expect(api.hpa?.spec?.metrics?.[0].resource?.target).toEqual({ type: "Utilization", averageUtilization: 70 });
    expect(api.pdb?.spec?.minAvailable).toBe(1);
    expect(admin.pdb?.spec?.maxUnavailable).toBe("50%");
    expect(admin.deployment.spec?.replicas).toBe(3);
    expect(api.ingress?.spec?.rules?.[0]).toEqual({
      host: "models.example.com",
      http: { paths: [{ path: "/models/api", pathType: "Prefix", backend: { service: { name: "full--api", port: { name: "http" } } } }] },
    });
    expect(api.ingress?.metadata?.annotations).toEqual({ "traefik.ingress.kubernetes.io/router.middlewares": "models-strip@kubernetescrd" });
    const apiCtr = c(api.deployment.spec?.template.spec);
    expect(apiCtr.readinessProbe?.httpGet?.path).toBe("/readyz");
    const prep = (f.steps[0][0] as { job: V1Job }).job;
    const prepCtr = c(prep.spec?.template.spec);
    expect(prepCtr.command).toEqual(["node", "dist/cli/main.js"]);
    expect(prepCtr.imagePullPolicy).toBe("Always");
    expect(prepCtr.resources).toEqual({ requests: { cpu: "500m", memory: "256M" }, limits: { cpu: "1500m", memory: "512M" } });
    expect(prepCtr.env).toContainEqual({ name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "s3-creds", key: "secret-key" } } });
    expect(prepCtr.env).toContainEqual({ name: "SEED", value: "7" });
    expect(prep.spec?.template.spec?.imagePullSecrets).toEqual([{ name: "registry-creds" }]);
    expect(prep.spec?.template.spec?.securityContext?.runAsUser).toBe(10001);
    expect(prep.spec?.backoffLimit).toBe(0);
  });

  it("the retraining CronJob: batch/v1, Forbid, history limits, runs `deploy update` in-cluster with a least-privilege Role", () => {
    const rt = renderRetraining(seed.pipeline, { schedule: "0 3 * * *", gitCommit: "abc1234", pipelineText: seed.text });
    const cj: V1CronJob = rt.cronJob;
    expect(cj.apiVersion).toBe("batch/v1");
    expect(cj.spec).toMatchObject({ schedule: "0 3 * * *", concurrencyPolicy: "Forbid", successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3 });
    const podSpec = cj.spec?.jobTemplate.spec?.template.spec;
    expect(podSpec?.serviceAccountName).toBe("bayes-serve--retrain");
    expect(c(podSpec).args).toEqual(["deploy", "update", "--file", "/etc/bayes-serve/bayes-serve.yaml", "--git-commit", "abc1234", "--skip-namespace"]);
    expect(cj.spec?.jobTemplate.spec?.activeDeadlineSeconds).toBe(pipelineBudgetSeconds(seed.pipeline));
    expect(pipelineBudgetSeconds(seed.pipeline)).toBe(120 + 930 + 330);
    expect(rt.configMap.data?.["bayes-serve.yaml"]).toBe(seed.text);
    expect(rt.roleBinding.subjects).toEqual([{ kind: "ServiceAccount", name: "bayes-serve--retrain", namespace: "pymc" }]);
    const secretRule = rt.role.rules?.find((x) => x.resources?.includes("secrets"));
    expect(secretRule).toEqual({ apiGroups: [""], resources: ["secrets"], resourceNames: ["aws-credentials"], verbs: ["get"] });
    expect(rt.role.rules?.some((x) => x.resources?.includes("namespaces"))).toBe(false);
    expect(rt.role.rules?.find((x) => x.apiGroups?.includes("apps"))?.verbs).toEqual(["get", "list", "create", "patch", "delete"]);
  });

  it("rejects a malformed schedule, git commit or run id before rendering anything", () => {
    const bad = (f: () => unknown, re: RegExp) => {
      expect(f).toThrow(BayesServeError);
      expect(f).toThrow(re);
    };
    bad(() => renderRetraining(seed.pipeline, { schedule: "every day", gitCommit: "a", pipelineText: "" }), /not a cron schedule: expected five fields/);
    expect(renderRetraining(seed.pipeline, { schedule: "@daily", gitCommit: "a", pipelineText: "" }).cronJob.spec?.schedule).toBe("@daily");
    bad(() => renderPipeline(seed.pipeline, { gitCommit: "not a sha!", runId: "x" }), /--git-commit "not a sha!" cannot be a Kubernetes label value/);
    bad(() => renderPipeline(seed.pipeline, { gitCommit: "abc", runId: "Upper_Case" }), /run id "Upper_Case" must be 1-10 lower-case letters or digits/);
  });

  it("is pure and deterministic; run ids are 10 lower-case base-36 characters", () => {
    expect(toYaml(renderedObjects(renderPipeline(seed.pipeline, opts)))).toBe(toYaml(renderedObjects(renderPipeline(seed.pipeline, opts))));
    const id = newRunId(Date.UTC(2026, 0, 1), () => 0.5);
    expect(id).toMatch(/^[a-z0-9]{10}$/);
    expect(newRunId(Date.UTC(2026, 0, 1) + 1000, () => 0.5) > id).toBe(true);
    expect(cpuQuantity(1)).toBe("1");
    expect(cpuQuantity(0.25)).toBe("250m");
  });

  it("toYaml: one document per object, no YAML aliases, parses back to the same objects", () => {
    const objects = all();
    const text = toYaml(objects);
    expect(text).not.toMatch(/[&*]a\d/);
    const docs = parseAllDocuments(text).map((d) => d.toJS() as unknown);
    expect(docs).toEqual(JSON.parse(JSON.stringify(objects)));
  });
});
