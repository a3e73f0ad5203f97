// The application/json body parser. The fast path is Fastify's own (secure-json-parse: JSON.parse, then a scan for
// `__proto__` and `constructor.prototype` keys only when the text contains them — such bodies are refused with 400);
// the fast lane (fast-lane.ts) parses with the same library and options (`parseJson`). Only when parsing fails is more work
// done, to say why: a NaN or Infinity literal (which Python's json module, and so the seed, accepts) becomes a 422 at
// its field; anything else is a 400 naming the syntax error.
import type { FastifyInstance, FastifyRequest } from "fastify";
import secureJson from "secure-json-parse";
import { HttpProblem, NON_FINITE_MARKER_PREFIX } from "./errors.js";

/** As Fastify's parser is asked for below (getDefaultJsonParser("error", "error")). */
const PARSE_OPTIONS = { protoAction: "error", constructorAction: "error" } as const;

/** A JSON body's value as the Fastify routes get it; throws for malformed JSON and for a `__proto__` or `constructor.prototype` key. */
export function parseJson(text: string): unknown {
  return secureJson.parse(text, undefined, PARSE_OPTIONS);
}

/**
 * The text with every NaN, Infinity and -Infinity literal outside strings replaced by a marker string, or null when
 * there is none. A marker is a string, so it fails every numeric field's type check, and the error mapping names it.
 */
export function markNonFiniteLiterals(text: string): string | null {
  let out = "";
  let last = 0;
  let found = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) {
          i++;
          break;
        } else i++;
      }
      continue;
    }
    let token: string | null = null;
    if (text.startsWith("NaN", i)) token = "NaN";
    else if (text.startsWith("Infinity", i)) token = "Infinity";
    else if (text.startsWith("-Infinity", i)) token = "-Infinity";
    if (token !== null && followedByColon(text, i + token.length)) token = null; // a key ({NaN: 1}): malformed JSON, left to say so
    if (token !== null) {
      const marker = JSON.stringify(`${NON_FINITE_MARKER_PREFIX}${token}`);
      out += text.slice(last, i) + marker;
      i += token.length;
      last = i;
      found = true;
      continue;
    }
    i++;
  }
  return found ? out + text.slice(last) : null;
}

/** Whether the next character after `from` that is not JSON whitespace is ':'. */
function followedByColon(text: string, from: number): boolean {
  let j = from;
  while (j < text.length) {
    const c = text.charCodeAt(j);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return c === 58; /* : */
    j++;
  }
  return false;
}

function syntaxMessage(text: string): string {
  try {
    JSON.parse(text);
    return "";
  } catch (err) {
    // V8 quotes a piece of the body; keep the message short.
    return (err as Error).message.slice(0, 200);
  }
}

export function installJsonParser(app: FastifyInstance, bodyLimit: number): void {
  const secureParse = app.getDefaultJsonParser("error", "error");
  // JSON only: every other content type (text/plain included, which Fastify parses by default) is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    "application/json",
    { parseAs: "string", bodyLimit },
    (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
      const text = typeof body === "string" ? body : body.toString("utf8");
      // JSON exchanged between systems is UTF-8 (RFC 8259 §8.1), and the body is read as UTF-8 whatever the header says.
      // A body labelled UTF-16/32 cannot be read so; one labelled with an ASCII-compatible charset (us-ascii,
      // iso-8859-1, windows-1252: some Java and .NET clients label plain JSON so) reads the same when it is all ASCII,
      // and is refused only when it holds other characters, which would be misread.
      const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers["content-type"] ?? "")?.[1].toLowerCase();
      if (charset !== undefined && charset !== "utf-8" && charset !== "utf8" && (/^utf-?(16|32)/.test(charset) || /[^\t\n\r\x20-\x7e]/.test(text))) {
        done(new HttpProblem(415, `Unsupported Media Type: charset=${charset}; send the JSON body as UTF-8 (charset=utf-8, or no charset)`));
        return;
      }
      secureParse(request, text, (err: Error | null, value?: unknown) => {
        if (err === null) {
          done(null, value);
          return;
        }
        if ((err as { code?: string }).code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
          done(err);
          return;
        }
        const why = syntaxMessage(text);
        if (why === "") {
          done(new HttpProblem(400, "The JSON body has a __proto__ or constructor.prototype key, which is refused"));
          return;
        }
        const marked = markNonFiniteLiterals(text);
        if (marked !== null) {
          secureParse(request, marked, (again: Error | null, rescued?: unknown) => {
            if (again === null) done(null, rescued);
            else done(new HttpProblem(400, `Malformed JSON in the request body: ${why}`));
          });
          return;
        }
        done(new HttpProblem(400, `Malformed JSON in the request body: ${why}`));
      });
    },
  );
}
