import { describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { Ajv } from "ajv";
import { ManifestSchema, parseManifest, serializeManifest, validateManifest, type Manifest } from "../../src/artifact/manifest.js";
import { isVersionId, newVersionId } from "../../src/artifact/version-id.js";
import { parameterColumnNames, parameterGroups } from "../../src/artifact/parameter-layout.js";
import { sampleBundle } from "./fixtures/bundles.js";

function manifestJson(): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(serializeManifest(sampleBundle().manifest))) as Record<string, unknown>;
}

function problemOf(value: unknown): string {
  try {
    validateManifest(value, "versions/x/manifest.json");
  } catch (err) {
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as BayesServeError).code).toBe("ARTIFACT");
    return (err as Error).message;
  }
  throw new Error("expected the manifest to be rejected");
}

describe("version ids", () => {
  it("are a UTC timestamp plus 6 random hex digits, and sort by time", () => {
    const a = newVersionId(new Date("2026-12-01T00:30:00.123Z"));
    expect(a).toMatch(/^20261201T003000Z-[0-9a-f]{6}$/);
    expect(isVersionId(a)).toBe(true);
    const b = newVersionId(new Date("2026-12-01T00:30:01Z"));
    const c = newVersionId(new Date("2027-01-01T00:00:00Z"));
    expect([c, b, a].sort()).toEqual([a, b, c]);
    expect(newVersionId()).not.toBe(newVersionId());
  });

  it("reject anything that could escape a folder or is not an id", () => {
    for (const bad of ["", "latest", "../x", "20261201T003000Z-a1b2c3/..", "20261201T003000Z-A1B2C3", "20261201T003000Z"]) {
      expect(isVersionId(bad)).toBe(false);
    }
  });
});

