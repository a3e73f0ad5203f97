// PSIS-LOO against R's loo package (2.5.1, r_eff = 1) on four log-likelihood matrices (test/fixtures/loo: rebuilt
// here from their seeded generator; R's numbers in reference.json): elpd_loo, p_loo, looic and their SEs, every
// pointwise value and Pareto k̂ to 1e-6, the 0.7 warnings where the outliers are, and loo_compare.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loo, looCompare } from "../../src/diagnostics/index.js";
import { LOO_CASES } from "../fixtures/loo/cases.js";

interface RCase {
  elpd_loo: number;
  se_elpd_loo: number;
  p_loo: number;
  se_p_loo: number;
  looic: number;
  se_looic: number;
  pointwise_elpd: number[];
  pointwise_p: number[];
  pareto_k: number[];
}
const reference = JSON.parse(readFileSync(path.join(import.meta.dirname, "..", "fixtures", "loo", "reference.json"), "utf8")) as {
  cases: Record<string, RCase>;
  compare: { rows: string[]; elpd_diff: number[]; se_diff: number[] };
};

const close = (ours: number, theirs: number, what: string): void => {
  expect(Math.abs(ours - theirs), `${what}: ours ${ours}, R ${theirs}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(theirs)));
};

describe("loo() agrees with R's loo package", () => {
  it.each(LOO_CASES.map((c) => ({ name: c.name, c })))("$name", ({ c }) => {
    const r = reference.cases[c.name];
    const ours = loo(c.logLik, c.draws, c.obs);
    close(ours.elpd, r.elpd_loo, "elpd_loo");
    close(ours.se, r.se_elpd_loo, "SE(elpd_loo)");
    close(ours.pLoo, r.p_loo, "p_loo");
    close(ours.pLooSe, r.se_p_loo, "SE(p_loo)");
    close(ours.looic, r.looic, "looic");
    close(ours.looicSe, r.se_looic, "SE(looic)");
    for (let i = 0; i < c.obs; i++) {
      close(ours.pointwise.elpd[i], r.pointwise_elpd[i], `elpd_loo[${i}]`);
      close(ours.pointwise.pLoo[i], r.pointwise_p[i], `p_loo[${i}]`);
      close(ours.pointwise.k[i], r.pareto_k[i], `k[${i}]`);
    }
  });

  it("flags the outliers: k̂ above 0.7 where the normal model meets them, none for the Student-t model", () => {
    const normal = LOO_CASES.find((c) => c.name === "normal-outliers")!;
    const student = LOO_CASES.find((c) => c.name === "student-outliers")!;
    const n = loo(normal.logLik, normal.draws, normal.obs);
    expect(n.warnings.above07).toBeGreaterThan(0);
    expect(Array.from(n.pointwise.k.slice(47)).every((k) => k > 0.5)).toBe(true);
    expect(loo(student.logLik, student.draws, student.obs).warnings.above07).toBe(0);
  });

  it("loo_compare: the elpd difference and its SE", () => {
    const normal = LOO_CASES.find((c) => c.name === "normal-outliers")!;
    const student = LOO_CASES.find((c) => c.name === "student-outliers")!;
    const a = loo(student.logLik, student.draws, student.obs);
    const b = loo(normal.logLik, normal.draws, normal.obs);
    const d = looCompare(a.pointwise.elpd, b.pointwise.elpd);
    expect(reference.compare.rows).toEqual(["student", "normal"]);
    close(d.elpdDiff, reference.compare.elpd_diff[1], "elpd_diff");
    close(d.seDiff, reference.compare.se_diff[1], "se_diff");
  });
});
