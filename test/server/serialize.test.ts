// The compiled response serializer must write exactly what fast-json-stringify (Fastify's default) writes for the
// prediction bodies — same keys, order and digits — and refuse, naming the field, a value that does not fit.
import { Type, type TSchema } from "@sinclair/typebox";
import fastJsonStringify from "fast-json-stringify";
import { describe, expect, it } from "vitest";
import { compileNumericSerializer, ResponseShapeError } from "../../src/server/serialize.js";
import { messageErrorSchema, PREDICTION_KINDS, responseSchema, validationErrorSchema } from "../../src/server/schemas.js";
import { mulberry32 } from "../support/mulberry32.js";

const fjs = (schema: TSchema): ((v: unknown) => string) => fastJsonStringify(schema as unknown as Parameters<typeof fastJsonStringify>[0]);

/** Doubles of every magnitude and sign, including the ones Number::toString writes with an exponent. */
function someDouble(r: () => number): number {
  const pick = r();
  if (pick < 0.05) return [0, -0, 1e21, 1e-7, -1e-7, 123e-20, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 2][Math.floor(r() * 9)];
  return (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
}

describe("compileNumericSerializer", () => {
  it("writes every prediction body exactly as fast-json-stringify does, single and batch", () => {
    const r = mulberry32(11);
    for (const kind of PREDICTION_KINDS) {
      const schema = responseSchema(kind);
      const ours = compileNumericSerializer(schema);
      expect(ours).not.toBeNull();
      const theirs = fjs(schema);
      for (let trial = 0; trial < 500; trial++) {
        const batch = trial % 2 === 1;
        const instances = 1 + Math.floor(r() * 4);
        const bins = Math.floor(r() * 7);
        const list = (): number[] => Array.from({ length: bins }, () => someDouble(r));
        const one = (): unknown => (kind === "density" ? list() : someDouble(r));
        const field = (): unknown => (batch ? Array.from({ length: instances }, one) : one());
        const body: Record<string, unknown> =
          kind === "point"
            ? { y_pred: field() }
            : kind === "interval"
              ? { y_pred_lower: field(), y_pred_upper: field() }
              : kind === "mean"
                ? { y_mean: field(), y_mean_lower: field(), y_mean_upper: field(), hdi_probability: r() }
                : { y_pred_bin_mids: field(), y_pred_density: field() };
        if (kind === "mean") body.n_draws = 1 + Math.floor(r() * 100_000);
        else body.algo_param = 1 + Math.floor(r() * 100_000);
        if (trial % 7 === 0) body.extra = "left out by both";
        const text = ours!(body);
        expect(text).toBe(theirs(body));
        expect(text).toBe(JSON.stringify(Object.fromEntries(Object.entries(body).filter(([k]) => k !== "extra"))));
      }
    }
  });

  it("leaves optional properties out when absent, in fast-json-stringify's order, with the separators right", () => {
    const schema = Type.Object({ a: Type.Optional(Type.Number()), b: Type.Integer(), c: Type.Optional(Type.Array(Type.Number())), d: Type.Number() });
    const s = compileNumericSerializer(schema)!;
    for (const v of [
      { b: 1, d: 0 },
      { a: 0.5, b: 2, d: 1 },
      { b: 3, c: [], d: 2 },
      { a: -1e-9, b: 4, c: [1.5, 2], d: 3 },
    ])
      expect(s(v)).toBe(fjs(schema)(v));
  });

  it("refuses a value that does not fit, naming where, rather than writing NaN, Infinity or a wrong shape", () => {
    const s = compileNumericSerializer(responseSchema("interval"))!;
    const shape = (v: unknown): string => {
      try {
        s(v);
      } catch (err) {
        expect(err).toBeInstanceOf(ResponseShapeError);
        return (err as ResponseShapeError).path;
      }
      return "written";
    };
    expect(shape({ y_pred_lower: Number.NaN, y_pred_upper: 1, algo_param: 1 })).toBe("body.y_pred_lower");
    expect(shape({ y_pred_lower: 1, y_pred_upper: [1, Infinity], algo_param: 1 })).toBe("body.y_pred_upper[]");
    expect(shape({ y_pred_lower: 1, y_pred_upper: "2", algo_param: 1 })).toBe("body.y_pred_upper");
    expect(shape({ y_pred_lower: 1, algo_param: 1 })).toBe("body.y_pred_upper");
    expect(shape({ y_pred_lower: 1, y_pred_upper: 2, algo_param: 1.5 })).toBe("body.algo_param");
    expect(shape(null)).toBe("body");
    expect(shape({ y_pred_lower: 1, y_pred_upper: 2, algo_param: 3 })).toBe("written");
  });

  it("compiles nothing for schemas with other kinds (the error bodies stay with fast-json-stringify)", () => {
    expect(compileNumericSerializer(validationErrorSchema)).toBeNull();
    expect(compileNumericSerializer(messageErrorSchema)).toBeNull();
    expect(compileNumericSerializer(Type.Object({ s: Type.String() }))).toBeNull();
  });
});
