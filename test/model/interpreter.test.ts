// The compiled log-density (generated, fused code) against the forward interpreter (evaluate.ts node by node, with
// scalarLogp and hand-written transforms — see helpers.ts) on randomly generated models and points; and the compiled
// gradient of the same random models against finite differences.
import { describe, expect, it } from "vitest";
import { bindModel } from "../../src/model/bind.js";
import { evaluateNodes, nodesFeeding } from "../../src/model/evaluate.js";
import {
  addDiag,
  Beta,
  covExpQuad,
  Expr,
  Gamma,
  HalfNormal,
  logSumExp,
  model,
  MvNormal,
  Normal,
  PoissonLog,
  StudentT,
  type ModelBuilder,
} from "../../src/model/index.js";
import { Rng } from "../../src/random/rng.js";
import { compile, expectGradientMatchesFiniteDifferences, interpretedLogDensity, logDensity, sampleData } from "./helpers.js";

const data = sampleData(9);

/** A random expression over the model's parameters and data, built so that its values stay finite and moderate. */
function randomExpression(rng: Rng, leaves: { vectors: Expr[]; scalars: Expr[] }, depth: number, vector: boolean): Expr {
  const leaf = (): Expr => {
    const pool = vector && rng.uniform() < 0.8 ? leaves.vectors : leaves.scalars;
    return pool[rng.int(pool.length)];
  };
  if (depth === 0) return leaf();
  const sub = (v = vector) => randomExpression(rng, leaves, depth - 1, v && rng.uniform() < 0.7);
  const e = sub(vector);
  switch (rng.int(16)) {
    case 0:
      return e.neg();
    case 1:
      return e.logistic();
    case 2:
      return e.softplus();
    case 3:
      return e.logistic().square();
    case 4:
      return e.logistic().exp();
    case 5:
      return e.softplus().add(0.1).log();
    case 6:
      return e.softplus().add(0.01).sqrt();
    case 7:
      return e.softplus().log1p();
    case 8:
      return e.logistic().mul(0.9).log1m();
    case 9:
      return e.abs();
    case 10:
      return e.add(sub());
    case 11:
      return e.sub(sub());
    case 12:
      return e.mul(sub());
    case 13:
      return e.div(sub().softplus().add(0.5));
    case 14:
      return e.softplus().add(0.1).pow(sub().logistic().add(0.5));
    default:
      return logSumExp(e, sub(), vector ? leaf() : leaves.scalars[0]);
  }
}

function randomModel(seed: number) {
  const rng = new Rng(seed, 17);
  return model(`random_${seed}`, (m: ModelBuilder) => {
    const x = m.data("x");
    const xpos = m.data("xpos");
    const category = m.data("category", { levels: 3 });
    const X = m.data("X", { shape: "matrix" });
    const a = m.param("a", Normal(0, 1));
    const s = m.param("s", Gamma(3, 2));
    const b = m.param("b", Normal(a, s.add(0.5)), { shape: 3 });
    const o = m.param("o", Normal(0, 2), { shape: 3, ordered: true });
    const u = m.param("u", Beta(2, 2));
    const up = m.param("up", StudentT(5, -2, 1), { upper: -0.5 });
    const leaves = {
      vectors: [x, xpos, b.at(category), o.at(category).mul(x), X.matvec(b), x.mul(a).add(u)],
      scalars: [a, s, u, up, b.at(rng.int(3)), o.sum(), b.exp().sum(), a.mul(s)],
    };
    const depth = 1 + rng.int(3);
    const mean = randomExpression(rng, leaves, depth, true);
    const scale = randomExpression(rng, leaves, depth - 1, rng.uniform() < 0.5)
      .softplus()
      .add(0.3);
    m.observe("obs", Normal(mean, scale), m.data("yreal"));
    if (rng.uniform() < 0.5) m.observe("counts", PoissonLog(randomExpression(rng, leaves, 1, true).logistic().mul(3)), m.data("ycount", { kind: "integer" }));
    if (rng.uniform() < 0.5) {
      const w = randomExpression(rng, leaves, 1, false).logistic();
      m.factor("mix", logSumExp(w.log().add(Normal(a, 1).logp(m.data("yreal"))), w.log1m().add(Normal(o.at(2), s.add(0.5)).logp(m.data("yreal")))));
    }
    if (rng.uniform() < 0.3) {
      const alpha = randomExpression(rng, leaves, 1, false).softplus().add(0.2);
      m.observe("gp", MvNormal(u, addDiag(covExpQuad(m.data("gx"), alpha, s.add(0.5)), 0.5)), m.data("ypos"));
    }
    if (rng.uniform() < 0.3) m.deterministic("det", mean.mul(2));
  });
}

