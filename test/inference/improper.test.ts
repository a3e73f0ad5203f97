// An improper posterior fails with SAMPLER_STEPSIZE or SAMPLER_DIVERGED, naming the parameter, within bounded time:
// never a hang, never draws from a posterior that does not exist.
import { describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { fit } from "../../src/inference/fit.js";
import { Flat, HalfNormal, model, Normal, Uniform } from "../../src/model/index.js";

async function failure(p: Promise<unknown>): Promise<BayesServeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, "expected the fit to fail").toBeInstanceOf(BayesServeError);
  return err as BayesServeError;
}

describe("improper posteriors", () => {
  it("a model with only a flat parameter: the first step size explodes (SAMPLER_STEPSIZE)", async () => {
    const m = model("flat_only", (m) => void m.param("a", Flat()));
    const started = performance.now();
    const err = await failure(fit(m, {}, { chains: 1, draws: 50, tune: 100, progress: false }));
    expect(err.code).toBe("SAMPLER_STEPSIZE");
    expect(err.message).toMatch(/improper/);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("a flat parameter that no data inform, beside a proper one: detected when its metric explodes", async () => {
    // Without the per-coordinate check the step size stays near 0.5 while the flat parameter's variance estimate
    // grows by orders of magnitude every window (1e5, 1e10, 1e16, 1e27 at the windows of 1,000 warm-up iterations),
    // and the chain returns draws of a posterior that does not exist.
    const m = model("flat_beside_proper", (m) => {
      m.param("a", Flat());
      const s = m.param("s", HalfNormal(1));
      m.observe("obs", Normal(s, 1), m.data("y"));
    });
    for (const seed of [1, 2, 3]) {
      const started = performance.now();
      const err = await failure(fit(m, { y: [0.1, 0.2] }, { chains: 1, draws: 50, tune: 1000, seed, progress: false }));
      expect(err.code).toBe("SAMPLER_STEPSIZE");
      expect(err.message).toMatch(/step size for parameter a exploded/);
      expect(err.message).toMatch(/improper in a/);
      expect(performance.now() - started).toBeLessThan(10_000);
    }
  });

  it("the error crosses the worker-thread boundary with its code", async () => {
    const m = model("flat_threads", (m) => {
      m.param("b", Normal(0, 1), { shape: 2 });
      m.param("free", Flat());
    });
    const err = await failure(fit(m, {}, { chains: 2, draws: 20, tune: 1000, seed: 5, threads: true, progress: false }));
    expect(err.code).toBe("SAMPLER_STEPSIZE");
    expect(err.message).toMatch(/parameter free/);
  });

  it("a data row at which the likelihood is never finite: named, with its values", async () => {
    // Data outside the support of a fixed Uniform: every point has log-density −∞.
    const m = model("impossible", (m) => {
      const mu = m.param("mu", Normal(0, 1));
      m.observe("obs", Normal(mu, 1), m.data("y"));
      m.observe("bounded", Uniform(0, 1), m.data("z"));
    });
    const err = await failure(fit(m, { y: [1, 2], z: [0.5, 3] }, { chains: 1, draws: 10, tune: 10, progress: false }));
    expect(err.code).toBe("DATA_VALUE");
    expect(err.message).toBe('data row 1 (z = 3): the log-likelihood of observation "bounded" is -Infinity there whatever the parameters');
  });

  it("a gradient that is never finite: no initial values, naming the parameter", async () => {
    // sqrt(|mu|)·0 has an infinite derivative only at 0; sqrt(−mu²) is NaN everywhere except at 0.
    const m = model("nan_gradient", (m) => {
      const mu = m.param("mu", Normal(0, 1));
      m.factor("f", mu.square().neg().sqrt());
    });
    const err = await failure(fit(m, {}, { chains: 1, draws: 10, tune: 10, progress: false }));
    expect(err.code).toBe("SAMPLER_INIT");
    expect(err.message).toMatch(/no initial values/);
  });
});
