// Sums over a row loop with their loop-invariant factors taken out: Σᵢ (c·uᵢ + d·vᵢ + e) = c·Σᵢ uᵢ + d·Σᵢ vᵢ + n·e.
// Each accumulation into a name declared outside the loop (lp, a scalar parameter's gradient) is expanded into a
// linear form — invariant coefficients times row "atoms" (products of row values) plus an invariant constant —
// looking through the row's constants and its adjoint locals. The loop then sums each distinct atom once, whichever
// accumulations share it, and the coefficients are applied once after the loop. A Student-t row, whose log-density
// and three gradients all read log1p(t²/ν) and t²/(ν + t²)-like terms, goes from five sums with a multiply each to four
// plain ones. A sum of logs, Σ log uᵢ (log1p xᵢ = log(1 + xᵢ) too), is summed as the log of a running product, one log
// per flush instead of one a row (logProductStep): the Student-t's log1p was three quarters of its row's time.
//
// Unlike hoisting (hoist.ts), this changes the order of floating-point operations, so results differ from the plain
// loop in the last bits (CompileOptions.factorSums turns it off). It runs on the hoisted body, and leaves any statement it
// cannot express this way (one reading a value of the row it cannot see through, an opaque one) as it was.
import { assignmentsIn, type Expr, forEachSubexpression, loopWrites, parseStatement, printExpr, printStatement, type Statement } from "./hoist.js";

/** coef · atom; a null atom is the constant term. */
interface Term {
  coef: Expr;
  atom: Expr | null;
}
type Linear = Term[] | null;

const ZERO: Expr = { k: "num", text: "0" };
const ONE: Expr = { k: "num", text: "1" };
const MINUS_ONE: Expr = { k: "num", text: "-1" };

function times(a: Expr, b: Expr): Expr {
  if (a.k === "num" && a.text === "1") return b;
  if (b.k === "num" && b.text === "1") return a;
  return { k: "binary", op: "*", a, b };
}

function scale(l: Term[], c: Expr): Term[] {
  return l.map((t) => ({ coef: times(c, t.coef), atom: t.atom }));
}

const isZero = (e: Expr) => e.k === "num" && Number(e.text) === 0;

export interface FactorContext {
  loopVar: string;
  /** The loop's number of rows, as code (a shard's count in the sharded form). */
  rowCount: string;
  fresh(prefix: string): string;
}

/**
 * Rewrites one row loop's body (already hoisted). Returns the new `pre` (the atoms' sums declared), `body`, and `after`
 * (the accumulations of the coefficients times the sums, to run right after the loop), or null when nothing gains.
 */
