// A fit with more divergent transitions than the gate allows is made again at a higher target acceptance (a smaller
// step size), as Stan's users do by hand when its warning asks them to: the fit set aside is recorded in the manifest
// and the result, the log says so, and the gate still decides on the fit that is kept. Eight schools in the centred
// parameterisation (Rubin 1981; the data as Gelman et al., BDA3 §5.5) diverges at any target acceptance Stan's users
// try, so both fits here have divergent transitions.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/artifact/store.js";
import { DIVERGENCE_RETRY_TARGETS } from "../../src/defaults.js";
import { HalfCauchy, model, Normal } from "../../src/model/index.js";
import { mergeChains, trainChain } from "../../src/train/chain-stage.js";
import { nextRetryTarget, train, type TrainOptions, type TrainResult } from "../../src/train/pipeline.js";

const Y = [28, 8, -3, 7, -1, 1, 18, 12];
const SD = [15, 10, 16, 11, 9, 11, 10, 18];

const centredSchools = model("eight-schools-centred", (m) => {
  const school = m.data("school", { levels: 8 });
  const sd = m.data("sd", { lower: 0 });
  const mu = m.param("mu", Normal(0, 5));
  const tau = m.param("tau", HalfCauchy(5));
  const theta = m.param("theta", Normal(mu, tau), { shape: 8 });
  m.observe("likelihood", Normal(theta.at(school), sd), m.data("y"));
});

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function schoolsCsv(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "divergence-retries-"));
  dirs.push(dir);
  const file = path.join(dir, "schools.csv");
  writeFileSync(file, ["school,sd,y", ...Y.map((y, j) => `${j},${SD[j]},${y}`)].join("\n") + "\n");
  return file;
}

const short = { seed: 5, draws: 1000, chains: 2, testFraction: 0, compare: false, progress: false, report: false } as const;

/** train() on the schools with the short settings above, data and store in a folder of their own, and `more`. */
function trainSchools(more: Partial<TrainOptions> = {}): Promise<TrainResult> {
  const data = schoolsCsv();
  return train({ ...short, model: centredSchools, source: { data }, store: path.join(path.dirname(data), "store"), ...more });
}

describe("fitting again when a fit diverges", () => {
  it("steps through Stan's users' targets, the first above the current one", () => {
    expect(DIVERGENCE_RETRY_TARGETS).toEqual([0.9, 0.95, 0.99]);
    expect(nextRetryTarget(0.8)).toBe(0.9);
    expect(nextRetryTarget(0.85)).toBe(0.9);
    expect(nextRetryTarget(0.9)).toBe(0.95);
    expect(nextRetryTarget(0.95)).toBe(0.99);
    expect(nextRetryTarget(0.99)).toBeNull();
  });

  it("fits again at 0.9, records the fit set aside, and the gate judges the fit kept", async () => {
    const lines: string[] = [];
    const r = await trainSchools({ report: true, log: (l) => lines.push(l) });
    const store = r.store;
    expect(r.divergentFits).toHaveLength(1);
    expect(r.divergentFits[0].targetAccept).toBe(0.8);
    expect(r.divergentFits[0].divergences).toBeGreaterThan(0);
    expect(r.divergentFits[0].samplingSeconds).toBeGreaterThan(0);
    expect(r.posterior.settings.targetAccept).toBe(0.9);
    expect(lines.join("\n")).toMatch(
      new RegExp(`${r.divergentFits[0].divergences} divergent transition\\(s\\) at target acceptance 0.8: fitting again at 0.9 \\(--divergence-retries 1\\)`),
    );
    // The retry does not hide what is left: the funnel still diverges at 0.9, and the gate refuses the fit.
    expect(r.divergences).toBeGreaterThan(0);
    expect(r.promoted).toBe(false);
    expect(r.gate.failures.join("\n")).toMatch(/divergent transition\(s\) > 0: .*--divergence-retries/);
    const manifest = await openStore(store).readManifest(r.version!);
    const sampler = manifest.sampler as Record<string, unknown>;
    expect(sampler.targetAccept).toBe(0.9);
    expect(sampler.divergentFits).toEqual(r.divergentFits);
    // Timings: the kept fit's sampling, and the time the fit set aside took beside it.
    expect((manifest.diagnostics as { samplingSeconds: number }).samplingSeconds).toBe(r.timings.sampling);
    expect(r.timings.samplingSetAside).toBe(r.divergentFits[0].samplingSeconds);
    expect(r.divergentFits[0].samplingSeconds).not.toBe(r.timings.sampling);
    // The report's run table says so too.
    const html = new TextDecoder().decode(await openStore(store).readFile(r.version!, "report/report.html"));
    expect(html).toMatch(/target acceptance<\/t[hd]>\s*<td>0\.9</);
    expect(html).toContain(`at 0.8: ${r.divergentFits[0].divergences} divergent transition(s)`);
  });

  it("tries each target in turn up to --divergence-retries, and never with 0", async () => {
    const twice = await trainSchools({ divergenceRetries: 2 });
    expect(twice.divergentFits.map((f) => f.targetAccept)).toEqual([0.8, 0.9]);
    expect(twice.posterior.settings.targetAccept).toBe(0.95);

    const never = await trainSchools({ divergenceRetries: 0 });
    expect(never.divergentFits).toEqual([]);
    expect(never.divergences).toBeGreaterThan(0);
    expect(never.posterior.settings.targetAccept).toBe(0.8);
    const sampler = (await openStore(never.store).readManifest(never.version!)).sampler as Record<string, unknown>;
    expect(sampler.divergentFits).toBeUndefined();
  });

  it("a fit within the gate's divergences is kept as it is, and the last target has no retry", async () => {
    const tolerant = await trainSchools({ gate: { maxRhat: 1.01, minEssBulk: 400, minEssTail: 400, maxDivergences: 1_000_000 } });
    expect(tolerant.divergentFits).toEqual([]);
    expect(tolerant.posterior.settings.targetAccept).toBe(0.8);

    const lines: string[] = [];
    const last = await trainSchools({ targetAccept: 0.99, divergenceRetries: 3, log: (l) => lines.push(l) });
    expect(last.divergences).toBeGreaterThan(0);
    expect(last.divergentFits).toEqual([]);
    expect(last.posterior.settings.targetAccept).toBe(0.99);
    expect(lines.join("\n")).toMatch(/at target acceptance 0.99: no higher target \(0.9, 0.95, 0.99\) to fit again at/);
  });

  it("a merge of staged chains cannot fit again, and says which target to stage them with", async () => {
    const data = schoolsCsv();
    const dir = path.dirname(data);
    const options = { ...short, model: centredSchools, source: { data }, store: path.join(dir, "s") };
    for (const c of [0, 1]) await trainChain(options, c, path.join(dir, "stage"));
    const lines: string[] = [];
    const merged = await mergeChains({ ...options, log: (l) => lines.push(l) }, path.join(dir, "stage"));
    expect(merged.divergences).toBeGreaterThan(0);
    expect(merged.divergentFits).toEqual([]);
    expect(lines.join("\n")).toMatch(/a staged fit is not fitted again \(its chains ran apart\); stage its chains again with --target-accept 0.9/);
  });

  it("refuses a retry count that is not 0..3", async () => {
    for (const divergenceRetries of [-1, 2.5, 4, Number.NaN])
      await expect(trainSchools({ store: "unused", divergenceRetries })).rejects.toThrow(/--divergence-retries must be an integer in 0..3/);
  });
});
