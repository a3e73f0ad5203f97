// What every posteriordb translation exports: the model written in the model language, and the mapping from the
// posteriordb data JSON (the file inside data.json.zip) to the model's data inputs.
import type { Model } from "../../model/builder.js";
import type { DataInput } from "../../model/bind.js";

/** The posteriordb data JSON as parsed: numbers, lists of numbers, lists of rows. */
export type RawData = Record<string, unknown>;

export interface PosteriordbModel {
  /** The reference posterior's name (its folder under test/fixtures/posteriordb). */
  posterior: string;
  model: Model;
  prepareData(raw: RawData): DataInput;
}

/** A number from the raw data, or a clear error naming the field. */
export function num(raw: RawData, name: string): number {
  const v = raw[name];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`posteriordb data: "${name}" must be a finite number`);
  return v;
}

/** A list of numbers from the raw data, or a clear error naming the field. */
export function vec(raw: RawData, name: string): number[] {
  const v = raw[name];
  if (!Array.isArray(v) || v.some((e) => typeof e !== "number")) throw new Error(`posteriordb data: "${name}" must be a list of numbers`);
  return v as number[];
}

/** A matrix (list of rows) from the raw data, or a clear error naming the field. */
export function mat(raw: RawData, name: string): number[][] {
  const v = raw[name];
  if (!Array.isArray(v) || v.some((r) => !Array.isArray(r) || r.some((e: unknown) => typeof e !== "number")))
    throw new Error(`posteriordb data: "${name}" must be a list of rows of numbers`);
  return v as number[][];
}
