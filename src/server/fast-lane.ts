// The prediction routes' everyday request — a light, valid JSON body — answered straight from Node's HTTP server,
// and every other request left to Fastify. Fastify's request lifecycle (request and reply objects, router, hook
// runners, content-type parser, reply pipeline) cost ~15 % of the CPU of an /interval request here: skipping it for
// that one kind of request took 15.3 % off the CPU per request (bench/service-ab.ts, median of 6 rounds, 2026-12-01).
//
// The answer is Fastify's, bit for bit: the same validators (the loaded model's), the same computation
// (predict-routes.ts: prepareRequest, answerHere) and the same serializer (compiled from the same response schema).
// Anything else goes to Fastify untouched when it can be decided from the headers (other routes and methods, another
// content type, no or too large a Content-Length, the server closing, per-request logging on); when it can only be
// decided from the body (malformed or suspicious JSON, a validation error, a heavy request, no model, non-finite
// samples) the body, already read, is given to Fastify through `inject` and its response copied out — so every error
// is Fastify's own 4xx, logged and counted as ever.
//
// It engages only while the one hook Fastify would run for these routes is the metrics plugin's (whose count the fast
// lane keeps itself): read from Fastify's route table on the first request, so that a plugin adding, say, an onRequest
// hook for auth or rate limits turns the fast lane off rather than being skipped.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import { compileNumericSerializer, type Serializer } from "./serialize.js";
import type { ModelHolder } from "./model-holder.js";
import { answerHere, isLight, prepareRequest } from "./predict-routes.js";
import { PREDICT_PREFIX, PREDICTION_KINDS, responseSchema, type PredictionKind } from "./schemas.js";

/** Records one answered request (the metrics plugin's recorder for the route). */
type Recorder = (method: string, status: number, ms: number) => void;

export interface FastLaneOptions {
  app: FastifyInstance;
  holder: ModelHolder;
  bodyLimit: number;
  heavyWork: number;
  /** The metrics recorder of each prediction route, by its path. */
  recorderFor: (path: string) => Recorder;
  /** False while Fastify must see every request: the server closing, or a log line wanted for each request. */
  engaged: () => boolean;
}

export interface FastLane {
  /** Takes the request and returns true, or returns false having touched nothing (Fastify's to handle). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests answered here (the rest went to Fastify). */
  readonly answered: number;
  /** Why the fast lane is off (read on the first prediction request), or null. */
  readonly blocker: string | null;
}

/** The hooks of a prediction route that the fast lane stands in for: the metrics plugin's count (metrics.ts). */
export const EXPECTED_ROUTE_HOOKS = ['(onResponse) ["countRequest()"]'];

/** The Content-Type values taken here; Fastify decides every other (parameters, other charsets, other types). */
const JSON_TYPES = new Set(["application/json", "application/json; charset=utf-8"]);

/**
 * Bodies with these are Fastify's (secure-json-parse refuses `__proto__` and `constructor.prototype` keys, and an
 * escape could spell either): cheaper to find than to prove harmless.
 */
const SUSPECT = /__proto__|constructor|\\/;

/** Response headers that belong to the connection, not the answer: Node sets its own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);

/**
 * Why the fast lane must stay off, or null: the hooks Fastify would run for each prediction route (from its route
 * table, `printRoutes({ includeHooks: true })`, once the app is ready) must be EXPECTED_ROUTE_HOOKS and nothing else.
 */
