// Values the CSV reader cannot check — a category sized by m.dim("J") once J is known, an integer indexing a vector —
// are named at their file's line and column before anything is fitted, in a training row or a held-out one; a bad
// value the model's binding finds in a vector is a DataRowError, which the pipeline names at its line.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bindModel } from "../../src/model/bind.js";
import { DataRowError } from "../../src/model/data-row-error.js";
import { HalfNormal, model, Normal } from "../../src/model/index.js";
import { train } from "../../src/train/pipeline.js";
import { refusal } from "../support/refusal.js";

const hier = model("hier-sized", (m) => {
  const J = m.dim("J");
  const group = m.data("group", { levels: J });
  const alpha = m.param("alpha", Normal(0, 2), { shape: J });
  m.observe("obs", Normal(alpha.at(group).add(m.param("beta", Normal(0, 2)).mul(m.data("x"))), m.param("sigma", HalfNormal(2))), m.data("y"));
});
const intIndex = model("int-index", (m) => {
  const k = m.data("group", { kind: "integer" });
  const b = m.param("b", Normal(0, 5), { shape: 4 });
  m.observe("obs", Normal(b.at(k).add(m.data("x")), m.param("s", HalfNormal(2))), m.data("y"));
});

/** 40 rows, groups 0..3, with `group` at CSV line `badLine` replaced by `bad`. */
function csv(badLine: number, bad: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sized-data-"));
  const file = path.join(dir, "rows.csv");
  const lines = ["group,x,y"];
  for (let i = 0; i < 40; i++) lines.push(`${lines.length + 1 === badLine ? bad : i % 4},${(i % 7) / 7},${(i % 5) / 5}`);
  writeFileSync(file, lines.join("\n"));
  return file;
}

const options = { draws: 100, tune: 100, chains: 1, seed: 1, testFraction: 0.25, progress: false, report: false, compare: false } as const;

describe("data values checked against the model's sizes", () => {
  it("names the file, line and column of a category outside m.dim's levels, in any row, before fitting", async () => {
    for (const line of [2, 20, 41]) {
      const data = csv(line, 4);
      const err = await refusal(
        train({ ...options, model: hier, source: { data }, store: mkdtempSync(path.join(tmpdir(), "sized-store-")), scalars: { J: 4 } }),
      );
      expect(err.message).toBe(`${data}, line ${line}, column "group": 4 must be one of the categories 0..3`);
    }
  });

  it("names the line of an integer indexing past its vector, whichever split the row falls in", async () => {
    for (const seed of [1, 2, 3, 4]) {
      const data = csv(30, 4);
      const err = await refusal(train({ ...options, seed, model: intIndex, source: { data }, store: mkdtempSync(path.join(tmpdir(), "sized-store-")) }));
      expect(err.message).toBe(`${data}, line 30, column "group": 4 must be an integer in 0..3`);
    }
  });

  it("binding a vector with a bad value raises a DataRowError at its row (the message as before)", () => {
    const err = (() => {
      try {
        bindModel(intIndex.json, { group: Float64Array.of(0, 1, 7), x: Float64Array.of(0, 0, 0), y: Float64Array.of(0, 0, 0) });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(DataRowError);
    expect((err as DataRowError).row).toBe(2);
    expect((err as DataRowError).message).toBe('data "group"[2] is 7: it indexes a vector of length 4 (valid 0..3)');
    expect((err as DataRowError).describedAt("rows.csv, line 4").message).toBe("rows.csv, line 4 (group = 7): it indexes a vector of length 4 (valid 0..3)");
  });
});
