// Resolving `--model NAME|FILE`: a built-in model by name, a model's JSON form, or a TypeScript/JavaScript module
// whose default export (or `model` export) is a Model.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BayesServeError } from "../errors.js";
import { Model } from "../model/builder.js";
import { modelFromJSON } from "../model/serialize.js";
import { seedRegression } from "../models/seed-regression.js";

export const BUILTIN_MODELS: Record<string, Model> = { "seed-regression": seedRegression };
export const DEFAULT_MODEL = "seed-regression";

export async function resolveModel(spec: string = DEFAULT_MODEL): Promise<Model> {
  const builtin = BUILTIN_MODELS[spec];
  if (builtin) return builtin;
  const file = path.resolve(spec);
  const ext = path.extname(file);
  if (ext === ".json") {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new BayesServeError("USAGE", `--model ${spec}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new BayesServeError("MODEL_DEFINITION", `${spec}: not valid JSON (${(err as Error).message})`);
    }
    return modelFromJSON(json);
  }
  if ([".ts", ".mts", ".js", ".mjs"].includes(ext)) {
    let mod: Record<string, unknown>;
    try {
      if (ext === ".ts" || ext === ".mts") {
        const { tsImport } = await import("tsx/esm/api");
        mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
      } else mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof BayesServeError) throw err;
      throw new BayesServeError("MODEL_DEFINITION", `${spec}: cannot load the model module (${(err as Error).message})`);
    }
    const candidate = mod.default ?? mod.model ?? Object.values(mod).find((v) => v instanceof Model || isModelLike(v));
    if (candidate instanceof Model) return candidate;
    if (isModelLike(candidate)) return modelFromJSON((candidate as { json: unknown }).json);
    throw new BayesServeError("MODEL_DEFINITION", `${spec}: export a model (built with model(...)) as the default export`);
  }
  throw new BayesServeError(
    "USAGE",
    `--model ${spec}: not a built-in model (${Object.keys(BUILTIN_MODELS).join(", ")}) nor a .json/.ts/.js model file`,
  );
}

function isModelLike(v: unknown): boolean {
  return typeof v === "object" && v !== null && "json" in v && typeof (v as { json: unknown }).json === "object";
}