describe("manifest validation", () => {
  it("accepts what buildBundle writes, and round-trips through JSON", () => {
    const m = sampleBundle().manifest;
    expect(parseManifest(serializeManifest(m), "here")).toEqual(m);
  });

  it("has a schema that is a valid JSON Schema document", () => {
    const ajv = new Ajv({ allowUnionTypes: true, strict: true });
    expect(ajv.validateSchema(JSON.parse(JSON.stringify(ManifestSchema)) as object), ajv.errorsText()).toBe(true);
  });

  it("names every missing field", () => {
    const m = manifestJson();
    delete m.gate;
    delete (m.draws as Record<string, unknown>).chains;
    delete (m.data as Record<string, unknown>).sha256;
    const msg = problemOf(m);
    expect(msg).toContain("versions/x/manifest.json is invalid");
    expect(msg).toContain("missing required field `gate` (expected the quality gate's verdict)");
    expect(msg).toContain("draws: missing required field `chains`");
    expect(msg).toContain("data: missing required field `sha256` (expected a sha256 digest: 64 lower-case hex digits)");
  });

  it("rejects wrong types with the field's path", () => {
    const m = manifestJson();
    (m.features as Record<string, unknown>[])[1].type = "text";
    (m.sampler as Record<string, unknown>).chains = 0;
    m.files = { ...(m.files as object), "../escape": "0".repeat(64) };
    const msg = problemOf(m);
    expect(msg).toContain('features[1].type: expected one of "float", "integer", "category", got "text"');
    expect(msg).toContain("sampler.chains: expected a value >= 1, got 0");
    // The files' names are checked after the schema, even when other fields failed it.
    expect(msg).toContain('files: "../escape" is not a relative path');
  });

  it("requires levels on category features only", () => {
    const m = manifestJson();
    delete (m.features as Record<string, unknown>[])[1].levels;
    (m.features as Record<string, unknown>[])[0].levels = 2;
    const msg = problemOf(m);
    expect(msg).toContain("features[1]: missing required field `levels` (a category feature needs its number of levels)");
    expect(msg).toContain("features[0].levels: only allowed on a category feature");
  });

  it("names the field and what was expected for wrong types, bad strings and non-integer counts", () => {
    const m = manifestJson();
    m.version = "v1";
    m.createdAt = "yesterday";
    (m.data as Record<string, unknown>).rows = 2.5;
    (m.draws as Record<string, unknown>).layout = "draw,chain,param";
    (m.gate as Record<string, unknown>).passed = "yes";
    (m.files as Record<string, unknown>)["draws.bin"] = "ABC";
    const msg = problemOf(m);
    expect(msg).toContain('version: "v1" is not valid: expected a version id like 20261201T003000Z-a1b2c3');
    expect(msg).toContain('createdAt: "yesterday" is not valid: expected an ISO-8601 time');
    expect(msg).toContain("data.rows: expected integer, got 2.5");
    expect(msg).toContain('draws.layout: expected "chain,draw,param", got "draw,chain,param"');
    expect(msg).toContain('gate.passed: expected boolean, got "yes"');
    expect(msg).toContain('files.draws.bin: "ABC" is not valid: expected a sha256 digest');
  });

  it("refuses what JSON cannot hold in a manifest built in memory, and a manifest that is not an object", () => {
    const m = manifestJson();
    m.seed = Number.NaN;
    (m.sampler as Record<string, unknown>).stepSizes = [0.1, Number.POSITIVE_INFINITY];
    m.metrics = { when: new Date(0) };
    const msg = problemOf(m);
    expect(msg).toContain("seed: expected number, got NaN");
    expect(msg).toContain("sampler.stepSizes[1] is Infinity, which JSON cannot hold (use null)");
    expect(msg).toContain("metrics.when is a Date object, not plain JSON");
    expect(problemOf([])).toBe("manifest versions/x/manifest.json is invalid: expected object, got an array");
  });

  it("checks the comparison with latest when the gate holds one", () => {
    const m = manifestJson();
    (m.gate as Record<string, unknown>).comparison = { against: "20261201T003000Z-a1b2c3", rows: 10, elpd_new: "high" };
    const msg = problemOf(m);
    expect(msg).toContain('gate.comparison.elpd_new: expected number or null, got "high"');
    expect(msg).toContain("gate.comparison: missing required field `refused`");
  });

  it("checks that parameter names and shapes agree", () => {
    const m = manifestJson();
    (m.parameters as Record<string, unknown>).names = ["beta[0]", "beta[1]", "beta[5]", "sigma", "tau"];
    const msg = problemOf(m);
    expect(msg).toContain('"beta[5]" does not index "beta" of shape [3]');
    expect(msg).toContain('"tau" has no entry in parameters.shapes');
    expect(msg).toContain('lacks "beta[2]"');
  });

  it("says to upgrade when the format is newer", () => {
    const m = manifestJson();
    m.formatVersion = 2;
    expect(problemOf(m)).toMatch(/format version 2; this bayes-serve reads format version 1/);
  });

  it("reports JSON syntax errors with the source", () => {
    expect(() => parseManifest("{not json", "s3://b/p/versions/v/manifest.json")).toThrow(/manifest s3:\/\/b\/p\/versions\/v\/manifest.json is not valid JSON/);
  });
});

describe("parameter layout", () => {
  it("groups columns by parameter, row-major, whatever the column order", () => {
    const groups = parameterGroups({
      names: ["sigma", "L[1, 0]", "beta[1]", "L[0, 0]", "beta[0]", "L[0, 1]", "L[1, 1]"],
      shapes: { beta: [2], sigma: [], L: [2, 2] },
    });
    expect(groups).toEqual([
      { name: "sigma", shape: [], columns: [0] },
      { name: "L", shape: [2, 2], columns: [3, 5, 1, 6] },
      { name: "beta", shape: [2], columns: [4, 2] },
    ]);
    expect(parameterColumnNames("L", [2, 2])).toEqual(["L[0, 0]", "L[0, 1]", "L[1, 0]", "L[1, 1]"]);
  });

  it("types a manifest precisely", () => {
    const m: Manifest = sampleBundle().manifest;
    expect(m.draws.layout).toBe("chain,draw,param");
    expect(m.sampleStats?.names).toContain("diverging");
  });
});
