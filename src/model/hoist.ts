// Loop-invariant hoisting for the generated log-density code, as one general rule over the code the templates and
// operations emit (families.ts, ops.ts), so that no family needs special cases. For one loop over data rows
// (`for (let i = 0; i < n; i++) { body }` with `pre` run before it), every subexpression of the body is classed by
// what it depends on:
//   const — literals and pure functions of them, and static data read at a fixed position: evaluated now, at
//           compile time, and written as a literal;
//   data  — the row's data only (static arrays read at i, and locals defined from them): when it holds a function
//           call or a division, computed for every row once, when the data are bound, into a static array read at i
//           (the Poisson's lgamma(y + 1), say);
//   invariant — values fixed for the whole loop (parameters, hoisted scalars): computed once per log-density
//           evaluation, in `pre` (the Student-t's digamma((ν + 1)/2) − digamma(ν/2), say);
//   row   — anything else: stays in the loop, where repeated calls on the same arguments are computed once.
// Only whole subexpressions move, printed with every operation parenthesised as parsed, so each value is computed by
// the same operations in the same order as before: the results are identical to the bit.
//
// Statements the parser does not recognise (loops, lane scatters) are left as they are, and every name they assign
// is treated as changing inside the loop.

export type Expr =
  | { k: "num"; text: string }
  | { k: "id"; name: string }
  | { k: "member"; obj: Expr; prop: string }
  | { k: "index"; obj: Expr; index: Expr }
  | { k: "call"; fn: Expr; args: Expr[] }
  | { k: "unary"; op: string; a: Expr }
  | { k: "binary"; op: string; a: Expr; b: Expr }
  | { k: "cond"; test: Expr; then: Expr; else: Expr };

export type Statement =
  | { k: "decl"; kind: "const" | "let"; name: string; init: Expr }
  | { k: "assign"; target: Extract<Expr, { k: "id" } | { k: "index" }>; op: "=" | "+="; value: Expr }
  | { k: "opaque"; text: string };

// ---- parsing -------------------------------------------------------------------------------------------------------

const TOKEN = /\s*(?:(\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_$][\w$]*)|(===|!==|<=|>=|\+=|&&|\|\||[-+*/<>()[\],.?:=!;]))/y;

function tokenize(src: string): string[] | null {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(src);
    if (m === null) return null;
    out.push(m[1] ?? m[2] ?? m[3]);
    pos = TOKEN.lastIndex;
  }
  return out;
}

const BINARY_PRECEDENCE: Record<string, number> = {
  "||": 1,
  "&&": 2,
  "===": 3,
  "!==": 3,
  "<": 4,
  ">": 4,
  "<=": 4,
  ">=": 4,
  "+": 5,
  "-": 5,
  "*": 6,
  "/": 6,
};