describe("compiled log-density = forward interpreter", () => {
  const seeds = Array.from({ length: 40 }, (_, i) => i + 1);
  it.each(seeds)("random model %i", (seed) => {
    const m = randomModel(seed);
    const bound = bindModel(m.json, data);
    const c = compile(m, data);
    const rng = new Rng(seed, 3);
    for (let p = 0; p < 3; p++) {
      const theta = Array.from({ length: c.dim }, () => 2 * rng.uniform() - 1);
      const compiled = logDensity(c, theta);
      const interpreted = interpretedLogDensity(bound, theta);
      expect(Number.isFinite(compiled)).toBe(true);
      expect(Math.abs(compiled - interpreted), `compiled ${compiled}, interpreted ${interpreted}`).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(interpreted)),
      );
    }
    expectGradientMatchesFiniteDifferences(c, { seed, points: 2, rel: 1e-6, abs: 1e-8 });
  });

  it("the generator makes varied models (the test is not vacuous)", () => {
    const ops = new Set<string>();
    for (let seed = 1; seed <= 40; seed++)
      for (const n of randomModel(seed).json.nodes) ops.add(n.op === "unary" || n.op === "binary" ? `${n.op}:${n.fn}` : n.op);
    for (const op of [
      "unary:neg",
      "unary:logistic",
      "unary:softplus",
      "unary:exp",
      "unary:log",
      "unary:sqrt",
      "unary:log1p",
      "unary:log1m",
      "unary:abs",
      "unary:square",
      "binary:add",
      "binary:sub",
      "binary:mul",
      "binary:div",
      "binary:pow",
      "logSumExp",
      "index",
      "element",
      "matvec",
      "sum",
      "covExpQuad",
      "addDiag",
      "logp",
    ])
      expect(ops, op).toContain(op);
  });

  it("HalfNormal and a vector prior with parameter arguments agree too", () => {
    const m = model("hier", (m) => {
      const mu = m.param("mu", Normal(0, 5));
      const tau = m.param("tau", HalfNormal(5));
      const theta = m.param("theta", Normal(mu, tau), { shape: 7 });
      m.observe("y", Normal(theta, m.data("xpos")), m.data("yreal"));
    });
    const c = compile(m, data);
    const theta = [0.3, -0.2, 0.1, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9];
    expect(logDensity(c, theta)).toBeCloseTo(interpretedLogDensity(bindModel(m.json, data), theta), 10);
  });

  it("a factor whose value is materialised before the terms: a sum, and a vector that is also gathered", () => {
    const m = model("materialised-factors", (m) => {
      const a = m.param("a", Normal(0, 1));
      const z = m.param("z", Normal(0, 1), { shape: 3 });
      const effect = z.mul(a.exp());
      // Each factor's root is itself the materialised node.
      m.factor("total", m.data("x").mul(a).sum());
      m.factor("effects", effect);
      m.observe("y", Normal(effect.at(m.data("category", { levels: 3 })), 1), m.data("yreal"));
    });
    const c = compile(m, data);
    const theta = [0.3, -0.2, 0.4, 0.1];
    expect(logDensity(c, theta)).toBeCloseTo(interpretedLogDensity(bindModel(m.json, data), theta), 10);
    expectGradientMatchesFiniteDifferences(c);
  });
});

describe("nodesFeeding", () => {
  it("marks what a deterministic is computed from, and not the likelihood's rows beside it", () => {
    const m = model("feeding", (b) => {
      const a = b.param("a", Normal(0, 5));
      const s = b.param("s", HalfNormal(2));
      const k = b.param("k", Normal(0, 5));
      b.observe("obs", Normal(b.data("x").mul(k).add(a), s), b.data("yreal"));
      b.deterministic("s2", s.mul(s).add(a));
    });
    const bound = bindModel(m.json, sampleData());
    const det = m.json.deterministics[0].node;
    const needed = nodesFeeding(bound, [det]);
    const names = (id: number) => {
      const n = m.json.nodes[id];
      return "name" in n ? n.name : n.op;
    };
    const marked = m.json.nodes.map((_, id) => id).filter((id) => needed[id]);
    expect(marked.map(names).sort()).toEqual(["a", "binary", "binary", "s"].sort());
    expect(marked).toContain(det);
    // The deterministic's values from only those nodes are the ones every node gives.
    const point = Float64Array.of(0.3, 1.7, -0.4);
    expect(evaluateNodes(bound, point, 0, det, needed)[det]).toEqual(evaluateNodes(bound, point, 0, det)[det]);
  });
});
