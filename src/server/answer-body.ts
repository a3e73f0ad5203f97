// The body of a 200 prediction answer: each endpoint's writer, compiled once from its response schema (serialize.ts),
// used alike by the Fastify route, the fast lane and the sampling workers, so that their bytes are the same; and for
// heavy answers the body as bytes in a buffer of its own, which a worker hands to the event loop without a copy.
import { compileNumericSerializer, type Serializer } from "./serialize.js";
import { PREDICTION_KINDS, responseSchema, type PredictionKind } from "./schemas.js";

export const PREDICTION_SERIALIZERS = Object.fromEntries(
  PREDICTION_KINDS.map((kind) => {
    const serialize = compileNumericSerializer(responseSchema(kind));
    if (serialize === null) throw new Error(`no compiled serializer for the ${kind} response schema`);
    return [kind, serialize];
  }),
) as Record<PredictionKind, Serializer>;

/** The answer written as JSON, in UTF-8, in an ArrayBuffer of its own (never a slice of Node's shared pool). */
export function encodeAnswer(kind: PredictionKind, response: unknown): Uint8Array<ArrayBuffer> {
  const text = PREDICTION_SERIALIZERS[kind](response);
  const bytes = new Uint8Array(Buffer.byteLength(text, "utf8"));
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).write(text, "utf8");
  return bytes;
}
