// Every client mistake becomes a clear 4xx, shaped as FastAPI shapes it: 422 `{"detail": [{"loc", "msg", "type"}]}`
// for a body that does not fit the schema, `{"detail": "..."}` for the rest (400 malformed JSON, 404, 405, 413, 415,
// 503). Only a bug gives a 500, and its details go to the log, not to the client.
import type { ErrorObject } from "ajv";
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { FeatureSpec } from "../predict/index.js";
import { eachSchemaProblem } from "../schema/problems.js";

export type Loc = (string | number)[];

/** One entry of FastAPI's `detail` list. */
export interface ValidationIssue {
  loc: Loc;
  msg: string;
  type: string;
  ctx?: Record<string, unknown>;
}

/** An error with its HTTP status and FastAPI-shaped detail. Thrown or passed to `done` anywhere in a request. */
export class HttpProblem extends Error {
  /** Not logged one by one (load shedding: counted in /metrics and logged as a summary instead). */
  readonly quiet: boolean;
  constructor(
    readonly statusCode: number,
    readonly detail: string | ValidationIssue[],
    readonly headers: Record<string, string> = {},
    options: { quiet?: boolean } = {},
  ) {
    // An answer to a client, not a bug: no stack trace (capturing one is most of the cost of refusing a request, and
    // under overload refusals come by the thousand).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(typeof detail === "string" ? detail : detail.map((d) => `${d.loc.join(".")}: ${d.msg}`).join("; "));
    Error.stackTraceLimit = limit;
    this.name = "HttpProblem";
    this.quiet = options.quiet === true;
  }
}

/** A problem's response: its status, headers (with the request id, which names the request's log lines) and body. */
export function problemResponse(problem: HttpProblem, requestId: string): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: problem.statusCode,
    headers: { ...problem.headers, "x-request-id": requestId, "content-type": "application/json; charset=utf-8" },
    body: JSON.stringify({ detail: problem.detail }),
  };
}

/** Logs a problem as the error handler does: server-side refusals at warn, client errors at info, quiet ones not. */
export function logProblem(log: FastifyBaseLogger, problem: HttpProblem): void {
  if (problem.quiet) return;
  if (problem.statusCode >= 500) log.warn({ status: problem.statusCode, detail: problem.message }, "request refused");
  else log.info({ status: problem.statusCode, detail: problem.message.slice(0, 500) }, "client error");
}

export const unprocessable = (issues: ValidationIssue[]): HttpProblem => new HttpProblem(422, issues);

/** Stands for a NaN or ±Infinity literal in a request body (JSON has none; Python's json module accepts them). */
export const NON_FINITE_MARKER_PREFIX = "\u0000non-finite:";

/** Most issues reported for one request: enough to fix it, bounded for a hostile one. */
export const MAX_ISSUES = 100;

const isNonFinite = (v: unknown): boolean =>
  (typeof v === "number" && !Number.isFinite(v)) || (typeof v === "string" && v.startsWith(NON_FINITE_MARKER_PREFIX));

const TYPE_MESSAGES: Record<string, [string, string]> = {
  number: ["value is not a valid float", "type_error.float"],
  integer: ["value is not a valid integer", "type_error.integer"],
  object: ["value is not a valid dict", "type_error.dict"],
  array: ["value is not a valid list", "type_error.list"],
  string: ["str type expected", "type_error.str"],
  boolean: ["value could not be parsed to a boolean", "type_error.bool"],
};

const BOUND_MESSAGES: Record<string, [string, string]> = {
  minimum: ["greater than or equal to", "value_error.number.not_ge"],
  exclusiveMinimum: ["greater than", "value_error.number.not_gt"],
  maximum: ["less than or equal to", "value_error.number.not_le"],
  exclusiveMaximum: ["less than", "value_error.number.not_lt"],
};

/**
 * ajv's errors in FastAPI's words (pydantic's messages and types), with `loc` from "body": the problems of
 * schema/problems.ts (which field, the value found there, one problem per wrong type) worded as FastAPI words them.
 * A category out of range gets its own message naming the model's categories; NaN and ±Infinity are named as such.
 */
