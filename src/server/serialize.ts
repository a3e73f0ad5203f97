// Response bodies made of numbers — the predictions — written as JSON by code compiled from their response schema.
//
// Fastify's default serializer (fast-json-stringify) writes a number as `"" + x`: for a double that is not in V8's
// small number-string cache — every prediction is a fresh one — that is a runtime call plus a cache insertion, and
// `JSON.stringify(x)` gives the same digits (both are ECMAScript's Number::toString) for less. fast-json-stringify
// must also try a union's branches at run time, where a compiled branch test is one typeof. (Measurements in
// bench/README.md, "Behind the request path's code".)
//
// Only the schema kinds a prediction uses are compiled — objects of fixed properties, number, integer, array and
// union — so anything else (the error bodies) returns null and is left to fast-json-stringify.
import { Kind, type TSchema } from "@sinclair/typebox";

export type Serializer = (value: unknown) => string;

/** Thrown when a value does not fit the response schema: a bug of ours (never a client's), answered with a 500. */
export class ResponseShapeError extends Error {
  constructor(
    readonly path: string,
    expected: string,
  ) {
    super(`response ${path} is not ${expected}`);
    this.name = "ResponseShapeError";
  }
}

interface Compiled {
  /** An expression writing `v` as JSON. */
  write(v: string): string;
  /** An expression true when `v` is of this schema's kind (a union's branch test: a first element stands for an array's). */
  test(v: string): string;
}

/** Compiles a serializer for `schema`, or returns null when it uses a kind not compiled here. */
export function compileNumericSerializer(schema: TSchema): Serializer | null {
  const helpers: string[] = [];
  const helper = (body: string): string => {
    helpers.push(body);
    return `h${helpers.length - 1}`;
  };
  const compile = (s: TSchema, path: string): Compiled | null => {
    const where = JSON.stringify(path);
    switch (s[Kind]) {
      case "Number":
        return {
          write: (v) => `(Number.isFinite(${v}) ? JSON.stringify(${v}) : fail(${where}, "a finite number"))`,
          test: (v) => `typeof ${v} === "number"`,
        };
      case "Integer":
        return {
          write: (v) => `(Number.isSafeInteger(${v}) ? "" + ${v} : fail(${where}, "an integer"))`,
          test: (v) => `Number.isInteger(${v})`,
        };
      case "Array": {
        const item = compile(s.items as TSchema, `${path}[]`);
        if (item === null) return null;
        if ((s.items as TSchema)[Kind] === "Number") {
          // A list of finite numbers is written by JSON.stringify whole: the same digits and separators as element by
          // element (both are Number::toString), in one native call instead of a concatenation per number.
          const itemWhere = JSON.stringify(`${path}[]`);
          const name = helper(
            `function (a) {\n` +
              `  if (!Array.isArray(a)) return fail(${where}, "an array");\n` +
              `  for (let i = 0; i < a.length; i++) {\n` +
              `    const x = a[i];\n` +
              `    if (typeof x !== "number" || x - x !== 0) return fail(${itemWhere}, "a finite number");\n` +
              `  }\n` +
              `  return JSON.stringify(a);\n}`,
          );
          return { write: (v) => `${name}(${v})`, test: (v) => `(Array.isArray(${v}) && (${v}.length === 0 || ${item.test(`${v}[0]`)}))` };
        }
        const name = helper(
          `function (a) {\n` +
            `  if (!Array.isArray(a)) return fail(${where}, "an array");\n` +
            `  if (a.length === 0) return "[]";\n` +
            `  let out = "[" + ${item.write("a[0]")};\n` +
            `  for (let i = 1; i < a.length; i++) out += "," + ${item.write("a[i]")};\n` +
            `  return out + "]";\n}`,
        );
        return { write: (v) => `${name}(${v})`, test: (v) => `(Array.isArray(${v}) && (${v}.length === 0 || ${item.test(`${v}[0]`)}))` };
      }
      case "Union": {
        const branches = (s.anyOf as TSchema[]).map((b) => compile(b, path));
        if (branches.some((b) => b === null)) return null;
        const ok = branches as Compiled[];
        const name = helper(
          `function (u) {\n` +
            ok.map((b) => `  if (${b.test("u")}) return ${b.write("u")};\n`).join("") +
            `  return fail(${where}, "any of the schema's alternatives");\n}`,
        );
        return { write: (v) => `${name}(${v})`, test: (v) => ok.map((b) => `(${b.test(v)})`).join(" || ") };
      }
      case "Object": {
        const required = new Set((s.required ?? []) as string[]);
        // fast-json-stringify's order: the required properties, then the optional ones, each in the schema's order.
        const entries = Object.entries((s.properties ?? {}) as Record<string, TSchema>);
        const properties = [...entries.filter(([k]) => required.has(k)), ...entries.filter(([k]) => !required.has(k))];
        const parts: string[] = [];
        for (const [key, p] of properties) {
          const c = compile(p, `${path}.${key}`);
          if (c === null) return null;
          const v = `o[${JSON.stringify(key)}]`;
          const field = `out += sep + ${JSON.stringify(`${JSON.stringify(key)}:`)} + ${c.write(v)};\n    sep = ",";`;
          parts.push(required.has(key) ? `  {\n    ${field}\n  }\n` : `  if (${v} !== undefined) {\n    ${field}\n  }\n`);
        }
        // A property not in the schema is left out, as fast-json-stringify does.
        const name = helper(
          `function (o) {\n` +
            `  if (typeof o !== "object" || o === null) return fail(${where}, "an object");\n` +
            `  let out = "{";\n  let sep = "";\n${parts.join("")}  return out + "}";\n}`,
        );
        return { write: (v) => `${name}(${v})`, test: (v) => `(typeof ${v} === "object" && ${v} !== null && !Array.isArray(${v}))` };
      }
      default:
        return null;
    }
  };
  const root = compile(schema, "body");
  if (root === null) return null;
  const source = `"use strict";\n${helpers.map((h, i) => `const h${i} = ${h};`).join("\n")}\nreturn function serialize(v) { return ${root.write("v")}; };`;
  const fail = (path: string, expected: string): never => {
    throw new ResponseShapeError(path, expected);
  };
  return new Function("fail", source)(fail) as Serializer;
}