class Parser {
  private p = 0;
  constructor(private readonly t: string[]) {}
  peek(): string | undefined {
    return this.t[this.p];
  }
  next(): string {
    const tok = this.t[this.p++];
    if (tok === undefined) throw new SyntaxError("unexpected end");
    return tok;
  }
  expect(tok: string): void {
    if (this.next() !== tok) throw new SyntaxError(`expected ${tok}`);
  }
  done(): boolean {
    return this.p >= this.t.length;
  }
  expr(): Expr {
    const test = this.binary(1);
    if (this.peek() !== "?") return test;
    this.next();
    const then = this.expr();
    this.expect(":");
    return { k: "cond", test, then, else: this.expr() };
  }
  private binary(min: number): Expr {
    let a = this.unary();
    for (;;) {
      const op = this.peek();
      const prec = op === undefined ? undefined : BINARY_PRECEDENCE[op];
      if (prec === undefined || prec < min) return a;
      this.next();
      a = { k: "binary", op: op!, a, b: this.binary(prec + 1) };
    }
  }
  private unary(): Expr {
    const op = this.peek();
    if (op === "-" || op === "+" || op === "!") {
      this.next();
      return { k: "unary", op, a: this.unary() };
    }
    return this.postfix();
  }
  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      const tok = this.peek();
      if (tok === ".") {
        this.next();
        const prop = this.next();
        if (!/^[A-Za-z_$]/.test(prop)) throw new SyntaxError("bad member");
        e = { k: "member", obj: e, prop };
      } else if (tok === "[") {
        this.next();
        const index = this.expr();
        this.expect("]");
        e = { k: "index", obj: e, index };
      } else if (tok === "(") {
        this.next();
        const args: Expr[] = [];
        if (this.peek() !== ")")
          for (;;) {
            args.push(this.expr());
            if (this.peek() === ",") this.next();
            else break;
          }
        this.expect(")");
        e = { k: "call", fn: e, args };
      } else return e;
    }
  }
  private primary(): Expr {
    const tok = this.next();
    if (tok === "(") {
      const e = this.expr();
      this.expect(")");
      return e;
    }
    if (/^[\d.]/.test(tok)) return { k: "num", text: tok };
    if (/^[A-Za-z_$]/.test(tok) && !KEYWORDS.has(tok)) return { k: "id", name: tok };
    throw new SyntaxError(`unexpected ${tok}`);
  }
}

const KEYWORDS = new Set(["const", "let", "var", "for", "if", "return", "function", "new", "typeof", "while", "do", "else"]);

export function parseStatement(line: string): Statement {
  const tokens = tokenize(line);
  if (tokens === null || tokens.length < 3 || tokens[tokens.length - 1] !== ";") return { k: "opaque", text: line };
  try {
    const ps = new Parser(tokens.slice(0, -1));
    let s: Statement;
    if (tokens[0] === "const" || tokens[0] === "let") {
      ps.next();
      const name = ps.next();
      if (!/^[A-Za-z_$][\w$]*$/.test(name) || KEYWORDS.has(name)) return { k: "opaque", text: line };
      ps.expect("=");
      s = { k: "decl", kind: tokens[0], name, init: ps.expr() };
    } else {
      const target = ps.expr();
      if (target.k !== "id" && target.k !== "index") return { k: "opaque", text: line };
      const op = ps.next();
      if (op !== "=" && op !== "+=") return { k: "opaque", text: line };
      s = { k: "assign", target, op, value: ps.expr() };
    }
    return ps.done() ? s : { k: "opaque", text: line };
  } catch {
    return { k: "opaque", text: line };
  }
}

// ---- printing ------------------------------------------------------------------------------------------------------

export function printExpr(e: Expr): string {
  switch (e.k) {
    case "num":
      return e.text;
    case "id":
      return e.name;
    case "member":
      return `${printExpr(e.obj)}.${e.prop}`;
    case "index":
      return `${printExpr(e.obj)}[${printExpr(e.index)}]`;
    case "call":
      return `${printExpr(e.fn)}(${e.args.map(printExpr).join(", ")})`;
    case "unary":
      return `(${e.op}${printExpr(e.a)})`;
    case "binary":
      return `(${printExpr(e.a)} ${e.op} ${printExpr(e.b)})`;
    case "cond":
      return `(${printExpr(e.test)} ? ${printExpr(e.then)} : ${printExpr(e.else)})`;
  }
}

export function printStatement(s: Statement): string {
  switch (s.k) {
    case "decl":
      return `${s.kind} ${s.name} = ${printExpr(s.init)};`;
    case "assign":
      return `${printExpr(s.target)} ${s.op} ${printExpr(s.value)};`;
    case "opaque":
      return s.text;
  }
}

/** A number as a literal that reads back as the same double. */
export function numberLiteral(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "(-Infinity)";
  return v < 0 || Object.is(v, -0) ? `(${v})` : String(v);
}

// ---- classing and rewriting ----------------------------------------------------------------------------------------

const CONST = 0;
const INVARIANT = 1;
const DATA = 2;
const ROW = 4;

