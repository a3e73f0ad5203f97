// A model is data: toJSON → JSON text → modelFromJSON gives a model whose compiled log-density and gradient are
// identical; malformed JSON is rejected with a message that names the offending field.
import { describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { addDiag, Beta, covExpQuad, Flat, HalfCauchy, logSumExp, model, modelFromJSON, MvNormal, Normal, PoissonLog } from "../../src/model/index.js";
import type { ModelJSON } from "../../src/model/graph.js";
import { Rng } from "../../src/random/rng.js";
import { eightSchoolsNoncentered } from "../../src/models/posteriordb/eight-schools-noncentered.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { compile, gradient, sampleData } from "./helpers.js";

const data = sampleData(4);

const everything = model("everything", (m) => {
  const x = m.data("x");
  const category = m.data("category", { levels: 3 });
  const X = m.data("X", { shape: "matrix" });
  const a = m.param("a", Normal(0, 1));
  const s = m.param("s", HalfCauchy(2));
  const b = m.param("b", Normal(a, s), { shape: 3 });
  const o = m.param("o", Normal(0, 3), { shape: 2, ordered: true });
  const u = m.param("u", Beta(2, 2));
  const f = m.param("f", Flat(), { lower: -1, upper: 4 });
  const mean = b.at(category).mul(x).add(X.matvec(b).logistic()).add(o.at(1));
  m.observe("obs", Normal(mean, s.add(0.1)), m.data("yreal"));
  m.observe("counts", PoissonLog(x.mul(f).softplus().log1p()), m.data("ycount", { kind: "integer" }));
  m.factor("mix", logSumExp(u.log().add(Normal(o.at(0), 1).logp(x)), u.log1m().add(Normal(o.at(1), 1).logp(x))));
  m.observe("gp", MvNormal(a, addDiag(covExpQuad(m.data("gx"), s.add(0.5), 1.3), 0.2)), m.data("ypos"));
  m.deterministic("mean", mean);
});

function roundTrip(json: ModelJSON) {
  return modelFromJSON(JSON.parse(JSON.stringify(json)));
}

describe("serialisation", () => {
  for (const [name, m, input] of [
    ["a model with every kind of node", everything, data],
    ["the seed regression", seedRegression, { x: data.x, category: data.category, y: data.yreal }],
    ["eight schools (a deterministic, a dimension from data)", eightSchoolsNoncentered, { J: 7, y: data.yreal, sigma: data.xpos }],
  ] as const) {
    it(`${name}: toJSON → JSON text → modelFromJSON compiles to the identical log-density and gradient`, () => {
      const back = roundTrip(m.toJSON());
      expect(back.toJSON()).toEqual(m.toJSON());
      expect(back.name).toBe(m.name);
      const c1 = compile(m, input);
      const c2 = compile(back, input);
      expect(c2.paramNames).toEqual(c1.paramNames);
      expect(c2.source).toBe(c1.source);
      const rng = new Rng(2, 2);
      for (let p = 0; p < 5; p++) {
        const theta = Array.from({ length: c1.dim }, () => 2 * rng.uniform() - 1);
        const g1 = gradient(c1, theta);
        const g2 = gradient(c2, theta);
        expect(Number.isFinite(g1.lp)).toBe(true);
        expect(g2.lp).toBe(g1.lp);
        expect(Array.from(g2.grad)).toEqual(Array.from(g1.grad));
      }
    });
  }

  const base = () => JSON.parse(JSON.stringify(everything.toJSON())) as Record<string, unknown> & ModelJSON;
  const rejects: [string, (j: ReturnType<typeof base>) => unknown, RegExp][] = [
    ["not an object", () => 42, /model JSON: root/],
    ["null", () => null, /model JSON: root/],
    ["a wrong format tag", (j) => ({ ...j, format: "bayes-serve/model@2" }), /format/],
    ["a missing name", (j) => ({ ...j, name: "" }), /name/],
    ["nodes not an array", (j) => ({ ...j, nodes: {} }), /nodes: must be an array/],
    ["data missing", (j) => ({ ...j, data: undefined }), /data: must be an array/],
    ["params missing", (j) => ({ ...j, params: undefined }), /params: must be an array/],
    [
      "an unknown op",
      (j) => {
        (j.nodes[3] as { op: string }).op = "frobnicate";
        return j;
      },
      /nodes\[3\]: unknown op/,
    ],
    [
      "an unknown unary function",
      (j) => {
        const k = j.nodes.findIndex((n) => n.op === "unary");
        (j.nodes[k] as { fn: string }).fn = "tanh";
        return j;
      },
      /nodes\[\d+\]: unknown unary function "tanh"/,
    ],
    [
      "an unknown binary function",
      (j) => {
        const k = j.nodes.findIndex((n) => n.op === "binary");
        (j.nodes[k] as { fn: string }).fn = "mod";
        return j;
      },
      /nodes\[\d+\]: unknown binary function "mod"/,
    ],
    [
      "a forward reference",
      (j) => {
        const k = j.nodes.findIndex((n) => n.op === "binary");
        (j.nodes[k] as { a: number }).a = j.nodes.length + 5;
        return j;
      },
      /nodes\[\d+\]: input \d+ must be the id of an earlier node/,
    ],
    [
      "a node input given as a string",
      (j) => {
        const k = j.nodes.findIndex((n) => n.op === "binary");
        (j.nodes[k] as { a: unknown }).a = "0";
        return j;
      },
      /nodes\[\d+\]: input "0" must be the id of an earlier node/,
    ],
    [
      "a non-finite constant",
      (j) => {
        const k = j.nodes.findIndex((n) => n.op === "const");
        (j.nodes[k] as { value: unknown }).value = null;
        return j;
      },
      /nodes\[\d+\]: constant must be finite/,
    ],
    [
      "an unknown family in a logp node",
      (j) => {
        const k = j.nodes.findIndex((n) => n.op === "logp");
        (j.nodes[k] as { dist: { family: string } }).dist.family = "Frechet";
        return j;
      },
      /nodes\[\d+\]: unknown family "Frechet"/,
    ],
    [
      "an unknown prior family",
      (j) => {
        (j.params[1].prior as { family: string }).family = "Laplace";
        return j;
      },
      /params\[1\]\.prior: unknown family "Laplace"/,
    ],
    [
      "prior args that are not node ids",
      (j) => {
        j.params[0].prior.args = [1.5, -1];
        return j;
      },
      /params\[0\]\.prior: args must be node ids/,
    ],
    [
      "an observation value out of range",
      (j) => {
        j.observes[0].value = 10_000;
        return j;
      },
      /observes\[0\]\.value: must be a node id/,
    ],
    // Names are written into the generated code: one that is not an identifier could end a comment and run as code.
    [
      "an observation's name that is not an identifier (code after a newline)",
      (j) => {
        j.observes[0].name = 'y"\nglobalThis.injected = 1; //';
        return j;
      },
      /observes\[0\]: name "y\\"\\nglobalThis.injected = 1; \/\/" must be an identifier/,
    ],
    [
      "a transform bound that is not a number (code in the bound)",
      (j) => {
        const p = j.params.find((x) => x.transform.kind === "interval")!;
        (p.transform as { lower: unknown }).lower = "0; globalThis.injected = 1; 0";
        return j;
      },
      /params\[\d+\]\.transform: lower must be a finite number/,
    ],
    [
      "an unknown transform",
      (j) => {
        (j.params[0] as { transform: unknown }).transform = { kind: "logit" };
        return j;
      },
      /params\[0\]\.transform: must be one of/,
    ],
    [
      "an interval transform whose lower bound is not below its upper",
      (j) => {
        const p = j.params.find((x) => x.transform.kind === "interval")!;
        p.transform = { kind: "interval", lower: 4, upper: -1 };
        return j;
      },
      /params\[\d+\]\.transform: upper must exceed lower/,
    ],
    [
      "an element index that is not an integer",
      (j) => {
        const k = j.nodes.findIndex((n) => n.op === "element");
        (j.nodes[k] as { k: unknown }).k = "0]; globalThis.injected = 1; P[0";
        return j;
      },
      /nodes\[\d+\]: k must be a non-negative integer/,
    ],
    [
      "a category's levels that are not an integer, beside a levelsDim (written into prediction code)",
      (j) => {
        const d = j.data.find((x) => x.kind === "category")!;
        d.levelsDim = "n";
        (d as { levels: unknown }).levels = "(globalThis.injected = 1, 3)";
        return j;
      },
      /data\[\d+\]\.levels: must be a positive integer/,
    ],
    [
      "a category with neither levels nor levelsDim",
      (j) => {
        const d = j.data.find((x) => x.kind === "category")!;
        delete d.levels;
        return j;
      },
      /a category needs a positive integer number of levels/,
    ],
    [
      "a parameter size too large to allocate",
      (j) => {
        j.params[0].shape = [1e21];
        return j;
      },
      /params\[0\]\.shape: size 1e\+21 must be a positive integer up to 1000000/,
    ],
    [
      "a parameter with two axes",
      (j) => {
        j.params[0].shape = [3, 3];
        return j;
      },
      /params\[0\]\.shape: must be \[\] \(a scalar\) or \[size\]/,
    ],
    [
      "a factor whose node is not a node id",
      (j) => {
        j.factors[0].node = "length" as never;
        return j;
      },
      /factors\[0\]\.node: must be a node id/,
    ],
    [
      "a family named after an Object.prototype property",
      (j) => {
        (j.params[0].prior as { family: string }).family = "constructor";
        return j;
      },
      /params\[0\]\.prior: unknown family "constructor"/,
    ],
    [
      "an interval transform whose width overflows",
      (j) => {
        const p = j.params.find((x) => x.transform.kind === "interval")!;
        p.transform = { kind: "interval", lower: -1e308, upper: 1e308 };
        return j;
      },
      /params\[\d+\]\.transform: upper − lower must be finite/,
    ],
    [
      "a null parameter entry",
      (j) => {
        (j.params as unknown[])[0] = null;
        return j;
      },
      /params\[0\]: must be an object/,
    ],
    [
      "a null deterministic entry",
      (j) => {
        (j.deterministics as unknown[]).push(null);
        return j;
      },
      /deterministics\[\d+\]: must be an object/,
    ],
    [
      "a name used twice (a second parameter would sample without its prior)",
      (j) => {
        j.params.push({ ...j.params[0] });
        return j;
      },
      /params\[\d+\]: the name "\w+" is used twice/,
    ],
    [
      "a data input named after an Object.prototype property (looked up in plain objects)",
      (j) => {
        j.data[0].name = "constructor";
        return j;
      },
      /data\[0\]: name "constructor" must be an identifier .* not a built-in property of objects/,
    ],
    [
      "a data input's name that is not an identifier",
      (j) => {
        j.data[0].name = "x y";
        return j;
      },
      /data\[0\]: name "x y" must be an identifier/,
    ],
    [
      "a parameter's name with a line separator (U+2028, which ends a // comment)",
      (j) => {
        j.params[0].name = "b\u2028x";
        return j;
      },
      /params\[0\]: name "b\u2028x" must be an identifier/,
    ],
    [
      "a deterministic without a name",
      (j) => {
        j.deterministics.push({ node: 0 } as never);
        return j;
      },
      /deterministics\[\d+\]: name undefined must be an identifier/,
    ],
    [
      "a column name with a newline",
      (j) => {
        const d = j.data.find((x) => x.shape === "matrix")!;
        d.columns = ["a", "b\nc"];
        return j;
      },
      /columns must be a non-empty list of names/,
    ],
    [
      "an observation without a distribution",
      (j) => {
        (j.observes[1] as { dist: unknown }).dist = "Normal";
        return j;
      },
      /observes\[1\]\.dist: distribution must be an object/,
    ],
  ];
  it.each(rejects.map(([what, edit, msg]) => ({ what, edit, msg })))("rejects $what", ({ edit, msg }) => {
    let err: unknown;
    try {
      modelFromJSON(edit(base()));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as BayesServeError).code).toBe("MODEL_DEFINITION");
    expect((err as Error).message).toMatch(msg);
  });

  it("a JSON naming an undeclared parameter or data input is refused when read, naming the node (a served model is never bound)", () => {
    const j = base();
    const k = j.nodes.findIndex((n) => n.op === "param");
    (j.nodes[k] as { name: string }).name = "ghost";
    expect(() => modelFromJSON(j)).toThrow(new RegExp(`nodes\\[${k}\\]: parameter "ghost" is not declared in params`));
    const d = base();
    const q = d.nodes.findIndex((n) => n.op === "data");
    (d.nodes[q] as { name: string }).name = "ghost";
    expect(() => modelFromJSON(d)).toThrow(new RegExp(`nodes\\[${q}\\]: data "ghost" is not declared in data`));
  });

  it("a rebuilt model keeps the deterministic quantities and data declarations", () => {
    const back = roundTrip(everything.toJSON());
    expect(back.json.deterministics.map((d) => d.name)).toEqual(["mean"]);
    expect(back.json.data.map((d) => `${d.name}:${d.kind}:${d.shape}`)).toEqual([
      "x:float:vector",
      "category:category:vector",
      "X:float:matrix",
      "yreal:float:vector",
      "ycount:integer:vector",
      "gx:float:vector",
      "ypos:float:vector",
    ]);
  });
});
