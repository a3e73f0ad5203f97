// A served model is read from its artefact and never bound to data, so the prediction schema holds a category to the
// vector it indexes: a level past the vector's end would read the next parameter's draws as its own.
import { describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { model, modelFromJSON, Normal } from "../../src/model/index.js";
import { predictionSchema } from "../../src/predict/index.js";

const grouped = model("grouped", (m) => {
  const J = m.dim("J");
  const g = m.data("g", { levels: J });
  const a = m.param("a", Normal(0, 1), { shape: J });
  const b = m.param("b", Normal(0, 1));
  m.observe("obs", Normal(a.at(g).add(b), 1), m.data("y"));
});

/** The model as training leaves it (levels resolved from J = 3), with the category's JSON edited. */
function withCategory(edit: Record<string, unknown>) {
  const json = JSON.parse(JSON.stringify(grouped.json));
  Object.assign(
    json.data.find((d: { name: string }) => d.name === "g"),
    { levels: 3 },
    edit,
  );
  return modelFromJSON(json).json;
}

function refusal(run: () => unknown): BayesServeError {
  try {
    run();
  } catch (e) {
    if (e instanceof BayesServeError) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("predictionSchema: a category against the vector it indexes", () => {
  it("serves a category with as many levels as the vector", () => {
    const schema = predictionSchema(withCategory({}), { J: 3 });
    expect(schema.features.find((f) => f.name === "g")?.levels).toBe(3);
  });

  it("refuses more levels than the vector has elements", () => {
    const err = refusal(() => predictionSchema(withCategory({ levels: 4, levelsDim: undefined }), { J: 3 }));
    expect(err.code).toBe("MODEL_DEFINITION");
    expect(err.message).toMatch(/category "g": 4 levels, but it indexes a vector of 3 elements/);
  });

  it("refuses levels that disagree with the size that gives them", () => {
    const err = refusal(() => predictionSchema(withCategory({ levels: 2 }), { J: 3 }));
    expect(err.code).toBe("MODEL_DEFINITION");
    expect(err.message).toMatch(/category "g": 2 levels, but its size J is 3/);
  });
});

describe("predictionSchema: a likelihood a prediction cannot compute from one instance", () => {
  const base = (args: (m: Parameters<Parameters<typeof model>[1]>[0]) => ReturnType<typeof Normal>) =>
    model("m", (m) => {
      m.observe("obs", args(m), m.data("y"));
    });

  it("refuses arguments that read the observed data itself (a prediction has none)", () => {
    const selfRef = base((m) => Normal(m.param("a", Normal(0, 1)).mul(m.data("x")), m.data("y").abs().add(1)));
    expect(refusal(() => predictionSchema(selfRef.json)).message).toBe(
      `observation "obs"'s arguments read "y", the data it observes: a prediction has no "y" to read (did you mean another input?)`,
    );
  });

  it("refuses a sum over a column, one row's value and a column gathered by an index; serves elementwise and design-matrix rows", () => {
    const sum = base((m) => {
      const x = m.data("x");
      return Normal(m.param("b", Normal(0, 1)).mul(x.sub(x.sum().mul(0.01))), 1);
    });
    expect(refusal(() => predictionSchema(sum.json)).message).toMatch(
      /^observation "obs"'s arguments sum a column of the rows \(sum over the data\): a prediction sees one instance, not the training rows/,
    );
    const element = base((m) => Normal(m.param("b", Normal(0, 1)).mul(m.data("x").sub(m.data("x").at(0))), 1));
    expect(refusal(() => predictionSchema(element.json)).message).toMatch(/arguments read row 0 of the data/);
    const gathered = base((m) =>
      Normal(
        m
          .data("x")
          .at(m.data("g", { levels: 3 }))
          .mul(m.param("b", Normal(0, 1))),
        1,
      ),
    );
    expect(refusal(() => predictionSchema(gathered.json)).message).toMatch(/arguments gather a column of the rows by an index/);
    // A parameter's sum, or a parameter vector gathered by a category, reads no row: served.
    const fine = base((m) =>
      Normal(
        m
          .param("a", Normal(0, 1), { shape: 3 })
          .at(m.data("g", { levels: 3 }))
          .add(m.param("c", Normal(0, 1), { shape: 2 }).sum())
          .mul(m.data("x")),
        1,
      ),
    );
    expect(predictionSchema(fine.json).features.map((f) => f.name)).toEqual(["g", "x"]);
  });
});
