/**
 * The ArviZ diagnostics test vector (test/fixtures/arviz-diagnostics): values computed by
 * the R package posterior on two CmdStan chains of the "blocker" model. ArviZ asserts agreement
 * within 1e-8; so do we, for every parameter and every diagnostic.
 */
import { describe, expect, it } from "vitest";
import {
  essBasic,
  essBulk,
  essMean,
  essMedian,
  essQuantile,
  essSd,
  essTail,
  mcseMean,
  mcseMedian,
  mcseQuantile,
  mcseSd,
  rhat,
  rhatBasic,
  type Chains,
} from "../../src/diagnostics/index.js";
import { parameterNames, readCmdStanCsv, readRTable, testdataPath } from "./testdata.js";

const chain1 = readCmdStanCsv(testdataPath("arviz-diagnostics", "blocker.1.csv"));
const chain2 = readCmdStanCsv(testdataPath("arviz-diagnostics", "blocker.2.csv"));
const reference = readRTable(testdataPath("arviz-diagnostics", "reference_posterior.csv"));

const diagnostics: Record<string, (x: Chains) => number> = {
  rhat_rank: rhat,
  rhat_raw: (x) => rhatBasic(x, false),
  ess_bulk: essBulk,
  ess_tail: essTail,
  ess_mean: essMean,
  ess_sd: essSd,
  ess_median: essMedian,
  ess_raw: (x) => essBasic(x, false),
  ess_quantile01: (x) => essQuantile(x, 0.01),
  ess_quantile10: (x) => essQuantile(x, 0.1),
  ess_quantile30: (x) => essQuantile(x, 0.3),
  mcse_mean: mcseMean,
  mcse_sd: mcseSd,
  mcse_median: mcseMedian,
  mcse_quantile01: (x) => mcseQuantile(x, 0.01),
  mcse_quantile10: (x) => mcseQuantile(x, 0.1),
  mcse_quantile30: (x) => mcseQuantile(x, 0.3),
};

/** Tolerance asked of the implementation; ArviZ uses the same. */
const REL_TOL = 1e-8;

describe("posterior reference vector (blocker, 2 chains x 1000 draws)", () => {
  it("has the expected shape", () => {
    expect(chain1.get("lp__")?.length).toBe(1000);
    expect(chain2.get("lp__")?.length).toBe(1000);
    expect(parameterNames(chain1)).toEqual(parameterNames(chain2));
    expect([...reference.rows.keys()].sort()).toEqual(parameterNames(chain1).sort());
    expect([...reference.columns].sort()).toEqual(Object.keys(diagnostics).sort());
  });

  for (const column of Object.keys(diagnostics)) {
    it(`${column} agrees to ${REL_TOL} relative for every parameter`, () => {
      const colIndex = reference.columns.indexOf(column);
      let worst = 0;
      for (const [name, values] of reference.rows) {
        const chains = [chain1.get(name)!, chain2.get(name)!];
        const got = diagnostics[column](chains);
        const want = values[colIndex];
        const rel = Math.abs(got - want) / Math.abs(want);
        if (!(rel <= REL_TOL)) expect.fail(`${column}[${name}]: got ${got}, want ${want} (rel ${rel})`);
        worst = Math.max(worst, rel);
      }
      // Report the worst case so the achieved accuracy is visible in verbose runs.
      console.info(`${column}: max relative error ${worst.toExponential(2)}`);
    });
  }
});