export function factorSums(pre: string[], body: string[], ctx: FactorContext): { pre: string[]; body: string[]; after: string[] } | null {
  const statements = body.map(parseStatement);
  const { declaredConst, declaredLet, assigned, writtenArrays } = loopWrites(statements);
  const declared = new Set([...declaredConst, ...declaredLet]);
  const opaqueText = statements.filter((s) => s.k === "opaque").map((s) => (s as { text: string }).text);

  // Accumulators: names from outside the loop that the body only adds to (never reads, never sets otherwise).
  const readCount = new Map<string, number>();
  for (const s of statements) forEachRead(s, (name) => readCount.set(name, (readCount.get(name) ?? 0) + 1));
  const mentionedOpaquely = (name: string) => opaqueText.some((t) => new RegExp(`(?<![\\w$])${name.replace(/\$/g, "\\$")}(?![\\w$])`).test(t));
  const isAccumulator = (name: string) =>
    !declared.has(name) &&
    name !== ctx.loopVar &&
    !readCount.has(name) &&
    !mentionedOpaquely(name) &&
    statements.every((s) => s.k !== "assign" || s.target.k !== "id" || s.target.name !== name || s.op === "+=");

  /** Invariant: reads no name of the row (its locals, the loop variable, anything assigned in it) and calls nothing. */
  const invariant = (e: Expr): boolean => {
    switch (e.k) {
      case "num":
        return true;
      case "id":
        return e.name !== ctx.loopVar && !declared.has(e.name) && !assigned.has(e.name);
      case "index":
        return e.obj.k === "id" && !writtenArrays.has(e.obj.name) && invariant(e.obj) && invariant(e.index);
      case "unary":
        return invariant(e.a);
      case "binary":
        return (e.op === "+" || e.op === "-" || e.op === "*" || e.op === "/") && invariant(e.a) && invariant(e.b);
      default:
        return false;
    }
  };
  /** May be summed wherever it is computed: reads no `let` of the row (whose value depends on where it is read). */
  /** The row's constants as linear forms, taken where each is defined. */
  const consts = new Map<string, Linear>();
  const lets = new Map<string, Term[] | null>();
  const positionFree = (e: Expr): boolean => {
    switch (e.k) {
      case "id":
        return !lets.has(e.name) && !assigned.has(e.name);
      case "member":
        return positionFree(e.obj);
      case "index":
        return positionFree(e.obj) && positionFree(e.index) && !(e.obj.k === "id" && writtenArrays.has(e.obj.name));
      case "call":
        return e.args.every(positionFree);
      case "unary":
        return positionFree(e.a);
      case "binary":
        return positionFree(e.a) && positionFree(e.b);
      case "cond":
        return positionFree(e.test) && positionFree(e.then) && positionFree(e.else);
      default:
        return true;
    }
  };

  const atom = (e: Expr): Linear => (positionFree(e) ? [{ coef: ONE, atom: e }] : null);

  /** e as a linear form over atoms, or null when it reads a value of the row that cannot be placed anywhere. */
  const linear = (e: Expr): Linear => {
    if (invariant(e)) return isZero(e) ? [] : [{ coef: e, atom: null }];
    switch (e.k) {
      case "id": {
        if (lets.has(e.name)) return lets.get(e.name)!;
        // A row constant is looked through when it is one term (c·u, or invariant); otherwise it stays a name, so that
        // products with it stay single terms and it is summed once, not as its parts.
        const l = consts.get(e.name);
        if (l && l.length <= 1 && !(l.length === 1 && l[0].atom !== null && l[0].coef === ONE)) return l;
        return atom(e);
      }
      case "unary":
        if (e.op === "-") {
          const l = linear(e.a);
          return l && scale(l, MINUS_ONE);
        }
        return atom(e);
      case "binary": {
        if (e.op === "+" || e.op === "-") {
          const a = linear(e.a);
          const b = linear(e.b);
          if (a === null || b === null) return null;
          return [...a, ...(e.op === "-" ? scale(b, MINUS_ONE) : b)];
        }
        if (e.op === "*") {
          const a = linear(e.a);
          const b = linear(e.b);
          if (a === null || b === null) return null;
          // An empty form is an exact zero: as a factor it stays a coefficient of 0, so that 0 · ∞ is NaN after the
          // loop as it was in the row.
          const constant = (l: Term[]): Expr | null => {
            if (l.length === 0) return ZERO;
            return l.every((t) => t.atom === null) ? l.map((t) => t.coef).reduce((x, y) => ({ k: "binary", op: "+", a: x, b: y })) : null;
          };
          const ca = constant(a);
          if (ca) return scale(b, ca);
          const cb = constant(b);
          if (cb) return scale(a, cb);
          // A product of two single terms: (c·u)(d·v) = (c·d)·(u·v).
          if (a.length === 1 && b.length === 1) return [{ coef: times(a[0].coef, b[0].coef), atom: { k: "binary", op: "*", a: a[0].atom!, b: b[0].atom! } }];
          return atom(e);
        }
        return atom(e);
      }
      default:
        return atom(e);
    }
  };

  // Walk the body in order, expanding accumulations; a `let` of the row is followed as the sum of what it was given
  // so far, so each read sees the value it has at that point.
  const factored = new Map<string, Term[]>();
  const keep: Statement[] = [];
  let removed = 0;
  for (const s of statements) {
    if (s.k === "decl") {
      if (s.kind === "const") consts.set(s.name, linear(s.init));
      else lets.set(s.name, linear(s.init));
      keep.push(s);
      continue;
    }
    if (s.k === "opaque") {
      // A `let` this statement may set can no longer be followed.
      const setHere = new Set<string>();
      assignmentsIn(s.text, setHere, new Set());
      for (const name of setHere) if (lets.has(name)) lets.set(name, null);
      keep.push(s);
      continue;
    }
    if (s.k === "assign" && s.target.k === "id" && lets.has(s.target.name)) {
      const name = s.target.name;
      const so = s.op === "=" ? [] : lets.get(name)!;
      const add = so && linear(s.value);
      lets.set(name, so && add ? [...so, ...add] : null);
      keep.push(s);
      continue;
    }
    if (s.k === "assign" && s.target.k === "id" && s.op === "+=") {
      const name = s.target.name;
      if (isAccumulator(name)) {
        const l = linear(s.value);
        if (l !== null) {
          factored.set(name, [...(factored.get(name) ?? []), ...l]);
          removed++;
          continue;
        }
      }
    }
    keep.push(s);
  }
  if (removed === 0) return null;

  // One sum per distinct atom.
  const sums = new Map<string, { name: string; atom: Expr }>();
  for (const terms of factored.values())
    for (const t of terms) if (t.atom && !sums.has(printExpr(t.atom))) sums.set(printExpr(t.atom), { name: ctx.fresh("R"), atom: t.atom });
  // Worth it only when the loop ends with fewer sums than it had accumulations.
  if (sums.size >= removed) return null;

  // Sums of logs, Σ log uᵢ, taken as the log of a running product (logProductStep): one log per flush, not one a row.
  const constInits = new Map<string, Expr>();
  for (const s of statements) if (s.k === "decl" && s.kind === "const") constInits.set(s.name, s.init);
  const products = new Map<string, LogCall>();
  for (const [key, s] of sums) {
    const call = logCall(s.atom, constInits);
    if (call !== null && positionFree(call.arg)) products.set(key, call);
  }
  const sumReads = [...sums].map(([key, s]) => (products.has(key) ? products.get(key)!.call : s.atom));

  const live = eliminateDead(keep, opaqueText, sumReads, factored);
  const after: string[] = [];
  for (const [name, terms] of factored) {
    const parts: string[] = [];
    const constants = terms.filter((t) => t.atom === null).map((t) => printExpr(t.coef));
    const byAtom = new Map<string, string[]>();
    for (const t of terms) if (t.atom) byAtom.set(printExpr(t.atom), [...(byAtom.get(printExpr(t.atom)) ?? []), printExpr(t.coef)]);
    for (const [key, coefs] of byAtom) parts.push(`(${coefs.join(" + ")}) * ${sums.get(key)!.name}`);
    if (constants.length > 0) parts.push(`${ctx.rowCount} * (${constants.join(" + ")})`);
    // Every term was a literal zero (a data weight of 0, say): nothing to add.
    if (parts.length === 0) continue;
    after.push(`${name} += ${parts.join(" + ")};`);
  }
  return {
    pre: [
      ...pre,
      ...[...sums].map(([key, s]) =>
        !products.has(key)
          ? `let ${s.name} = 0;`
          : products.get(key)!.fn === "log1p"
            ? `let ${s.name} = 0, ${s.name}p = 1, ${s.name}q = 0;`
            : `let ${s.name} = 0, ${s.name}p = 1;`,
      ),
    ],
    body: [
      ...live.map(printStatement),
      ...[...sums].map(([key, s]) => (products.has(key) ? logProductStep(s.name, products.get(key)!) : `${s.name} += ${printExpr(s.atom)};`)),
    ],
    after: [
      ...[...sums]
        .filter(([key]) => products.has(key))
        .map(([key, s]) => (products.get(key)!.fn === "log1p" ? `${s.name} += F.log(${s.name}p) + F.log1p(${s.name}q);` : `${s.name} += F.log(${s.name}p);`)),
      ...after,
    ],
  };
}

