// JSON Schema forms TypeBox does not build the way our messages need, each still a TypeBox schema with its static type:
// a string enum (`enum`, not an `anyOf` of constants, so a bad value gets one "expected one of" problem), a value of
// several JSON types (`type: ["string", "object"]`), and a record whose every value is checked (`additionalProperties`;
// TypeBox's `Type.Record` uses the pattern `^(.*)$`, which skips keys holding a line break).
import { Type, type SchemaOptions, type Static, type TSchema, type TUnsafe } from "@sinclair/typebox";

type JsonType = "string" | "number" | "integer" | "boolean" | "object" | "array" | "null";

/** One of `values`, as `{type: "string", enum: values}`. */
export function StringEnum<const V extends readonly string[]>(values: V, options: SchemaOptions = {}): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ ...options, type: "string", enum: [...values] });
}

/**
 * A value of any of `types`, as `{type: types, ...keywords}`: each keyword applies to the values of its own type
 * (`pattern` to a string, `properties` to an object), as JSON Schema defines. `keywords` may be a TypeBox object
 * schema, whose keywords (not its TypeBox kind) are taken.
 */
export function MultiType<T>(types: readonly JsonType[], keywords: SchemaOptions = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ ...Object.fromEntries(Object.entries(keywords)), type: [...types] });
}

/** An object whose every property's value is a `value` (the names checked by `options.propertyNames`, if given). */
export function RecordOf<S extends TSchema>(value: S, options: SchemaOptions = {}): TUnsafe<Record<string, Static<S>>> {
  return Type.Unsafe<Record<string, Static<S>>>({ ...options, type: "object", additionalProperties: value });
}

/** An object type's properties as one object type (an intersection flattened), so that equal types compare equal. */
type Flat<T> = T extends object ? { [K in keyof T]: T[K] } : T;
type Same<A, B> = (<G>() => G extends Flat<A> ? 1 : 2) extends <G>() => G extends Flat<B> ? 1 : 2 ? true : false;

/**
 * `schema`, typed as `T`: for a type another layer owns (predict's FeatureSpec), checked here. Compiles only when the
 * schema's static type is exactly `T`, so the two cannot drift apart.
 */
export function SchemaOf<T>() {
  return <S extends TSchema>(schema: S, ..._sameType: Same<Static<S>, T> extends true ? [] : [never]): TUnsafe<T> => Type.Unsafe<T>(schema);
}
