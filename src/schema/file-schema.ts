// The files bayes-serve reads that a person or another program wrote (the pipeline file, an artefact's manifest) are
// checked against TypeBox schemas by one ajv instance: every problem at once, with the failing schema at hand for the
// messages (`verbose`), union types allowed, and strict about the schemas themselves. Each schema is compiled once,
// when first used (a server that never reads a pipeline file never compiles its schema).
import { Ajv, type ValidateFunction } from "ajv";
import type { Static, TSchema } from "@sinclair/typebox";
import { schemaProblems, type SchemaProblem } from "./problems.js";

let ajv: Ajv | undefined;

function fileAjv(): Ajv {
  if (ajv === undefined) {
    ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true, validateSchema: false });
    // A time `Date.parse` reads (what `new Date().toISOString()` writes, and the other ISO-8601 forms JavaScript takes).
    ajv.addFormat("timestamp", { type: "string", validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  }
  return ajv;
}

/** A document checked against a schema: the typed value, or the problems found. */
export type Checked<T> = { value: T; problems?: undefined } | { value?: undefined; problems: SchemaProblem[] };

/** A checker for documents of `schema`, compiled on its first call. */
export function fileSchemaChecker<S extends TSchema>(schema: S): (data: unknown) => Checked<Static<S>> {
  let validate: ValidateFunction<Static<S>> | undefined;
  return (data) => {
    validate ??= fileAjv().compile<Static<S>>(schema);
    return validate(data) ? { value: data } : { problems: schemaProblems(validate.errors ?? [], data) };
  };
}