/** A row value that is F.log(arg) or F.log1p(arg), directly or as a row constant defined so. */
interface LogCall {
  fn: "log" | "log1p";
  arg: Expr;
  call: Expr;
}

function logCall(atom: Expr, constInits: Map<string, Expr>): LogCall | null {
  const e = atom.k === "id" ? constInits.get(atom.name) : atom;
  if (e === undefined || e.k !== "call" || e.args.length !== 1) return null;
  const fn = e.fn;
  if (fn.k !== "member" || fn.obj.k !== "id" || fn.obj.name !== "F" || (fn.prop !== "log" && fn.prop !== "log1p")) return null;
  return { fn: fn.prop, arg: e.args[0], call: e };
}

/**
 * Factors within [2^-500, 2^500] are multiplied into the running product; while the product stays in that range too,
 * the next product lies within [2^-1000, 2^1000] — normal doubles, no overflow or underflow. A product leaving the
 * range is flushed (its log added to the sum); a factor outside it (0, negative, NaN, ∞, huge, tiny) goes to the sum
 * as its own log, so the sum is what the plain loop gives, to rounding: a product's relative rounding error grows by
 * half an ulp a factor, the absolute error of a log's sum by half an ulp of the sum a term.
 */
const PRODUCT_MIN = 2 ** -500;
const PRODUCT_MAX = 2 ** 500;

