// The prediction loops generated per model from the likelihood's arguments' code (argument-code.ts): the arguments
// computed from the row, checked against the family's domain, the family's draw, mean or log-density inlined — so a
// sample costs a few nanoseconds and a request allocates only its output. Each loop reads the rows of the serving-order
// table (draw-table.ts) one after another: sampling from a random start (wrapping around), the means and
// log-likelihoods from the first row. At a row whose arguments leave the family's domain, the arguments go to A and
// `invalid(A, off)` throws the instance's error.
import type { Family } from "../model/families.js";
import { scalarLogpFunction } from "../model/scalar-logp.js";
import { SPECIAL } from "../model/special.js";
import type { Rng } from "../random/rng.js";
import type { ArgumentCode } from "./argument-code.js";

/**
 * The generated sampling loop for one instance: writes `n` predictive draws to out[start..start+n). X holds the
 * instance's feature values in schema order; A is scratch for the likelihood's arguments.
 */
export type SampleLoop = (
  V: Float64Array,
  total: number,
  width: number,
  rng: Rng,
  X: Float64Array,
  A: Float64Array,
  n: number,
  out: Float64Array,
  start: number,
  /** The table row of the first draw; a random one (from rng) when absent. */
  firstRow?: number,
) => void;
/** The generated mean loop for one instance: E[y | x, θ] for every row of the table, into out[0..total). */
export type MeanLoop = (V: Float64Array, total: number, width: number, X: Float64Array, A: Float64Array, out: Float64Array, rng: Rng) => void;
/** log p(y | x, θ) for the first n rows of the table, into out[0..n). */
export type LogLikLoop = (V: Float64Array, width: number, X: Float64Array, A: Float64Array, y: number, n: number, out: Float64Array, rng: Rng) => void;
/** Throws the error of the instance whose arguments A, at the row starting at offset `off`, break the family's domain. */
export type InvalidArguments = (A: Float64Array, off: number) => never;

/** Samples per pass of the generated loop: its scratch stays a few kilobytes whatever n_samples a request asks for. */
const SAMPLE_CHUNK = 1024;

/**
 * The arguments of the current row as locals a0, a1, …, and the check of the family's domain: when it fails, the
 * arguments go to A and `invalid` throws (naming what failed).
 */
function argumentsAndCheck(code: ArgumentCode, family: Family): string {
  const argCode = code.args;
  const locals = [...code.prelude, ...argCode.map((c, k) => `const a${k} = ${c};`)].join("\n");
  const names = argCode.map((_, k) => `a${k}`);
  const conditions = family
    .domain(names)
    .map((c) => `(${c.code})`)
    .join(" && ");
  const toScratch = names.map((a, k) => `A[${k}] = ${a};`).join(" ");
  return `${locals}\nif (!(${conditions})) { ${toScratch} invalid(A, off); }`;
}

/**
 * The sampling loop over arguments' code: the rows of the serving-order table one after another from a random start
 * (draw-table.ts), the normals of a chunk drawn in one pass for a family drawn from one standard normal.
 */
export function compileSampleLoop(code: ArgumentCode, family: Family, invalid: InvalidArguments): SampleLoop {
  const names = code.args.map((_, k) => `a${k}`);
  // A family drawn from one standard normal gets its normals in one pass (Rng.fillNormal) and the transform inline;
  // others call the family's draw with the arguments in A.
  const sample = family.fromStandardNormal
    ? `out[at + s] = ${family.fromStandardNormal(names, "Z[s]")};`
    : `${names.map((a, k) => `A[${k}] = ${a};`).join("\n")}\nout[at + s] = draw(rng, A);`;
  const source = `"use strict";
const Z = new Float64Array(${family.fromStandardNormal ? SAMPLE_CHUNK : 0});
return function sampleLoop(V, total, width, rng, X, A, n, out, start, firstRow) {
${featureLocals(code)}
let row = firstRow === undefined ? rng.int(total) : firstRow;
for (let done = 0; done < n; done += ${SAMPLE_CHUNK}) {
const m = Math.min(${SAMPLE_CHUNK}, n - done);
const at = start + done;
${family.fromStandardNormal ? "rng.fillNormal(Z, m);" : ""}
let off = row * width;
for (let s = 0; s < m; s++) {
${argumentsAndCheck(code, family)}
${sample}
if (++row === total) {
row = 0;
off = 0;
} else off += width;
}
}
};`;
  return new Function("F", "draw", "invalid", "NL", source)(SPECIAL, family.draw, invalid, code.newElements) as SampleLoop;
}

/** E[y | x, θ] for every row of the table, in order (a new level's element drawn once per row, from `rng`). */
export function compileMeanLoop(code: ArgumentCode, family: Family, invalid: InvalidArguments): MeanLoop {
  const mean = family.mean(code.args.map((_, k) => `a${k}`)) ?? "NaN";
  const source = `"use strict";
return function meanLoop(V, total, width, X, A, out, rng) {
${featureLocals(code)}
let off = 0;
for (let r = 0; r < total; r++, off += width) {
${argumentsAndCheck(code, family)}
out[r] = ${mean};
}
};`;
  return new Function("F", "invalid", "NL", source)(SPECIAL, invalid, code.newElements) as MeanLoop;
}

/** log p(y | args) for each of the first n rows of the table. */
export function compileLogLikLoop(code: ArgumentCode, family: Family, invalid: InvalidArguments): LogLikLoop {
  const toScratch = code.args.map((_, k) => `A[${k}] = a${k};`).join(" ");
  const source = `"use strict";
return function logLikLoop(V, width, X, A, y, n, out, rng) {
${featureLocals(code)}
let off = 0;
for (let r = 0; r < n; r++, off += width) {
${argumentsAndCheck(code, family)}
${toScratch}
out[r] = LP(y, A);
}
};`;
  return new Function("F", "invalid", "NL", "LP", source)(SPECIAL, invalid, code.newElements, scalarLogpFunction(family.name)) as LogLikLoop;
}

/** `const f0 = X[0]; …` for the features the arguments' code reads (X, not F: F is the special functions). */
function featureLocals(code: ArgumentCode): string {
  const used = new Set<number>();
  for (const c of [...code.args, ...code.prelude]) for (const m of c.matchAll(/\bf(\d+)\b/g)) used.add(Number(m[1]));
  return [...used]
    .sort((a, b) => a - b)
    .map((k) => `const f${k} = X[${k}];`)
    .join("\n");
}
