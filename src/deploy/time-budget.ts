// How long the orchestrator waits for a stage, and a whole pipeline run may take (the retraining Job's deadline).
import type { Pipeline } from "./pipeline.js";

/** Extra seconds allowed on top of a stage's own budget before the orchestrator gives up waiting. */
export const GRACE_SECONDS = 30;

/** Seconds a whole pipeline run may take: every step's largest budget plus grace, plus a margin for the deployer. */
export function pipelineBudgetSeconds(pipeline: Pipeline): number {
  let total = 120;
  for (const step of pipeline.dag) {
    let longest = 0;
    for (const name of step) {
      const s = pipeline.stages[name];
      if (s === undefined) continue;
      const budget = s.type === "batch" ? s.batch.maxCompletionTimeSeconds : s.service.maxStartupTimeSeconds;
      // Chains as pods: the chains' Job, then the merge's, each with the stage's budget.
      longest = Math.max(longest, (budget + GRACE_SECONDS) * (s.type === "batch" && s.batch.chainsAsPods !== undefined ? 2 : 1));
    }
    total += longest;
  }
  return total;
}