/**
 * One row's step of sum `name` as a running product `name`p. For log1p(x), a factor 1 + x with x in (−½, 1) is first
 * multiplied into `name`q, the running product minus 1 (q ← q + x + q·x): formed as 1 + x, a small x would keep only
 * the bits of it above 2⁻⁵³, an absolute error of half an ulp of 1 in each term however small log1p(x) is — for the
 * Student-t at ν = 10⁸, whose −(ν + 1)/2 · Σ log1p(t²/ν) scales it by ν, an lp off by 1e-9 a row and ∂/∂ν 5 times too
 * large. Kept minus 1, the product's rounding is relative to its distance from 1, as log1p's is to x; it moves into
 * `name`p when it leaves (−½, 1), where 1 + q loses nothing that matters.
 */
function logProductStep(name: string, c: LogCall): string {
  const arg = printExpr(c.arg);
  const u = `${name}u`;
  const p = `${name}p`;
  const q = `${name}q`;
  const inRange = (v: string) => `${v} > ${PRODUCT_MIN} && ${v} < ${PRODUCT_MAX}`;
  const multiply = (factor: string) => `${p} *= ${factor}; if (!(${inRange(p)})) { ${name} += F.log(${p}); ${p} = 1; }`;
  if (c.fn === "log") return `{ const ${u} = ${arg}; if (${inRange(u)}) { ${multiply(u)} } else ${name} += ${printExpr(c.call)}; }`;
  const near1 = (v: string) => `${v} > -0.5 && ${v} < 1`;
  return (
    `{ const ${u} = ${arg}; ` +
    `if (${near1(u)}) { ${q} = ${q} + ${u} + ${q} * ${u}; if (!(${near1(q)})) { ${multiply(`(1 + ${q})`)} ${q} = 0; } } ` +
    `else if (${inRange(`1 + ${u}`)}) { ${multiply(`(1 + ${u})`)} } ` +
    `else ${name} += ${printExpr(c.call)}; }`
  );
}

/** Calls `visit` with each name `e` reads. */
function namesIn(e: Expr, visit: (name: string) => void): void {
  forEachSubexpression(e, (x) => {
    if (x.k === "id") visit(x.name);
  });
}

/** Calls `visit` with each name a parsed statement reads (its value, and an indexed target's array and index). */
function forEachRead(s: Statement, visit: (name: string) => void): void {
  if (s.k === "decl") namesIn(s.init, visit);
  else if (s.k === "assign") {
    if (s.target.k === "index") namesIn(s.target, visit);
    namesIn(s.value, visit);
  }
}

/** The kept statements minus the row's locals that nothing reads any more (repeatedly: a dead local's inputs may die). */
function eliminateDead(statements: Statement[], opaqueText: string[], sumReads: Expr[], factored: Map<string, Term[]>): Statement[] {
  let current = statements;
  for (;;) {
    const reads = new Set<string>();
    const note = (name: string) => reads.add(name);
    for (const s of current) forEachRead(s, note);
    for (const e of sumReads) namesIn(e, note);
    for (const terms of factored.values()) for (const t of terms) namesIn(t.coef, note);
    const dead = (name: string) => !reads.has(name) && !opaqueText.some((t) => t.includes(name));
    const next = current.filter((s) => {
      if (s.k === "decl") return !dead(s.name);
      // A dead row variable goes with every assignment to it.
      if (s.k === "assign" && s.target.k === "id" && current.some((d) => d.k === "decl" && d.name === (s.target as { name: string }).name))
        return !dead(s.target.name);
      return true;
    });
    if (next.length === current.length) return next;
    current = next;
  }
}
