// A model's JSON form, read back with checks: a trained artefact carries its model, and a server rebuilds it from
// this without any of the training code.
import { BayesServeError } from "../errors.js";
import { COLUMN_NAME, intervalProblem, isModelName, Model } from "./builder.js";
import { FAMILIES } from "./families.js";
import { MAX_PARAMETER_ELEMENTS, type ModelJSON } from "./graph.js";
import { nodeInputs } from "./bind.js";

const OPS = new Set(["const", "param", "data", "unary", "binary", "index", "element", "matvec", "sum", "logSumExp", "logp", "covExpQuad", "addDiag"]);
const UNARY = new Set(["neg", "exp", "log", "log1p", "log1m", "logistic", "softplus", "sqrt", "square", "abs", "Phi"]);
const BINARY = new Set(["add", "sub", "mul", "div", "pow"]);

function bad(where: string, msg: string): never {
  throw new BayesServeError("MODEL_DEFINITION", `model JSON: ${where}: ${msg}`);
}

function checkName(where: string, name: unknown): void {
  if (!isModelName(name)) bad(where, `name ${JSON.stringify(name)} must be an identifier (letters, digits, _) and not a built-in property of objects`);
}

const TRANSFORM_KINDS = new Set(["identity", "lower", "upper", "interval", "ordered"]);

/** A parameter's transform: a known kind with finite bounds (the compiler writes them into the generated code). */
function checkTransform(where: string, t: unknown): void {
  if (typeof t !== "object" || t === null || !TRANSFORM_KINDS.has((t as { kind?: unknown }).kind as string))
    bad(where, `must be one of ${[...TRANSFORM_KINDS].map((k) => `{ "kind": "${k}" }`).join(", ")} (with its bounds)`);
  const bounds = t as { kind: string; lower?: unknown; upper?: unknown };
  const needs = { identity: [], ordered: [], lower: ["lower"], upper: ["upper"], interval: ["lower", "upper"] }[bounds.kind] as ("lower" | "upper")[];
  for (const side of needs) if (typeof bounds[side] !== "number" || !Number.isFinite(bounds[side])) bad(where, `${side} must be a finite number`);
  const problem = bounds.kind === "interval" ? intervalProblem(bounds.lower as number, bounds.upper as number) : null;
  if (problem !== null) bad(where, problem);
}

/** A parameter's shape: [] for a scalar, or one extent — a positive integer, or the name of a scalar integer data input. */
function checkShape(where: string, shape: unknown): void {
  if (!Array.isArray(shape) || shape.length > 1) bad(where, "must be [] (a scalar) or [size] (a vector)");
  for (const e of shape)
    if (!(typeof e === "string" ? isModelName(e) : Number.isSafeInteger(e) && (e as number) >= 1 && (e as number) <= MAX_PARAMETER_ELEMENTS))
      bad(where, `size ${JSON.stringify(e)} must be a positive integer up to ${MAX_PARAMETER_ELEMENTS} or the name of a scalar integer data input`);
}

function checkFamily(where: string, d: unknown, nodes: number): void {
  if (typeof d !== "object" || d === null) bad(where, "distribution must be an object");
  const dist = d as { family?: unknown; args?: unknown };
  const fam = dist.family;
  if (typeof fam !== "string" || !(Object.hasOwn(FAMILIES, fam) || fam === "Flat" || fam === "MvNormal")) bad(where, `unknown family ${JSON.stringify(fam)}`);
  if (!Array.isArray(dist.args) || dist.args.some((a) => !Number.isInteger(a) || a < 0 || a >= nodes)) bad(where, "args must be node ids");
}

