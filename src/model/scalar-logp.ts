// Scalar log-densities built from the same templates the compiler inlines (families.ts), for the simulator and for
// checks. One compiled function per family, made on first use.
import { FAMILIES, type EmitContext } from "./families.js";
import { SPECIAL } from "./special.js";

type ScalarLogp = (y: number, a: Float64Array) => number;
const cache = new Map<string, ScalarLogp>();

export function scalarLogp(family: string, y: number, args: Float64Array): number {
  if (family === "Flat") return 0;
  return scalarLogpFunction(family)(y, args);
}

/** The compiled log-density of one family, log p(y | args), for calling many times. */
export function scalarLogpFunction(family: string): ScalarLogp {
  let f = cache.get(family);
  if (!f) {
    f = buildScalarLogp(family);
    cache.set(family, f);
  }
  return f;
}

function buildScalarLogp(family: string): ScalarLogp {
  const fam = (FAMILIES as Record<string, (typeof FAMILIES)["Normal"]>)[family];
  if (!fam) throw new Error(`no scalar log-density for ${family}`);
  const lines: string[] = [];
  let n = 0;
  const cx: EmitContext = {
    local(expr) {
      const id = `t${n++}`;
      lines.push(`const ${id} = ${expr};`);
      return id;
    },
    hoist(expr) {
      return cx.local(expr);
    },
  };
  const args = fam.argNames.map((_, k) => `a[${k}]`);
  const out = fam.emit("y", args, cx);
  const total = out.lpConst ? `${out.lp} + (${out.lpConst.expr})` : out.lp;
  const body = `${lines.join("\n")}\nreturn ${total};`;
  const make = new Function("F", `return function (y, a) {\n${body}\n};`) as (F: typeof SPECIAL) => ScalarLogp;
  return make(SPECIAL);
}
