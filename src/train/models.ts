// Resolving `--model NAME|FILE`: a built-in model by name, a model's JSON form, or a model file — TypeScript or
// JavaScript, ES module or CommonJS, in any folder, with or without a package.json — whose default export (or
// `model` export, or `module.exports`) is a Model.
//
// A model file is bundled by esbuild into one ES module before it is imported, so its syntax (TypeScript, CommonJS)
// and its folder's package.json do not matter, and its own relative imports come along. Its imports of the package
// itself (`import { model, Normal } from "bayes-serve"`) are bound to this running copy of bayes-serve, so they
// work from a folder where bayes-serve is not installed, and the Model it builds is this copy's Model.
import { TRAIN_DEFAULTS } from "../defaults.js";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BayesServeError } from "../errors.js";
import { Model } from "../model/builder.js";
import { modelFromJSON } from "../model/serialize.js";
import { seedRegression } from "../models/seed-regression.js";

export const BUILTIN_MODELS: Record<string, Model> = { "seed-regression": seedRegression };
export const DEFAULT_MODEL = TRAIN_DEFAULTS.model;

/** The extensions of model files, bundled by esbuild. */
export const MODEL_FILE_EXTENSIONS = [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"];

/** The package's name: what model files import. */
const PACKAGE = "bayes-serve";
/** Where the bundled module finds this copy's public API (a global symbol: the bundle has no path to import it by). */
const API_KEY = "bayes-serve.api";

export async function resolveModel(spec: string = DEFAULT_MODEL): Promise<Model> {
  const builtin = Object.hasOwn(BUILTIN_MODELS, spec) ? BUILTIN_MODELS[spec] : undefined;
  if (builtin) return builtin;
  if (/^(s3|https?):\/\//i.test(spec)) return readRemoteModel(spec);
  const file = path.resolve(spec);
  const ext = path.extname(file);
  if (ext === ".json") {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new BayesServeError("USAGE", `--model ${spec}: cannot read (${(err as NodeJS.ErrnoException).code ?? err})`);
    }
    return modelFromJSONText(text, spec);
  }
  if (MODEL_FILE_EXTENSIONS.includes(ext)) return loadModelFile(file, spec);
  throw new BayesServeError(
    "USAGE",
    `--model ${spec}: not a built-in model (${Object.keys(BUILTIN_MODELS).join(", ")}) nor a model file (.json, ${MODEL_FILE_EXTENSIONS.join(", ")})`,
  );
}

/** Hosts a model file may come from over plain http://: this machine (tests, a local file server). */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The largest model object read from S3 or HTTP: a model file is kilobytes; this only stops a wrong URI's download. */
export const MAX_REMOTE_MODEL_BYTES = 1 << 20;

/**
 * `--model s3://bucket/key` or `https://…`: one object — a model's JSON form or one self-contained model file (its
 * `bayes-serve` imports work; relative imports have no folder to come from) — read as the data are (the same
 * credentials), so that a Kubernetes Job can train a user's model without an image of its own.
 */
async function readRemoteModel(spec: string): Promise<Model> {
  if (spec.endsWith("/")) throw new BayesServeError("USAGE", `--model ${spec}: name one object (a model file), not a prefix`);
  const url = new URL(spec);
  // A model file is code this process runs: not fetched in the clear, where anyone on the path could change it.
  if (url.protocol === "http:" && !LOOPBACK_HOSTS.has(url.hostname))
    throw new BayesServeError("USAGE", `--model ${spec}: a model is code that training runs; fetch it over https:// (or s3://), not http://`);
  const ext = path.extname(url.pathname).toLowerCase();
  if (ext !== ".json" && !MODEL_FILE_EXTENSIONS.includes(ext))
    throw new BayesServeError(
      "USAGE",
      `--model ${spec}: a model object must be a model's JSON form (.json) or a model file (${MODEL_FILE_EXTENSIONS.join(", ")})`,
    );
  const { resolveSource } = await import("./data-source.js");
  const [object] = await resolveSource(spec);
  const { body } = await object.open();
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body) {
      bytes += (chunk as Buffer).length;
      if (bytes > MAX_REMOTE_MODEL_BYTES) {
        body.destroy();
        throw new BayesServeError("USAGE", `--model ${spec}: more than ${MAX_REMOTE_MODEL_BYTES} bytes: not a model file`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof BayesServeError) throw err;
    const why = (err as Error).name === "TimeoutError" ? "the answer did not finish in time" : (err as Error).message;
    throw new BayesServeError("DATA_SOURCE", `${spec}: reading the model failed (${why})`, { cause: err });
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (ext === ".json") return modelFromJSONText(text, spec);
  return loadModelCode({ contents: text, loader: ext.includes("ts") ? "ts" : "js" }, spec);
}

function modelFromJSONText(text: string, spec: string): Model {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new BayesServeError("MODEL_DEFINITION", `${spec}: not valid JSON (${(err as Error).message})`);
  }
  return modelFromJSON(json);
}

async function loadModelFile(file: string, spec: string): Promise<Model> {
  return loadModelCode({ file }, spec);
}

/** A model file on disk, or one file's source read from elsewhere. */
type ModelCode = { file: string } | { contents: string; loader: "ts" | "js" };

async function loadModelCode(source: ModelCode, spec: string): Promise<Model> {
  const api = (await import("../index.js")) as Record<string, unknown>;
  (globalThis as Record<symbol, unknown>)[Symbol.for(API_KEY)] = api;
  const code = await bundle(source, spec, Object.keys(api));
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof BayesServeError) throw err;
    throw new BayesServeError("MODEL_DEFINITION", `${spec}: the model file failed while loading: ${(err as Error).message}`, { cause: err });
  }
  const candidates = [mod.default, (mod.default as Record<string, unknown> | undefined)?.default, mod.model, ...Object.values(mod)];
  const found = candidates.find((v) => v instanceof Model || isModelLike(v));
  if (found instanceof Model) return found;
  if (found !== undefined) return modelFromJSON((found as { json: unknown }).json);
  const exported = Object.keys(mod);
  throw new BayesServeError(
    "MODEL_DEFINITION",
    `${spec}: no model among its exports (${exported.length > 0 ? exported.join(", ") : "none"}); export the value model(...) returns, as \`export default model(...)\` (or \`module.exports = model(...)\`)`,
  );
}