/** Rebuild a model from its JSON form (as written by `Model.toJSON`). */
export function modelFromJSON(input: unknown): Model {
  if (typeof input !== "object" || input === null) bad("root", "must be an object");
  const j = input as Partial<ModelJSON>;
  if (j.format !== "bayes-serve/model@1") bad("format", `expected "bayes-serve/model@1", got ${JSON.stringify(j.format)}`);
  if (typeof j.name !== "string" || !j.name) bad("name", "must be a non-empty string");
  for (const key of ["nodes", "data", "params", "observes", "factors", "deterministics"] as const) if (!Array.isArray(j[key])) bad(key, "must be an array");
  const nodes = j.nodes!;
  nodes.forEach((n, id) => {
    const where = `nodes[${id}]`;
    if (typeof n !== "object" || n === null || !OPS.has((n as { op: string }).op)) bad(where, "unknown op");
    if (n.op === "unary" && !UNARY.has(n.fn)) bad(where, `unknown unary function ${JSON.stringify(n.fn)}`);
    if (n.op === "binary" && !BINARY.has(n.fn)) bad(where, `unknown binary function ${JSON.stringify(n.fn)}`);
    if (n.op === "const" && !Number.isFinite(n.value)) bad(where, "constant must be finite");
    if (n.op === "logp") checkFamily(where, n.dist, id);
    if (n.op === "element" && !(Number.isInteger(n.k) && n.k >= 0)) bad(where, "k must be a non-negative integer");
    for (const r of nodeInputs(n)) if (!Number.isInteger(r) || r < 0 || r >= id) bad(where, `input ${JSON.stringify(r)} must be the id of an earlier node`);
  });
  j.data!.forEach((d, k) => {
    const where = `data[${k}]`;
    if (typeof d !== "object" || d === null) bad(where, "must be an object with a name");
    checkName(where, d.name);
    if (d.levelsDim !== undefined) checkName(`${where}.levelsDim`, d.levelsDim);
    if (!["float", "integer", "category"].includes(d.kind)) bad(where, `unknown kind ${JSON.stringify(d.kind)}`);
    if (!["scalar", "vector", "matrix"].includes(d.shape)) bad(where, `unknown shape ${JSON.stringify(d.shape)}`);
    // levels is written into generated prediction code (predict/argument-code.ts): checked whenever it is present.
    if (d.levels !== undefined && !(Number.isSafeInteger(d.levels) && (d.levels as number) >= 1)) bad(`${where}.levels`, "must be a positive integer");
    if (d.kind === "category" && d.levels === undefined && d.levelsDim === undefined)
      bad(where, "a category needs a positive integer number of levels (or the size that gives it)");
    if (d.standardize !== undefined && d.standardize !== true && d.standardize !== false && d.standardize !== "center")
      bad(where, 'standardize must be true, false or "center"');
    if (
      d.columns !== undefined &&
      !(Array.isArray(d.columns) && d.columns.length > 0 && d.columns.every((c) => typeof c === "string" && COLUMN_NAME.test(c)) && d.shape === "matrix")
    )
      bad(where, "columns must be a non-empty list of names (letters, digits, _ and .), on a matrix");
    for (const side of ["lower", "upper"] as const)
      if (d[side] !== undefined && !(typeof d[side] === "number" && Number.isFinite(d[side]))) bad(where, `${side} must be a finite number`);
    if (d.lower !== undefined && d.upper !== undefined && !(d.lower < d.upper)) bad(where, "lower must be below upper");
  });
  for (const key of ["params", "observes", "factors", "deterministics"] as const)
    j[key]!.forEach((entry, k) => {
      if (typeof entry !== "object" || entry === null) bad(`${key}[${k}]`, "must be an object");
    });
  j.params!.forEach((p, k) => {
    checkName(`params[${k}]`, (p as { name?: unknown }).name);
    checkShape(`params[${k}].shape`, (p as { shape?: unknown }).shape);
    checkTransform(`params[${k}].transform`, (p as { transform?: unknown }).transform);
    checkFamily(`params[${k}].prior`, p.prior, nodes.length);
  });
  for (const key of ["factors", "deterministics"] as const)
    j[key]!.forEach((f, k) => {
      checkName(`${key}[${k}]`, (f as { name?: unknown }).name);
      const node = (f as { node?: unknown }).node;
      if (!Number.isInteger(node) || (node as number) < 0 || (node as number) >= nodes.length) bad(`${key}[${k}].node`, "must be a node id");
    });
  j.observes!.forEach((o, k) => {
    checkName(`observes[${k}]`, (o as { name?: unknown }).name);
    checkFamily(`observes[${k}].dist`, o.dist, nodes.length);
    if (!Number.isInteger(o.value) || o.value < 0 || o.value >= nodes.length) bad(`observes[${k}].value`, "must be a node id");
  });
  // One namespace, as the builder keeps it; and every data or param node names a declared one.
  const declared = new Set<string>();
  for (const key of ["data", "params", "observes", "factors", "deterministics"] as const)
    j[key]!.forEach((entry, k) => {
      if (declared.has(entry.name)) bad(`${key}[${k}]`, `the name "${entry.name}" is used twice`);
      declared.add(entry.name);
    });
  const dataNames = new Set(j.data!.map((d) => d.name));
  const paramNames = new Set(j.params!.map((p) => p.name));
  nodes.forEach((n, id) => {
    if (n.op === "data" && !dataNames.has(n.name)) bad(`nodes[${id}]`, `data "${n.name}" is not declared in data`);
    if (n.op === "param" && !paramNames.has(n.name)) bad(`nodes[${id}]`, `parameter "${n.name}" is not declared in params`);
  });
  return new Model(j as ModelJSON);
}