/** What the optimiser needs from the code generator. */
export interface LoopContext {
  /** The row index variable, or null for code that is not a row loop (only constant folding applies). */
  loopVar: string | null;
  /** Names bound to static (parameter-free) arrays: the data and values computed from it when it was bound. */
  staticArrays: ReadonlySet<string>;
  /** Evaluates an expression of constants and static arrays (read at fixed positions) now. */
  evaluate(code: string): number;
  /** Computes `code` (over the row index `i` and static arrays) for every row now; returns the array's name. */
  precompute(code: string): string;
  /** A fresh name for a hoisted or shared temporary. */
  fresh(prefix: string): string;
}

interface Analysis {
  cls: number;
  /** Holds a function call or a division: worth computing once instead of per row. */
  costly: boolean;
  /** A compound value worth a temporary when invariant (not a bare name or literal). */
  compound: boolean;
  /** Reads only names that never change inside the loop (safe to share between statements). */
  stable: boolean;
}

const PURE_CALLEES = new Set(["Math", "F"]);

/**
 * Rewrites one row loop: `pre` runs once before it, `body` per row. Returns the new `pre` (with the hoisted
 * invariants appended) and `body`.
 */
export function optimiseLoop(pre: string[], body: string[], ctx: LoopContext): { pre: string[]; body: string[] } {
  const preStatements = pre.map(parseStatement).map((s) => foldStatement(s, ctx));
  const statements = body.map(parseStatement);

  // What changes inside the loop: its `let`s and whatever it assigns count as assigned.
  const writes = loopWrites(statements);
  const { declaredConst, writtenArrays } = writes;
  const assigned = new Set([...writes.declaredLet, ...writes.assigned]);
  // A name both declared const and assigned elsewhere (should not happen) counts as changing.
  for (const n of assigned) declaredConst.delete(n);

  /** Body constants: their class and their definition, inlined where an expression moves out of the loop. */
  const locals = new Map<string, { cls: number; def: Expr }>();
  const hoisted = new Map<string, string>();
  const precomputed = new Map<string, string>();
  const newPre: string[] = [];

  const isRowLoop = ctx.loopVar !== null;

  function analyse(e: Expr): Analysis {
    switch (e.k) {
      case "num":
        return { cls: CONST, costly: false, compound: false, stable: true };
      case "id": {
        if (e.name === "Infinity" || e.name === "NaN" || e.name === "undefined") return { cls: CONST, costly: false, compound: false, stable: true };
        if (isRowLoop && e.name === ctx.loopVar) return { cls: DATA, costly: false, compound: false, stable: true };
        const local = locals.get(e.name);
        if (local) return { cls: local.cls, costly: false, compound: false, stable: true };
        if (assigned.has(e.name) || declaredConst.has(e.name)) return { cls: ROW, costly: false, compound: false, stable: !assigned.has(e.name) };
        return { cls: INVARIANT, costly: false, compound: false, stable: true };
      }
      case "member": {
        // Only Math.PI-like constants appear as values; treat anything else as unknown.
        if (e.obj.k === "id" && e.obj.name === "Math") return { cls: CONST, costly: false, compound: false, stable: true };
        return { cls: ROW, costly: true, compound: true, stable: false };
      }
      case "index": {
        const ix = analyse(e.index);
        const arr = e.obj.k === "id" ? e.obj.name : null;
        if (arr === null) return { cls: ROW, costly: false, compound: true, stable: false };
        if (writtenArrays.has(arr) || assigned.has(arr) || declaredConst.has(arr)) return { cls: ROW, costly: false, compound: true, stable: false };
        if (ctx.staticArrays.has(arr)) return { cls: ix.cls, costly: ix.costly, compound: true, stable: ix.stable };
        // A non-static array (a parameter, a materialised value): fixed for the loop at a fixed position, else per row.
        return { cls: ix.cls === CONST || ix.cls === INVARIANT ? INVARIANT : ROW, costly: ix.costly, compound: true, stable: ix.stable };
      }
      case "call": {
        const callee = e.fn.k === "member" && e.fn.obj.k === "id" && PURE_CALLEES.has(e.fn.obj.name) ? e.fn : null;
        let cls = callee ? CONST : ROW;
        let stable = callee !== null;
        for (const a of e.args) {
          const r = analyse(a);
          cls |= r.cls;
          stable &&= r.stable;
        }
        return { cls, costly: true, compound: true, stable };
      }
      case "unary": {
        const r = analyse(e.a);
        return { cls: r.cls, costly: r.costly, compound: true, stable: r.stable };
      }
      case "binary": {
        const a = analyse(e.a);
        const b = analyse(e.b);
        return { cls: a.cls | b.cls, costly: a.costly || b.costly || e.op === "/", compound: true, stable: a.stable && b.stable };
      }
      case "cond": {
        const t = analyse(e.test);
        const a = analyse(e.then);
        const b = analyse(e.else);
        return { cls: t.cls | a.cls | b.cls, costly: t.costly || a.costly || b.costly, compound: true, stable: t.stable && a.stable && b.stable };
      }
    }
  }

  /** `e` with body constants replaced by their definitions, so that it can be evaluated outside the loop. */
  function inlineLocals(e: Expr): Expr {
    switch (e.k) {
      case "id": {
        const local = locals.get(e.name);
        return local ? local.def : e;
      }
      case "member":
        return { ...e, obj: inlineLocals(e.obj) };
      case "index":
        return { ...e, obj: inlineLocals(e.obj), index: inlineLocals(e.index) };
      case "call":
        return { ...e, fn: e.fn, args: e.args.map(inlineLocals) };
      case "unary":
        return { ...e, a: inlineLocals(e.a) };
      case "binary":
        return { ...e, a: inlineLocals(e.a), b: inlineLocals(e.b) };
      case "cond":
        return { ...e, test: inlineLocals(e.test), then: inlineLocals(e.then), else: inlineLocals(e.else) };
      default:
        return e;
    }
  }

  /** Rewrites the maximal movable subexpressions of `e`. */
  function rewrite(e: Expr): Expr {
    const r = analyse(e);
    if (r.compound && r.stable) {
      if (r.cls === CONST) return { k: "num", text: numberLiteral(ctx.evaluate(printExpr(inlineLocals(e)))) };
      if (r.cls === INVARIANT && isRowLoop) {
        const code = printExpr(foldExpr(inlineLocals(e), ctx));
        let name = hoisted.get(code);
        if (name === undefined) {
          name = ctx.fresh("h");
          hoisted.set(code, name);
          newPre.push(`const ${name} = ${code};`);
        }
        return { k: "id", name };
      }
      if (r.cls === DATA && isRowLoop && r.costly) {
        const code = printExpr(inlineLocals(e));
        let name = precomputed.get(code);
        if (name === undefined) {
          name = ctx.precompute(code);
          precomputed.set(code, name);
        }
        return { k: "index", obj: { k: "id", name }, index: { k: "id", name: ctx.loopVar! } };
      }
    }
    switch (e.k) {
      case "index":
        return { ...e, index: rewrite(e.index) };
      case "call":
        return { ...e, args: e.args.map(rewrite) };
      case "unary":
        return { ...e, a: rewrite(e.a) };
      case "binary":
        return { ...e, a: rewrite(e.a), b: rewrite(e.b) };
      case "cond":
        return { ...e, test: rewrite(e.test), then: rewrite(e.then), else: rewrite(e.else) };
      default:
        return e;
    }
  }

  const rewritten: Statement[] = statements.map((s) => {
    if (s.k === "opaque") return s;
    if (s.k === "decl") {
      const init = rewrite(s.init);
      if (s.kind === "const") {
        const r = analyse(init);
        if (r.stable && (r.cls === DATA || r.cls === CONST || (r.cls === INVARIANT && isRowLoop))) locals.set(s.name, { cls: r.cls, def: inlineLocals(init) });
      }
      return { ...s, init };
    }
    const target = s.target.k === "index" ? { ...s.target, index: rewrite(s.target.index) } : s.target;
    return { ...s, target, value: rewrite(s.value) };
  });

  const shared = isRowLoop ? shareRepeatedCalls(rewritten, ctx, analyse) : rewritten;
  return { pre: [...preStatements.map(printStatement), ...newPre], body: shared.map(printStatement) };
}

