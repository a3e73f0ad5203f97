// The one formatter of validation errors: ajv's errors for a small TypeBox schema, as the problems and sentences the
// manifest, the pipeline file and the server build their messages from.
import { describe, expect, it } from "vitest";
import { Type } from "@sinclair/typebox";
import { fileSchemaChecker } from "../../src/schema/file-schema.js";
import { MultiType, RecordOf, StringEnum } from "../../src/schema/forms.js";
import { closest, editDistance } from "../../src/schema/edit-distance.js";
import { formatPath, formatProblem, problemLocation, type SchemaProblem } from "../../src/schema/problems.js";

const Schema = Type.Object(
  {
    name: Type.String({ pattern: "^[a-z]+$", description: "lower-case letters" }),
    size: Type.Integer({ minimum: 1, maximum: 10 }),
    kind: StringEnum(["info", "warn", "INFO", "WARN"]),
    tags: Type.Array(MultiType<string | number>(["string", "number"])),
    limits: Type.Optional(RecordOf(Type.Number(), { propertyNames: Type.String({ pattern: "^[a-z]+$", description: "a lower-case word" }) })),
    nested: Type.Object({ port: Type.Integer(), path: Type.String({ description: "a URL path" }) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
const check = fileSchemaChecker(Schema);

function problemsOf(value: unknown): SchemaProblem[] {
  const r = check(value);
  if (r.problems === undefined) throw new Error("expected problems");
  return r.problems;
}
const messagesOf = (value: unknown) => problemsOf(value).map(formatProblem);

const valid = { name: "abc", size: 3, kind: "info", tags: ["a", 1], nested: { port: 1, path: "/" } };

describe("schema problems", () => {
  it("a valid document is returned typed, with no problems", () => {
    const r = check(valid);
    expect(r.problems).toBeUndefined();
    expect(r.value?.nested.port).toBe(1);
  });

  it("name the field by its path, what was expected, and what was found", () => {
    expect(messagesOf({ ...valid, name: "A1", size: 2.5, kind: "loud", tags: ["a", null] })).toEqual([
      'name: "A1" is not valid: expected lower-case letters',
      "size: expected integer, got 2.5",
      'kind: expected one of "info", "warn", got "loud"',
      "tags[1]: expected string or number, got null",
    ]);
    expect(messagesOf({ ...valid, size: 11 })).toEqual(["size: expected a value <= 10, got 11"]);
    expect(messagesOf([])).toEqual(["expected object, got an array"]);
  });

  it("a missing field at its object, with what it should hold; an unknown one at its name, with the nearest", () => {
    const p = problemsOf({ ...valid, nested: { prot: 1 } });
    expect(p.map(formatProblem)).toEqual([
      "nested: missing required field `port`",
      "nested: missing required field `path` (expected a URL path)",
      "nested.prot: unknown field `prot` (expected one of: port, path; did you mean `port`?)",
    ]);
    expect(problemLocation(p[0])).toEqual({ path: ["nested"], atKey: false });
    expect(problemLocation(p[2])).toEqual({ path: ["nested", "prot"], atKey: true });
  });

  it("a bad property name once, at the name", () => {
    const p = problemsOf({ ...valid, limits: { ok: 1, "Not-OK": 2 } });
    expect(p.map(formatProblem)).toEqual(['limits.Not-OK: name "Not-OK" is not valid: expected a lower-case word']);
  });

  it("a wrong type once, not also the bounds meant for the right type", () => {
    expect(messagesOf({ ...valid, size: "many" })).toEqual(['size: expected integer, got "many"']);
  });

  it("strings are quoted and cut short; paths written as people write them", () => {
    const [m] = messagesOf({ ...valid, name: "x".repeat(200) + "Y" });
    expect(m).toBe(`name: "${"x".repeat(77)}…" is not valid: expected lower-case letters`);
    expect(formatPath(["stages", "train", "args", 0])).toBe("stages.train.args[0]");
    expect(formatPath([])).toBe("");
  });
});

describe("did you mean", () => {
  it("suggests a candidate within two edits (a transposition counts as one), never a far one", () => {
    expect(editDistance("prot", "port")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(closest("prot", ["port", "replicas"])).toBe("port");
    expect(closest("trian", ["train", "scoring-service"])).toBe("train");
    expect(closest("ab", ["xy"])).toBeUndefined();
    expect(closest("replicaz", [])).toBeUndefined();
  });
});
