// A refit that fails (one of our errors: here a step size that collapses, injected into the second fit) leaves the
// fit before it to be gated and stored — refused for its divergences, exit 3 as before retries existed — with the
// failure in the log and the manifest, rather than losing it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it, vi } from "vitest";
import { openStore } from "../../src/artifact/store.js";
import { BayesServeError } from "../../src/errors.js";
import { HalfCauchy, model, Normal } from "../../src/model/index.js";
import { train } from "../../src/train/pipeline.js";

vi.mock("../../src/inference/index.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/inference/index.js")>();
  return {
    ...original,
    fit: async (...args: Parameters<typeof original.fit>) => {
      if (args[2]?.targetAccept === 0.9) throw new BayesServeError("SAMPLER_STEPSIZE", "chain 1, iteration 412: the step size collapsed (injected)");
      return original.fit(...args);
    },
  };
});

const dir = mkdtempSync(path.join(tmpdir(), "divergence-retry-failure-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("keeps the fit before a refit that fails, and records the failure", async () => {
  const file = path.join(dir, "schools.csv");
  const y = [28, 8, -3, 7, -1, 1, 18, 12];
  const sd = [15, 10, 16, 11, 9, 11, 10, 18];
  writeFileSync(file, ["school,sd,y", ...y.map((v, j) => `${j},${sd[j]},${v}`)].join("\n") + "\n");
  const centred = model("eight-schools-centred", (m) => {
    const school = m.data("school", { levels: 8 });
    const mu = m.param("mu", Normal(0, 5));
    const tau = m.param("tau", HalfCauchy(5));
    const theta = m.param("theta", Normal(mu, tau), { shape: 8 });
    m.observe("likelihood", Normal(theta.at(school), m.data("sd", { lower: 0 })), m.data("y"));
  });
  const lines: string[] = [];
  const store = path.join(dir, "s");
  const r = await train({
    seed: 5,
    draws: 1000,
    chains: 2,
    testFraction: 0,
    compare: false,
    progress: false,
    report: false,
    model: centred,
    source: { data: file },
    store,
    log: (l) => lines.push(l),
  });
  expect(r.published).toBe(true);
  expect(r.promoted).toBe(false);
  expect(r.divergences).toBeGreaterThan(0);
  expect(r.posterior.settings.targetAccept).toBe(0.8);
  expect(r.divergentFits).toEqual([]);
  expect(lines.join("\n")).toMatch(/the fit at target acceptance 0.9 failed, so the fit at 0.8 is kept: chain 1, iteration 412: the step size collapsed/);
  const sampler = (await openStore(store).readManifest(r.version!)).sampler as Record<string, unknown>;
  expect(sampler.failedRefit).toEqual({ targetAccept: 0.9, error: "chain 1, iteration 412: the step size collapsed (injected)" });
  expect(sampler.divergentFits).toBeUndefined();
});