/**
 * The names an unparsed statement assigns (`x = …`, `x += …`, `x++`, a declaration) and the arrays it writes
 * (`a[…] += …`, the index possibly holding brackets of its own).
 */
/** What a loop body changes: the names it declares (const, let), the names it assigns (by `=`, `+=`, or inside an
 * opaque statement), and the arrays it writes element by element. */
export function loopWrites(statements: Statement[]): {
  declaredConst: Set<string>;
  declaredLet: Set<string>;
  assigned: Set<string>;
  writtenArrays: Set<string>;
} {
  const declaredConst = new Set<string>();
  const declaredLet = new Set<string>();
  const assigned = new Set<string>();
  const writtenArrays = new Set<string>();
  for (const s of statements) {
    if (s.k === "decl") (s.kind === "const" ? declaredConst : declaredLet).add(s.name);
    else if (s.k === "assign") {
      if (s.target.k === "id") assigned.add(s.target.name);
      else if (s.target.obj.k === "id") writtenArrays.add(s.target.obj.name);
    } else assignmentsIn(s.text, assigned, writtenArrays);
  }
  return { declaredConst, declaredLet, assigned, writtenArrays };
}

export function assignmentsIn(text: string, assigned: Set<string>, writtenArrays: Set<string>): void {
  for (const m of text.matchAll(/\b(?:let|const|var)\s+([A-Za-z_$][\w$]*)/g)) assigned.add(m[1]);
  for (const m of text.matchAll(/\+\+|--|(?<![=!<>])[-+*/%&|^]?=(?!=)/g)) {
    let end = m.index;
    while (end > 0 && text[end - 1] === " ") end--;
    if (text[end - 1] === "]") {
      let depth = 0;
      let k = end - 1;
      for (; k >= 0; k--) {
        if (text[k] === "]") depth++;
        else if (text[k] === "[" && --depth === 0) break;
      }
      const name = /([A-Za-z_$][\w$]*)\s*$/.exec(text.slice(0, Math.max(k, 0)));
      if (name) writtenArrays.add(name[1]);
    } else {
      const name = /([A-Za-z_$][\w$]*)$/.exec(text.slice(0, end));
      if (name) assigned.add(name[1]);
    }
  }
}

