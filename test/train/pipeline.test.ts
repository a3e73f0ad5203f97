// The train pipeline end to end: real sampling (short chains), real report, real stores (a folder and s3rver).
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/artifact/store.js";
import { BayesServeError } from "../../src/errors.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { ignoredColumnsNote, SEED_SIMULATION, train } from "../../src/train/pipeline.js";
import { useS3Server } from "../support/s3-server.js";

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const short = { seed: 3, draws: 400, tune: 300, chains: 2, testFraction: 0.2, progress: false } as const;
const tmp = () => mkdtempSync(path.join(tmpdir(), "train-"));

describe("train pipeline", () => {
  it("fits, evaluates, gates and publishes a complete, verifiable artefact", async () => {
    const store = tmp();
    const result = await train({
      ...short,
      model: seedRegression,
      source: { simulate: SEED_SIMULATION },
      store,
      gate: { maxRhat: 1.05, minEssBulk: 100, minEssTail: 100, maxDivergences: 0 },
    });
    expect(result.published).toBe(true);
    expect(result.gate.passed).toBe(true);
    const mean = (name: string) => result.summary.find((r) => r.name === name)!.mean;
    expect(mean("beta[0]")).toBeCloseTo(1, 1);
    expect(mean("beta[2]")).toBeCloseTo(1.5, 1);
    expect(mean("sigma")).toBeCloseTo(0.75, 1);
    for (const k of ["mape", "rmse", "coverage_50", "coverage_90", "coverage_95", "crps"]) expect(Number.isFinite(result.metrics[k])).toBe(true);
    expect(result.metrics.coverage_95).toBeGreaterThan(0.88);

    const s = openStore(store);
    expect(await s.readLatest()).toBe(result.version);
    const bundle = await s.readBundle(result.version!);
    const m = bundle.manifest;
    expect(m.data).toMatchObject({ rows: 2000, trainRows: 1600, testRows: 400 });
    expect(m.parameters.names).toEqual(["beta[0]", "beta[1]", "beta[2]", "sigma"]);
    expect(m.draws).toMatchObject({ chains: 2, drawsPerChain: 400 });
    expect(m.features).toEqual([
      { name: "x", type: "float" },
      { name: "category", type: "category", newLevels: true, levels: 3 },
    ]);
    expect(m.sampler).toMatchObject({ draws: 400, tune: 300, chains: 2, seed: 3 });
    expect(Object.keys(m.files)).toEqual(expect.arrayContaining(["draws.bin", "report/report.html", "report/trace.png", "report/ppc.svg"]));
    expect(bundle.draws.length).toBe(2 * 400 * 4);
  });

  it("stores a fit that fails the gate but does not promote it, naming the parameter and the check", async () => {
    const store = tmp();
    const result = await train({
      ...short,
      model: seedRegression,
      source: { simulate: SEED_SIMULATION },
      store,
      report: false,
      gate: { maxRhat: 1.01, minEssBulk: 1e9, minEssTail: 400, maxDivergences: 0 },
    });
    expect(result.published).toBe(true);
    expect(result.promoted).toBe(false);
    expect(result.gate.failures).toContain(`beta[0]: ess_bulk ${Math.round(result.summary[0].essBulk)} < 1000000000`);
    expect(await openStore(store).readLatest()).toBeNull();
    expect((await openStore(store).list()).map((v) => v.version)).toEqual([result.version]);
  });

  it("stores a degenerate fit whose diagnostics cannot be computed (null in the manifest, as R posterior's NA), not promoted", async () => {
    const store = tmp();
    // No warm-up: the first step size diverges everywhere, the chains stand still, R-hat and tail ESS are undefined.
    const result = await train({ ...short, tune: 0, draws: 50, model: seedRegression, source: { simulate: SEED_SIMULATION }, store });
    expect(result.published).toBe(true);
    expect(result.promoted).toBe(false);
    expect(result.summary.some((r) => Number.isNaN(r.rHat) || Number.isNaN(r.essTail))).toBe(true);
    const m = await openStore(store).readManifest(result.version!);
    const rows = (m.diagnostics as { summary: Record<string, number | null>[] }).summary;
    expect(rows.some((r) => r.r_hat === null || r.ess_tail === null)).toBe(true);
    expect((await openStore(store).verify(result.version!)).problems).toEqual([]);
  });

  it("fails before sampling on bad data, naming file, line and column; nothing is published", async () => {
    const store = tmp();
    const file = path.join(tmp(), "bad.csv");
    writeFileSync(file, "x,category,y\n1,0,1\n2,5,2\n");
    const err = await train({ ...short, model: seedRegression, source: { data: file }, store }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as Error).message).toBe(`${file}, line 3, column "category": 5 is outside the model's categories 0..2`);
    expect(await openStore(store).list()).toEqual([]);
  });

  describe("against a real S3-compatible server", () => {
    const s3 = useS3Server({ buckets: ["models"], setProcessEnv: true });
    it("publishes to s3://bucket/prefix", async () => {
      const result = await train({
        ...short,
        model: seedRegression,
        source: { simulate: SEED_SIMULATION },
        store: "s3://models/seed",
        report: false,
        gate: { maxRhat: 1.05, minEssBulk: 100, minEssTail: 100, maxDivergences: 0 },
      });
      expect(result.published).toBe(true);
      expect(await openStore("s3://models/seed").readLatest()).toBe(result.version);
      expect(s3.current.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:/);
    });
    it("an unknown bucket fails fast, naming the store and the operation, before any sampling", async () => {
      const t0 = performance.now();
      const err = await train({ ...short, model: seedRegression, source: { simulate: SEED_SIMULATION }, store: "s3://no-such-bucket/x" }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BayesServeError);
      expect((err as BayesServeError).code).toBe("STORE");
      expect((err as Error).message).toMatch(/s3:\/\/no-such-bucket\/x/);
      expect(performance.now() - t0).toBeLessThan(30_000);
    });
  });
});

