// What makes an instance acceptable before any draw: every feature present as a finite number, integers where the
// schema says so, categories among their levels (or a new level where the category allows one), within the bounds the
// model's data declare and within ±MAX_ABS_FEATURE. Problems are [field, message] pairs, the first one found.
import { boundsProblem } from "../model/value-bounds.js";
import { featureBounds, type FeatureSpec } from "./features.js";

/** One instance of a request: its features by name. */
export type Instance = Record<string, number>;

/** Largest |value| accepted for a float feature: beyond it the answer would be meaningless (or overflow). */
export const MAX_ABS_FEATURE = 1e12;

/** Copies an instance's features into F, in schema order; returns the index of the first that is not a number, or −1. */
export type FeatureReader = (instance: Instance, F: Float64Array) => number;

/**
 * A reader of an instance's features by their names, in schema order: property loads with constant names, so the
 * engine's inline caches see one object shape (JSON.parse gives every request body the same) and no lookup by key.
 */
export function compileFeatureReader(features: FeatureSpec[]): FeatureReader {
  const body = features.map((f, k) => `v = instance[${JSON.stringify(f.name)}];\nif (typeof v !== "number") return ${k};\nF[${k}] = v;`).join("\n");
  return new Function(`"use strict";\nreturn function readFeatures(instance, F) {\nlet v;\n${body}\nreturn -1;\n};`)() as FeatureReader;
}

/**
 * Range checks on feature values already read (F, in schema order): [field, message] for the first problem, or null.
 * With `allowNewLevels`, a category that can draw new levels may take any non-negative integer.
 */
export function featureValueProblem(features: FeatureSpec[], F: Float64Array, allowNewLevels: boolean): [string, string] | null {
  for (let k = 0; k < features.length; k++) {
    const f = features[k];
    const v = F[k];
    if (!Number.isFinite(v)) return [f.name, "must be a finite number"];
    if (f.type === "float" && Math.abs(v) > MAX_ABS_FEATURE) return [f.name, `must be within ±${MAX_ABS_FEATURE}`];
    if (f.type !== "float" && !Number.isInteger(v)) return [f.name, "must be an integer"];
    const newLevel = allowNewLevels && f.newLevels === true;
    if (f.type === "category" && (v < 0 || (v >= (f.levels ?? 0) && !newLevel))) return [f.name, `must be one of the categories 0..${(f.levels ?? 0) - 1}`];
    if (f.minimum !== undefined || f.maximum !== undefined) {
      const problem = boundsProblem(featureBounds(f), v);
      if (problem !== null) return [f.name, problem];
    }
  }
  return null;
}