/** Constant folding outside loops: a `pre` statement's constant subexpressions evaluated now. */
function foldStatement(s: Statement, ctx: LoopContext): Statement {
  if (s.k === "opaque") return s;
  const fold = (e: Expr) => foldExpr(e, ctx);
  if (s.k === "decl") return { ...s, init: fold(s.init) };
  return { ...s, value: fold(s.value) };
}

/** `e` with its constant subexpressions evaluated now. */
function foldExpr(e: Expr, ctx: LoopContext): Expr {
  const fold = (e: Expr): Expr => {
    if (isConstant(e, ctx) && e.k !== "num") return { k: "num", text: numberLiteral(ctx.evaluate(printExpr(e))) };
    switch (e.k) {
      case "index":
        return { ...e, index: fold(e.index) };
      case "call":
        return { ...e, args: e.args.map(fold) };
      case "unary":
        return { ...e, a: fold(e.a) };
      case "binary":
        return { ...e, a: fold(e.a), b: fold(e.b) };
      case "cond":
        return { ...e, test: fold(e.test), then: fold(e.then), else: fold(e.else) };
      default:
        return e;
    }
  };
  return fold(e);
}

function isConstant(e: Expr, ctx: LoopContext): boolean {
  switch (e.k) {
    case "num":
      return true;
    case "id":
      return e.name === "Infinity" || e.name === "NaN";
    case "member":
      return e.obj.k === "id" && e.obj.name === "Math";
    case "index":
      return e.obj.k === "id" && ctx.staticArrays.has(e.obj.name) && isConstant(e.index, ctx);
    case "call":
      return e.fn.k === "member" && e.fn.obj.k === "id" && PURE_CALLEES.has(e.fn.obj.name) && e.args.every((a) => isConstant(a, ctx));
    case "unary":
      return isConstant(e.a, ctx);
    case "binary":
      return isConstant(e.a, ctx) && isConstant(e.b, ctx);
    case "cond":
      return isConstant(e.test, ctx) && isConstant(e.then, ctx) && isConstant(e.else, ctx);
  }
}