export function detailFromAjv(errors: readonly ErrorObject[], body: unknown, features: readonly FeatureSpec[]): ValidationIssue[] {
  const categories = new Map(features.filter((f) => f.type === "category").map((f) => [f.name, f.levels ?? 0]));
  const out: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const p of eachSchemaProblem(errors, body)) {
    // A missing or unknown field is named by its own path, as pydantic does.
    const loc: Loc = p.property === undefined ? p.path : [...p.path, p.property];
    const params = p.params;
    let issue: ValidationIssue;
    switch (p.keyword) {
      case "required":
        issue = { loc, msg: "field required", type: "value_error.missing" };
        break;
      case "additionalProperties":
        issue = { loc, msg: "extra fields not permitted", type: "value_error.extra" };
        break;
      case "type": {
        if (isNonFinite(p.value)) {
          issue = { loc, msg: "value is not a finite number", type: "value_error.number.not_finite" };
          break;
        }
        const expected = String(params.type);
        const [msg, type] = TYPE_MESSAGES[expected] ?? [`value is not a valid ${expected}`, `type_error.${expected}`];
        const isData = loc.length === 1 && loc[0] === "data";
        issue = isData && expected === "object" ? { loc, msg: "value is not a valid dict (an instance) or list of instances", type } : { loc, msg, type };
        break;
      }
      case "minimum":
      case "maximum":
      case "exclusiveMinimum":
      case "exclusiveMaximum": {
        const field = loc[loc.length - 1];
        const underData = loc[0] === "data";
        if (underData && typeof field === "string" && categories.has(field)) {
          const levels = categories.get(field) as number;
          issue = {
            loc,
            msg: `${field} ${String(p.value)} is not one of the model's categories 0..${levels - 1}`,
            type: "value_error.category",
            ctx: { levels },
          };
          break;
        }
        const [words, type] = BOUND_MESSAGES[p.keyword];
        issue = { loc, msg: `ensure this value is ${words} ${String(params.limit)}`, type, ctx: { limit_value: params.limit } };
        break;
      }
      case "minItems":
        issue = {
          loc,
          msg: `ensure this value has at least ${String(params.limit)} items`,
          type: "value_error.list.min_items",
          ctx: { limit_value: params.limit },
        };
        break;
      case "maxItems":
        issue = {
          loc,
          msg: `ensure this value has at most ${String(params.limit)} items`,
          type: "value_error.list.max_items",
          ctx: { limit_value: params.limit },
        };
        break;
      default:
        issue = { loc, msg: p.message, type: `value_error.${p.keyword}` };
    }
    issue.loc = ["body", ...issue.loc];
    const key = `${JSON.stringify(issue.loc)} ${issue.type}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(issue);
    if (out.length >= MAX_ISSUES) break;
  }
  return out;
}

function send(reply: FastifyReply, status: number, detail: string | ValidationIssue[], headers: Record<string, string> = {}): void {
  // The request id names the request's log lines; a client can quote it (or send its own X-Request-Id).
  const r = problemResponse(new HttpProblem(status, detail, headers), reply.request.id);
  // Already serialised: a route's 200 response schema must never touch an error body.
  reply.code(r.status).headers(r.headers).send(r.body);
}

/** Fastify's own errors (content-type parser, body limit, routing) as FastAPI-shaped problems. */
export function problemFromFastify(err: FastifyError, bodyLimit: number): HttpProblem | null {
  switch (err.code) {
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new HttpProblem(415, "Unsupported Media Type: send the request body as JSON with Content-Type: application/json");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new HttpProblem(413, `Request body too large: the limit is ${bodyLimit} bytes`);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new HttpProblem(422, [{ loc: ["body"], msg: "field required", type: "value_error.missing" }]);
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new HttpProblem(400, "Malformed JSON in the request body");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new HttpProblem(400, "Content-Length does not match the body");
    default:
      break;
  }
  const status = err.statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new HttpProblem(status, err.message);
  return null;
}

export interface ErrorHandlerOptions {
  bodyLimit: number;
  /** Paths with routes, and their methods: a known path with the wrong method is a 405, not a 404. */
  knownPaths: () => Map<string, string[]>;
  /** Told of every request that matched no route (routes count their own; see metrics.ts). */
  onUnmatched?: (method: string, status: number, ms: number) => void;
}

/** The error and not-found handlers of the whole app. */
export function installErrorHandlers(app: FastifyInstance, options: ErrorHandlerOptions): void {
  app.setErrorHandler((err: FastifyError | HttpProblem, request: FastifyRequest, reply: FastifyReply) => {
    const problem = err instanceof HttpProblem ? err : problemFromFastify(err, options.bodyLimit);
    if (problem !== null) {
      logProblem(request.log, problem);
      send(reply, problem.statusCode, problem.detail, problem.headers);
      return;
    }
    request.log.error({ err }, "unexpected error");
    send(reply, 500, "Internal Server Error");
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split("?")[0];
    const methods = options.knownPaths().get(path);
    const status = methods === undefined ? 404 : 405;
    options.onUnmatched?.(request.method, status, reply.elapsedTime);
    if (methods !== undefined) send(reply, 405, "Method Not Allowed", { allow: methods.join(", ") });
    else send(reply, 404, "Not Found");
  });
}
