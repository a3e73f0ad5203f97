// `npm run validate`: each family added for users' GLMs (Weibull, GammaMean, BetaProportion, Bernoulli by
// probability and BernoulliProbit, Binomial, Poisson by rate, NegativeBinomialLog) in a small regression on simulated
// data (test/fixtures/stan-families), trained, served and compared with a long Stan run of the same model at two
// instances, as the worked examples are (stan-comparison.ts): /mean and /interval within 3 % of Stan's widths.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, it } from "vitest";
import { csvOf, FAMILY_CASES } from "../fixtures/stan-families/models.js";
import { compareWithStan, REFERENCE, TOLERANCE } from "./stan-comparison.js";

const work = mkdtempSync(path.join(tmpdir(), "bayes-serve-validate-families-"));
const lines: string[] = [];
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  process.stderr.write(`\nfamilies vs Stan (limit ${TOLERANCE}):\n  ${lines.join("\n  ")}\n`);
});

/** The Stan run each case is compared with: the probability parameterisation fits the probit data and model. */
const referenceOf = (name: string): string => (name === "bernoulli-probability" ? "bernoulli-probit" : name);

describe("the GLM families against long Stan runs", () => {
  it.each(FAMILY_CASES.map((c) => ({ name: c.name, c })))("$name: /mean and /interval within 3 % of Stan's interval widths", async ({ c }) => {
    lines.push(await compareWithStan(c.name, c.model, csvOf(c), work, REFERENCE[referenceOf(c.name)]));
  });
});