describe("bayes-serve train (the command)", () => {
  const cli = (args: string[]) =>
    run(process.execPath, ["--import", "tsx", path.join(repo, "src/cli/main.ts"), ...args], { cwd: repo, env: { ...process.env, NO_COLOR: "1" } });

  it("refuses simulation settings that make no data (a noise sd ≤ 0, one row) and numbers that are not decimals", async () => {
    for (const [args, message] of [
      [["--sigma", "-1"], "--sigma is the simulated noise's sd: it must be > 0 (got -1)"],
      [["--rows", "1"], "--rows must be an integer ≥ 2 (got 1)"],
      [["--sigma", "0x10"], '--sigma must be a number (got "0x10")'],
    ] as const) {
      const err = (await cli(["train", "--simulate", "--store", tmp(), ...args]).catch((e: unknown) => e)) as { code: number; stderr: string };
      expect(err.code).toBe(1);
      expect(err.stderr.trim()).toBe(`bayes-serve: ${message}`);
    }
  });

  it("--json prints one JSON object as the last line of stdout", async () => {
    const store = tmp();
    const { stdout } = await cli([
      "train",
      "--simulate",
      "--draws",
      "400",
      "--tune",
      "300",
      "--seed",
      "5",
      "--store",
      store,
      "--no-report",
      "--min-ess-bulk",
      "100",
      "--min-ess-tail",
      "100",
      "--max-rhat",
      "1.05",
      "--json",
    ]);
    const last = stdout.trim().split("\n").at(-1)!;
    const out = JSON.parse(last);
    expect(out.store).toBe(store);
    expect(out.version).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(Object.keys(out.parameters)).toEqual(["beta[0]", "beta[1]", "beta[2]", "sigma"]);
    expect(Object.keys(out.parameters["beta[0]"])).toEqual(["mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk", "ess_tail", "r_hat"]);
    expect(Object.keys(out.metrics)).toEqual(expect.arrayContaining(["mape", "rmse", "coverage_95", "crps"]));
    expect(out.seconds).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(path.join(store, "latest"), "utf8")).version).toBe(out.version);
  });

  it("exits 3 with the failing checks when the gate refuses the fit, which is stored but not promoted", async () => {
    const store = tmp();
    const err = (await cli(["train", "--simulate", "--draws", "200", "--tune", "200", "--store", store, "--no-report", "--min-ess-bulk", "1e9"]).catch(
      (e: unknown) => e,
    )) as { code: number; stderr: string };
    expect(err.code).toBe(3);
    expect(err.stderr).toMatch(/quality gate failed: beta\[0\]: ess_bulk \d+ < 1000000000;.* stored as \S+ but not promoted/);
  });
});

describe("the log line for columns the model does not read", () => {
  it("names them, and past twenty says how many more rather than write a wide export's every name", () => {
    expect(ignoredColumnsNote(["note", "region"], "d.csv")).toBe('data: ignoring column(s) "note", "region" of d.csv: the model does not read them');
    const wide = Array.from({ length: 100_000 }, (_, i) => `c${i}`);
    const line = ignoredColumnsNote(wide, "wide.csv");
    expect(line).toMatch(/^data: ignoring column\(s\) "c0", "c1", .*"c19" and 99980 more of wide\.csv: the model does not read them$/);
    expect(line.length).toBeLessThan(300);
  });
});