export function fastLaneBlocker(app: FastifyInstance): string | null {
  // The table is a tree: a route's line holds the part of its path below its parent's, then its hooks, one a line.
  const lines = app.printRoutes({ includeHooks: true, commonPrefix: false, method: "POST" }).split("\n");
  for (const kind of PREDICTION_KINDS) {
    const path = `${PREDICT_PREFIX}/${kind}`;
    const at = lines.findIndex((l) => {
      const m = /^[\s│├└─]*(.+) \(POST\)$/.exec(l);
      return m !== null && m[1].endsWith(kind) && path.endsWith(m[1]);
    });
    if (at < 0) return `no route POST ${path} in Fastify's route table`;
    const hooks: string[] = [];
    for (let i = at + 1; i < lines.length && lines[i].includes("•"); i++) hooks.push(lines[i].slice(lines[i].indexOf("•") + 1).trim());
    if (hooks.join("\n") !== EXPECTED_ROUTE_HOOKS.join("\n")) return `POST ${path} has the hooks ${JSON.stringify(hooks)}`;
  }
  return null;
}

export function createFastLane(options: FastLaneOptions): FastLane {
  const { app, holder, bodyLimit, heavyWork } = options;
  const routes = new Map<string, { kind: PredictionKind; serialize: Serializer; record: Recorder }>();
  for (const kind of PREDICTION_KINDS) {
    const path = `${PREDICT_PREFIX}/${kind}`;
    const serialize = compileNumericSerializer(responseSchema(kind));
    if (serialize === null) throw new Error(`fast lane: no serializer for the ${kind} response`);
    routes.set(path, { kind, serialize, record: options.recorderFor(path) });
  }
  // Read on the first request: Fastify settles each route's hooks when the app becomes ready.
  let blocker: string | null | undefined;
  let answered = 0;

  /** Fastify answers a request whose body has been read already; its response is copied to the client. */
  const viaFastify = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    app
      .inject({ method: "POST", url: req.url as string, headers: req.headers, payload: body, remoteAddress: req.socket.remoteAddress })
      .then(
        (r) => {
          const headers: OutgoingHttpHeaders = {};
          for (const [name, value] of Object.entries(r.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
          res.writeHead(r.statusCode, headers);
          res.end(r.rawPayload);
        },
        () => {
          // inject fails only when the app is closing under it: what Fastify answers then.
          if (!res.headersSent) res.writeHead(503, { "content-type": "application/json; charset=utf-8" });
          res.end('{"detail":"Service Unavailable"}');
        },
      )
      // Nothing left to tell the client (its socket is gone, say): close rather than leave a rejection unhandled.
      .catch(() => res.destroy());
  };

  const answer = (route: { kind: PredictionKind; serialize: Serializer; record: Recorder }, req: IncomingMessage, res: ServerResponse, body: string, started: number): void => {
    const model = holder.current;
    if (model === null || SUSPECT.test(body)) return viaFastify(req, res, body);
    let text: string;
    try {
      const prepared = prepareRequest(model, route.kind, JSON.parse(body));
      if (!isLight(prepared, heavyWork)) return viaFastify(req, res, body);
      text = route.serialize(answerHere(model, route.kind, prepared));
    } catch {
      // Malformed JSON, a validation error, non-finite samples: Fastify says which, as it always does.
      return viaFastify(req, res, body);
    }
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
    answered++;
    route.record("POST", 200, performance.now() - started);
  };

  return {
    get answered() {
      return answered;
    },
    get blocker() {
      return blocker ?? null;
    },
    handle(req, res) {
      if (req.method !== "POST") return false;
      if (blocker === undefined) blocker = fastLaneBlocker(app); // (not ??=: null is the answer "none")
      if (blocker !== null) return false;
      const route = routes.get(req.url as string);
      if (route === undefined || !options.engaged()) return false;
      const type = req.headers["content-type"];
      if (type === undefined || !JSON_TYPES.has(type.toLowerCase())) return false;
      const length = Number(req.headers["content-length"]);
      if (!(length > 0 && length <= bodyLimit) || req.headers["transfer-encoding"] !== undefined) return false;
      const started = performance.now();
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        body += chunk;
      });
      req.on("end", () => answer(route, req, res, body, started));
      // A client gone mid-body: Node closes the socket; there is nothing to answer.
      req.on("error", () => undefined);
      return true;
    },
  };
}
