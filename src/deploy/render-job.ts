// A batch stage as one Job of this run (or, with chains as pods, the chains' Job and the merge's: chains-as-pods.ts).
import type { V1Job } from "@kubernetes/client-node";
import { EXIT_NOT_PROMOTED } from "../train/promotion.js";
import { renderChainsAsPods } from "./chains-as-pods.js";
import { LABEL_RUN, stageLabels } from "./labels.js";
import { stageResourceName, type BatchStage, type Pipeline } from "./pipeline.js";
import type { RenderedBatchStage, RenderOptions } from "./render.js";
import { podSpec } from "./stage-pod.js";

export function renderBatchStage(pipeline: Pipeline, stage: BatchStage, options: RenderOptions): RenderedBatchStage {
  if (stage.batch.chainsAsPods !== undefined) return renderChainsAsPods(pipeline, stage, options);
  const base = stageResourceName(pipeline, stage.name);
  const name = `${base}-${options.runId}`;
  const labels = { ...stageLabels(pipeline, stage, options.gitCommit), [LABEL_RUN]: options.runId };
  const job: V1Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: pipeline.namespace, labels },
    spec: {
      backoffLimit: stage.batch.retries,
      activeDeadlineSeconds: stage.batch.maxCompletionTimeSeconds,
      // A fit the gate refused is stored and reported; running it again would store another refused fit. Retries are
      // for crashes and lost nodes (batch/v1 podFailurePolicy, Kubernetes ≥ 1.26).
      podFailurePolicy: {
        rules: [{ action: "FailJob", onExitCodes: { containerName: stage.name, operator: "In", values: [EXIT_NOT_PROMOTED] } }],
      },
      completions: 1,
      parallelism: 1,
      template: {
        metadata: { labels },
        spec: podSpec(pipeline, stage, options, "Never"),
      },
    },
  };
  return { type: "batch", stage, name, job };
}
