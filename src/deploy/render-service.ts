// A service stage as its long-running objects: the Deployment (rolled out one surge pod at a time), its ClusterIP
// Service and, as the pipeline asks, an Ingress, a HorizontalPodAutoscaler and a PodDisruptionBudget. They share one
// name and one set of labels, and select the pods by the pipeline and stage labels alone.
import type { V1Deployment, V1Ingress, V1PodDisruptionBudget, V1Service, V2HorizontalPodAutoscaler } from "@kubernetes/client-node";
import { ANNOTATION_RESTARTED_AT, selectorLabels, stageLabels } from "./labels.js";
import {
  stageResourceName,
  type AutoscalingSettings,
  type DisruptionBudgetSettings,
  type IngressSettings,
  type Pipeline,
  type ServiceStage,
} from "./pipeline.js";
import type { RenderedServiceStage, RenderOptions } from "./render.js";
import { podSpec } from "./stage-pod.js";

/** What every object of a service stage shares: its name, namespace and labels, and the selector of its pods. */
interface ServiceObjectBase {
  name: string;
  meta: { name: string; namespace: string; labels: Record<string, string> };
  selector: Record<string, string>;
}

export function renderServiceStage(pipeline: Pipeline, stage: ServiceStage, options: RenderOptions): RenderedServiceStage {
  const name = stageResourceName(pipeline, stage.name);
  const labels = stageLabels(pipeline, stage, options.gitCommit);
  const base: ServiceObjectBase = { name, meta: { name, namespace: pipeline.namespace, labels }, selector: selectorLabels(pipeline, stage.name) };
  const out: RenderedServiceStage = {
    type: "service",
    stage,
    name,
    deployment: renderDeployment(pipeline, stage, options, base),
    service: renderService(stage, base),
  };
  const svc = stage.service;
  if (svc.ingress !== undefined) out.ingress = renderIngress(svc.ingress, base);
  if (svc.autoscaling !== undefined) out.hpa = renderAutoscaler(svc.autoscaling, base);
  if (svc.podDisruptionBudget !== undefined) out.pdb = renderDisruptionBudget(svc.podDisruptionBudget, base);
  return out;
}

function renderDeployment(pipeline: Pipeline, stage: ServiceStage, options: RenderOptions, { meta, selector }: ServiceObjectBase): V1Deployment {
  const svc = stage.service;
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { ...meta, annotations: { "bayes-serve/port": String(svc.port) } },
    spec: {
      // With an autoscaler the replica count is left to it; applying one here would fight it on every update.
      ...(svc.autoscaling === undefined ? { replicas: svc.replicas } : {}),
      revisionHistoryLimit: 5,
      progressDeadlineSeconds: svc.maxStartupTimeSeconds,
      selector: { matchLabels: selector },
      // Surge one new pod at a time and never take an old one down first: the old version keeps serving until the
      // new one is ready, so a failed rollout costs nothing and the rollback is instant.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: meta.labels,
          ...(options.restartedAt !== undefined ? { annotations: { [ANNOTATION_RESTARTED_AT]: options.restartedAt } } : {}),
        },
        spec: podSpec(pipeline, stage, options, "Always"),
      },
    },
  };
}

function renderService(stage: ServiceStage, { meta, selector }: ServiceObjectBase): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta,
    spec: {
      type: "ClusterIP",
      selector,
      ports: [{ name: "http", port: stage.service.port, targetPort: "http", protocol: "TCP" }],
    },
  };
}

function renderIngress(ing: IngressSettings, { name, meta }: ServiceObjectBase): V1Ingress {
  const rewrite = ing.stripPrefix && ing.path !== "/";
  const prefix = ing.path.replace(/\/+$/, "");
  const annotations: Record<string, string> = {
    // ingress-nginx: `/pymc/name/predict/...` reaches the service as `/predict/...`.
    ...(rewrite ? { "nginx.ingress.kubernetes.io/rewrite-target": "/$2" } : {}),
    ...ing.annotations,
  };
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { ...meta, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: {
      ingressClassName: ing.className,
      rules: [
        {
          ...(ing.host !== undefined ? { host: ing.host } : {}),
          http: {
            paths: [
              {
                path: rewrite ? `${prefix}(/|$)(.*)` : ing.path,
                pathType: rewrite ? "ImplementationSpecific" : "Prefix",
                backend: { service: { name, port: { name: "http" } } },
              },
            ],
          },
        },
      ],
    },
  };
}

function renderAutoscaler(autoscaling: AutoscalingSettings, { name, meta }: ServiceObjectBase): V2HorizontalPodAutoscaler {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: meta,
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
      minReplicas: autoscaling.minReplicas,
      maxReplicas: autoscaling.maxReplicas,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: autoscaling.targetCpuUtilization } },
        },
      ],
    },
  };
}

function renderDisruptionBudget(b: DisruptionBudgetSettings, { meta, selector }: ServiceObjectBase): V1PodDisruptionBudget {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta,
    spec: {
      selector: { matchLabels: selector },
      ...(b.minAvailable !== undefined ? { minAvailable: b.minAvailable } : {}),
      ...(b.maxUnavailable !== undefined ? { maxUnavailable: b.maxUnavailable } : {}),
    },
  };
}
