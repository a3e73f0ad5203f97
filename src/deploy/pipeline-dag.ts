// The pipeline's DAG, `train >> scoring-service` ('>>' between steps, ',' between stages that run side by side): its
// parsing, and its checks against the stages defined (each named stage defined, none twice, none after itself).
import { closest } from "../schema/edit-distance.js";
import { DNS_LABEL } from "./pipeline-schema.js";

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
 * The DAG `text` parsed and checked against the stages defined: unknown stages (with the nearest defined name),
 * duplicates inside a step, and stages that come back in a later step (a cycle) go to `fail`; a stage defined but
 * in no step is a warning (it is not deployed).
 */
export function checkDag(text: string, stageNames: readonly string[], fail: (message: string) => void, warn: (message: string) => void): string[][] {
  const dag = parseDag(text, fail);
  const defined = new Set(stageNames);
  const firstStep = new Map<string, number>();
  dag.forEach((step, i) => {
    const seenHere = new Set<string>();
    for (const name of step) {
      if (!defined.has(name)) {
        const near = closest(name, stageNames);
        fail(
          `unknown stage "${name}" in step ${i + 1}: the stages defined are ${stageNames.map((s) => `"${s}"`).join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`,
        );
      }
      if (seenHere.has(name)) {
        fail(`stage "${name}" is listed twice in step ${i + 1} (duplicate)`);
        continue;
      }
      seenHere.add(name);
      const earlier = firstStep.get(name);
      if (earlier !== undefined) {
        fail(`cycle: stage "${name}" runs in step ${earlier + 1} and again in step ${i + 1}, so it would depend on itself; each stage may appear once`);
      } else {
        firstStep.set(name, i);
      }
    }
  });
  for (const name of stageNames) {
    if (!firstStep.has(name)) warn(`stages.${name}: defined but not in the DAG "${text}"; it will not be deployed`);
  }
  return dag;
}
