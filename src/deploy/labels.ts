// The marks bayes-serve puts on the Kubernetes objects it renders: the field manager of its server-side applies, the
// labels saying which pipeline, stage, run and commit an object belongs to (what status, logs, delete and the
// orchestrator select by), and the check that a git commit can be a label's value.
import { BayesServeError } from "../errors.js";
import { stageResourceName, type Pipeline, type Stage } from "./pipeline.js";

export const FIELD_MANAGER = "bayes-serve";
export const LABEL_PIPELINE = "bayes-serve/pipeline";
export const LABEL_STAGE = "bayes-serve/stage";
export const LABEL_GIT_COMMIT = "bayes-serve/git-commit";
export const LABEL_RUN = "bayes-serve/run";
export const ANNOTATION_RESTARTED_AT = "bayes-serve/restarted-at";

/** Kubernetes' label value: at most 63 characters, alphanumeric at both ends, '-', '_' or '.' between. */
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Labels on every object of a stage. The selector uses only the pipeline and stage labels, which never change. */
export function stageLabels(pipeline: Pipeline, stage: Stage, gitCommit: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "bayes-serve",
    "app.kubernetes.io/instance": stageResourceName(pipeline, stage.name),
    "app.kubernetes.io/component": stage.type,
    "app.kubernetes.io/part-of": pipeline.name,
    "app.kubernetes.io/managed-by": FIELD_MANAGER,
    [LABEL_PIPELINE]: pipeline.name,
    [LABEL_STAGE]: stage.name,
    [LABEL_GIT_COMMIT]: gitCommit,
  };
}

export function selectorLabels(pipeline: Pipeline, stageName: string): Record<string, string> {
  return { [LABEL_PIPELINE]: pipeline.name, [LABEL_STAGE]: stageName };
}

/** Labels on every object of the retraining CronJob named `name`: a stage's, less the stage. */
export function retrainingLabels(pipeline: Pipeline, name: string, gitCommit: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "bayes-serve",
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/component": "retraining",
    "app.kubernetes.io/part-of": pipeline.name,
    "app.kubernetes.io/managed-by": FIELD_MANAGER,
    [LABEL_PIPELINE]: pipeline.name,
    [LABEL_GIT_COMMIT]: gitCommit,
  };
}

export function checkGitCommitLabel(gitCommit: string): void {
  if (gitCommit === "" || !LABEL_VALUE.test(gitCommit)) {
    throw new BayesServeError(
      "CONFIG",
      `--git-commit "${gitCommit}" cannot be a Kubernetes label value: expected at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
    );
  }
}