/** The model file and what it imports, as one ES module whose `bayes-serve` imports read this copy's API. */
async function bundle(source: ModelCode, spec: string, apiNames: string[]): Promise<string> {
  const { build } = await import("esbuild");
  // A file read from elsewhere is bundled from memory, as if it sat alone in an empty folder (under its URI's name): its
  // relative and bare imports (other than bayes-serve) find nothing, rather than whatever the working directory holds.
  const folder = "file" in source ? null : await emptyFolder();
  const file = "file" in source ? source.file : path.join(folder!, path.basename(new URL(spec).pathname));
  const shim = `const api = globalThis[Symbol.for(${JSON.stringify(API_KEY)})];\n${apiNames.map((n) => `export const ${n} = api.${n};`).join("\n")}\nexport default api;\n`;
  try {
    const result = await build({
      ...("file" in source
        ? { entryPoints: [file] }
        : { stdin: { contents: source.contents, loader: source.loader, sourcefile: path.basename(file), resolveDir: path.dirname(file) } }),
      bundle: true,
      write: false,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "silent",
      sourcemap: "inline",
      // What the file knows of where it is, as it would running in place.
      define: {
        "import.meta.url": JSON.stringify(pathToFileURL(file).href),
        __filename: JSON.stringify(file),
        __dirname: JSON.stringify(path.dirname(file)),
      },
      plugins: [
        {
          name: "bayes-serve-api",
          setup(b) {
            b.onResolve({ filter: new RegExp(`^${PACKAGE}$`) }, () => ({ path: PACKAGE, namespace: "bayes-serve-api" }));
            b.onLoad({ filter: /.*/, namespace: "bayes-serve-api" }, () => ({ contents: shim, loader: "js" }));
          },
        },
      ],
    });
    return result.outputFiles[0].text;
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    if (errors === undefined) throw new BayesServeError("MODEL_DEFINITION", `${spec}: cannot read the model file (${(err as Error).message})`);
    const first = errors[0];
    // esbuild names files relative to the working directory.
    const at = first.location
      ? `${"file" in source ? path.resolve(first.location.file) : path.basename(first.location.file)}:${first.location.line}:${first.location.column}: `
      : "";
    throw new BayesServeError("MODEL_DEFINITION", `${spec}: ${at}${first.text}${errors.length > 1 ? ` (and ${errors.length - 1} more error(s))` : ""}`);
  } finally {
    if (folder !== null) await rm(folder, { recursive: true, force: true });
  }
}

function isModelLike(v: unknown): boolean {
  return typeof v === "object" && v !== null && "json" in v && typeof (v as { json: unknown }).json === "object";
}

/** A new empty folder under the system's temporary one, where a remote model file is taken to sit. */
function emptyFolder(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "bayes-serve-model-"));
}