/** Calls `f` on `e` and on every expression inside it, parents before their parts. */
export function forEachSubexpression(e: Expr, f: (e: Expr) => void): void {
  f(e);
  switch (e.k) {
    case "member":
      forEachSubexpression(e.obj, f);
      return;
    case "index":
      forEachSubexpression(e.obj, f);
      forEachSubexpression(e.index, f);
      return;
    case "call":
      forEachSubexpression(e.fn, f);
      for (const a of e.args) forEachSubexpression(a, f);
      return;
    case "unary":
      forEachSubexpression(e.a, f);
      return;
    case "binary":
      forEachSubexpression(e.a, f);
      forEachSubexpression(e.b, f);
      return;
    case "cond":
      forEachSubexpression(e.test, f);
      forEachSubexpression(e.then, f);
      forEachSubexpression(e.else, f);
      return;
    default:
      return;
  }
}

/**
 * Inside the row loop: a function call over values that do not change between statements (constants of the row,
 * invariants) that appears more than once is computed once, into a constant declared before its first use.
 */
function shareRepeatedCalls(statements: Statement[], ctx: LoopContext, analyse: (e: Expr) => Analysis): Statement[] {
  const counts = new Map<string, number>();
  const candidate = (e: Expr) => e.k === "call" && analyse(e).stable;
  const exprsOf = (s: Statement): Expr[] => (s.k === "decl" ? [s.init] : s.k === "assign" ? [s.target, s.value] : []);
  for (const s of statements)
    for (const root of exprsOf(s))
      forEachSubexpression(root, (e) => {
        if (candidate(e)) {
          const key = printExpr(e);
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
      });
  const names = new Map<string, string>();
  const out: Statement[] = [];
  const replace = (e: Expr, before: Statement[]): Expr => {
    if (candidate(e)) {
      const key = printExpr(e);
      if ((counts.get(key) ?? 0) > 1) {
        let name = names.get(key);
        if (name === undefined) {
          name = ctx.fresh("c");
          names.set(key, name);
          before.push({ k: "decl", kind: "const", name, init: e });
        }
        return { k: "id", name };
      }
    }
    switch (e.k) {
      case "index":
        return { ...e, index: replace(e.index, before) };
      case "call":
        return { ...e, args: e.args.map((a) => replace(a, before)) };
      case "unary":
        return { ...e, a: replace(e.a, before) };
      case "binary":
        return { ...e, a: replace(e.a, before), b: replace(e.b, before) };
      case "cond":
        return { ...e, test: replace(e.test, before), then: replace(e.then, before), else: replace(e.else, before) };
      default:
        return e;
    }
  };
  for (const s of statements) {
    const before: Statement[] = [];
    let t: Statement = s;
    if (s.k === "decl") t = { ...s, init: replace(s.init, before) };
    else if (s.k === "assign")
      t = { ...s, target: s.target.k === "index" ? { ...s.target, index: replace(s.target.index, before) } : s.target, value: replace(s.value, before) };
    out.push(...before, t);
  }
  return out;
}
