// A model file loads from any folder, whatever its syntax and whatever package.json says (or whether there is one),
// importing the package by name: what a user who writes `my-model.ts` next to their data does. Its errors name the
// file and the line.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Model } from "../../src/model/index.js";
import { resolveModel } from "../../src/train/models.js";

const root = mkdtempSync(path.join(tmpdir(), "bayes-serve-models-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, text: string): string {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const ESM_BODY = `
import { model, Normal, PoissonLog } from "bayes-serve";
import { PRIOR_SD } from "./settings";
export default model("counts", (m) => {
  const exposure = m.data("exposure", { lower: 0 });
  const a = m.param("a", Normal(0, PRIOR_SD));
  m.observe("obs", PoissonLog(exposure.log().add(a)), m.data("y", { kind: "integer" }));
});
`;
const CJS_BODY = `
const { model, Normal, PoissonLog } = require("bayes-serve");
module.exports = model("counts", (m) => {
  const exposure = m.data("exposure", { lower: 0 });
  const a = m.param("a", Normal(0, 2));
  m.observe("obs", PoissonLog(exposure.log().add(a)), m.data("y", { kind: "integer" }));
});
`;

describe("model files", () => {
  const cases: [string, () => string][] = [
    ["TypeScript, ES module syntax, no package.json", () => (write("plain/settings.ts", "export const PRIOR_SD = 2;\n"), write("plain/m.ts", ESM_BODY))],
    [
      "TypeScript in a CommonJS package (no type: module)",
      () => (write("cjs/package.json", '{"name":"mine"}'), write("cjs/settings.ts", "export const PRIOR_SD = 2;\n"), write("cjs/m.ts", ESM_BODY)),
    ],
    [".mts", () => (write("mts/settings.ts", "export const PRIOR_SD = 2;\n"), write("mts/m.mts", ESM_BODY))],
    ["JavaScript with require and module.exports", () => (write("js/package.json", '{"name":"mine"}'), write("js/m.js", CJS_BODY))],
    [".cjs", () => write("c/m.cjs", CJS_BODY)],
    [".mjs", () => (write("esm/settings.mjs", "export const PRIOR_SD = 2;\n"), write("esm/m.mjs", ESM_BODY.replace('"./settings"', '"./settings.mjs"')))],
  ];
  it.each(cases.map(([name, make]) => ({ name, make })))("loads $name", async ({ make }) => {
    const m = await resolveModel(make());
    expect(m).toBeInstanceOf(Model);
    expect(m.name).toBe("counts");
    expect(m.json.data.find((d) => d.name === "exposure")?.lower).toBe(0);
  });

  it("names the file and line of a syntax error, and says what to export when nothing is a model", async () => {
    const bad = write("bad.ts", "export const x = 1;\nconst y: number = ;\n");
    await expect(resolveModel(bad)).rejects.toThrow(`${bad}:2:18: Unexpected ";"`);
    const none = write("none.ts", "export const x = 1;\n");
    await expect(resolveModel(none)).rejects.toThrow(/no model among its exports \(x\); export the value model\(\.\.\.\) returns/);
    const throws = write("throws.mjs", 'throw new Error("boom");\n');
    await expect(resolveModel(throws)).rejects.toThrow(/the model file failed while loading: boom/);
    await expect(resolveModel(path.join(root, "missing.ts"))).rejects.toThrow(/missing\.ts/);
    await expect(resolveModel("no-such-model")).rejects.toThrow(/not a built-in model/);
  });
});
