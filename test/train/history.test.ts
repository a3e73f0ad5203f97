// `bayes-serve models history | rollback | compare`: three real fits in one store (a good one, a worse one the gate
// refuses, another good one), listed newest first with their scores and verdicts; latest moved back past the refused
// version; two versions compared on fresh rows as loo_compare prints it.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/artifact/store.js";
import { register as registerModels } from "../../src/cli/models.js";
import { BayesServeError } from "../../src/errors.js";
import { oneSlope } from "../support/one-slope.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { SEED_SIMULATION, train } from "../../src/train/pipeline.js";
import { seedCsv } from "../../src/train/simulate.js";

const short = { draws: 300, tune: 300, chains: 2, testFraction: 0.2, progress: false, report: false } as const;
const gate = { maxRhat: 1.05, minEssBulk: 100, minEssTail: 100, maxDivergences: 0 };

async function run(args: string[]): Promise<string> {
  let out = "";
  const program = new Command().name("bayes-serve").exitOverride();
  registerModels(program, { output: { stdout: (s: string) => void (out += s) } });
  await program.parseAsync(args, { from: "user" });
  return out;
}

describe("models history, rollback and compare", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "history-"));
  const versions: string[] = [];
  const fresh = path.join(dir, "fresh.csv");

  beforeAll(async () => {
    const fits = [
      { seed: 1, model: seedRegression },
      { seed: 2, model: oneSlope },
      { seed: 3, model: seedRegression },
    ];
    for (const f of fits) {
      const r = await train({ ...short, ...f, source: { simulate: SEED_SIMULATION }, store: dir, gate });
      if (r.version === null) throw new Error(`fit ${f.seed} was not stored: ${r.gate.failures.join("; ")}`);
      versions.push(r.version);
    }
    writeFileSync(fresh, seedCsv({ ...SEED_SIMULATION, rows: 300, seed: 7 }));
  }, 600_000);

  it("lists every version newest first, with data, held-out score, gate and comparison", async () => {
    const entries = JSON.parse(await run(["models", "history", "--store", dir, "--json"])) as {
      version: string;
      latest: boolean;
      model: string;
      data: { rows: number };
      metrics: Record<string, number>;
      gate: { passed: boolean; failures: string[] };
      comparison: { against: string; refused: boolean; elpd_diff: number } | null;
    }[];
    expect(entries.map((e) => e.version)).toEqual([...versions].reverse());
    expect(entries.map((e) => e.latest)).toEqual([true, false, false]);
    const [third, second, first] = entries;
    expect(first.comparison).toBeNull();
    expect(second.model).toBe("one-slope");
    expect(second.gate.passed).toBe(false);
    expect(second.comparison).toMatchObject({ against: versions[0], refused: true });
    expect(second.comparison!.elpd_diff).toBeLessThan(0);
    expect(third.comparison).toMatchObject({ against: versions[0], refused: false });
    for (const e of entries) {
      expect(e.data.rows).toBe(SEED_SIMULATION.rows);
      expect(e.metrics.elpd_holdout).toBeTypeOf("number");
    }

    const lines = (await run(["models", "history", "--store", dir])).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ {2}VERSION\s+MODEL\s+DATA\s+ELPD HELD-OUT\s+GATE\s+AGAINST LATEST$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^\\* ${versions[2]}\\s+seed-regression\\s+2000 rows \\([0-9a-f]{8}\\)\\s+-?\\d+\\.\\d ± \\d+\\.\\d\\s+passed\\s+-?\\d+\\.\\d ± \\d+\\.\\d vs ${versions[0]}$`,
      ),
    );
    expect(lines[2]).toMatch(new RegExp(`^  ${versions[1]}\\s+one-slope\\s.*FAILED \\(1\\)\\s+REFUSED -\\d+\\.\\d ± \\d+\\.\\d vs ${versions[0]}$`));
    expect(lines[3]).toMatch(new RegExp(`^  ${versions[0]}\\s.*passed\\s+-$`));
  });

  it("compares two versions on fresh rows: the better first, the difference and its SE", async () => {
    const text = await run(["models", "compare", versions[1], "latest", "--store", dir, "--data", fresh]);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe(`300 rows of ${fresh}; elpd = Σ log mean_s p(y_i | x_i, θ_s)`);
    expect(lines[1]).toMatch(/^\s+elpd_diff\s+se_diff\s+elpd\s+se_elpd$/);
    expect(lines[2]).toMatch(new RegExp(`^${versions[2]}\\s+0\\.0\\s+0\\.0\\s+-\\d+\\.\\d\\s+\\d+\\.\\d$`));
    expect(lines[3]).toMatch(new RegExp(`^${versions[1]}\\s+-\\d+\\.\\d\\s+\\d+\\.\\d\\s+-\\d+\\.\\d\\s+\\d+\\.\\d$`));

    const json = JSON.parse(await run(["models", "compare", versions[1], versions[2], "--store", dir, "--data", fresh, "--json"])) as {
      rows: number;
      a: { elpd: number };
      b: { elpd: number };
      elpd_diff: number;
      se_diff: number;
    };
    expect(json.rows).toBe(300);
    // elpd_diff is b − a: the three-slope model predicts the seed's data much better than one slope.
    expect(json.elpd_diff).toBeCloseTo(json.b.elpd - json.a.elpd, 9);
    expect(json.elpd_diff).toBeGreaterThan(4 * json.se_diff);
  });

  it("refuses a CSV without the target, naming the column", async () => {
    const bad = path.join(dir, "bad.csv");
    writeFileSync(bad, "x,category\n1,0\n");
    await expect(run(["models", "compare", versions[0], versions[2], "--store", dir, "--data", bad])).rejects.toThrow(/bad\.csv.*missing column\(s\) "y"/);
  });

  it("rolls latest back past the refused version, and says when there is nothing to roll back to", async () => {
    expect(await run(["models", "rollback", "--store", dir])).toBe(`latest: ${versions[2]} -> ${versions[0]} in ${dir}\n`);
    expect(await openStore(dir).readLatest()).toBe(versions[0]);
    const err = await run(["models", "rollback", "--store", dir]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as BayesServeError).message).toBe(`no version before ${versions[0]} in ${dir} passed its gate: nothing to roll back to`);
  });

  it("rolls back in the order versions were made, within one second too (not by their ids' random suffixes)", async () => {
    const same = mkdtempSync(path.join(tmpdir(), "history-same-second-"));
    const store = openStore(same);
    const bundle = await openStore(dir).readBundle(versions[0]);
    // Three versions made in one second, their ids' suffixes in the opposite order.
    const ids = ["20261207T221418Z-f00000", "20261207T221418Z-a00000", "20261207T221418Z-000000"];
    for (const [k, id] of ids.entries())
      await store.publish({ ...bundle, manifest: { ...bundle.manifest, version: id, createdAt: `2026-12-07T22:14:18.${100 + k}Z` } });
    expect(await run(["models", "rollback", "--store", same])).toBe(`latest: ${ids[2]} -> ${ids[1]} in ${same}\n`);
    expect(await run(["models", "rollback", "--store", same])).toBe(`latest: ${ids[1]} -> ${ids[0]} in ${same}\n`);
    await expect(run(["models", "rollback", "--store", same])).rejects.toThrow(`no version before ${ids[0]} in ${same} passed its gate`);
  });
});
