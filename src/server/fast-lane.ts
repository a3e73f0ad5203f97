// The prediction routes' everyday request — a light, valid JSON body — answered straight from Node's HTTP server,
// and every other request left to Fastify. Fastify's request lifecycle (request and reply objects, router, hook
// runners, content-type parser, reply pipeline) cost ~15 % of the CPU of an /interval request here: skipping it for
// that one kind of request took 15.3 % off the CPU per request (bench/service-ab.ts, median of 6 rounds, 2026-12-01).
//
// The answer is Fastify's, bit for bit: the same validators (the loaded model's), the same computation
// (predict-routes.ts: prepareRequest, answerHere) and the same serializer (PREDICTION_SERIALIZERS).
// Anything else goes to Fastify untouched when it can be decided from the headers (other routes and methods, another
// content type, no or too large a Content-Length, the server closing, per-request logging on); when it can only be
// decided from the body (malformed or suspicious JSON, a validation error, a heavy request, no model, non-finite
// samples) the body, already read, is given to Fastify through `inject` and its response copied out — so every error
// is Fastify's own 4xx, logged and counted as ever.
//
// Other routes whose light requests are as common can be answered here the same way (`others`: the Open Inference
// Protocol's infer, v2-routes.ts), each by a function that computes the very body its Fastify route would send.
//
// It engages only while the one hook Fastify would run for these routes is the metrics plugin's (whose count the fast
// lane keeps itself): read from Fastify's route table on the first request, so that a plugin adding, say, an onRequest
// hook for auth or rate limits turns the fast lane off rather than being skipped.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";
import type { Serializer } from "./serialize.js";
import type { LoadedModel, ModelHolder } from "./model-holder.js";
import { answerHere, isLight, PREDICTION_SERIALIZERS, prepareRequest } from "./predict-routes.js";
import { PREDICT_PREFIX, PREDICTION_KINDS, type PredictionKind } from "./schemas.js";

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
  /** Routes besides the prediction routes answered here (their hooks checked as theirs are). */
  others?: readonly LaneRoute[];
}

/** A POST route besides the seed API's whose light requests the fast lane answers. */
export interface LaneRoute {
  /** Its pattern in Fastify's route table, e.g. /v2/models/:model_name/infer. */
  pattern: string;
  /** Matches the request URLs that are this route's (its parameters in the groups). */
  url: RegExp;
  /**
   * The 200 body the route would send, or null for a request the lane leaves to Fastify (a heavy one). Throws for
   * any request Fastify must answer otherwise (an error): the lane then gives it to Fastify.
   */
  answer(model: LoadedModel, params: string[], body: unknown): string | null;
}

export interface FastLane {
  /** Takes the request and returns true, or returns false having touched nothing (Fastify's to handle). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests answered here (the rest went to Fastify). */
  readonly answered: number;
  /** Why the fast lane is off (read on the first prediction request), or null. */
  readonly blocker: string | null;
  /** Resolves once every request taken has its body (and is answered, or with Fastify), or its client has gone. */
  drained(): Promise<void>;
  /** Takes no more requests (all go to Fastify from now on), then resolves as `drained` does. */
  close(): Promise<void>;
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

/** What Fastify answers (lib/route.js, return503OnClosing) to a request that reaches it while it closes. */
const CLOSING_BODY = '{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}';

/** Response headers that belong to the connection, not the answer: Node sets its own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);

/**
 * Why the fast lane must stay off, or null. Read from Fastify's table of POST routes with their hooks
 * (`printRoutes({ includeHooks: true, commonPrefix: false, method: "POST" })`, once the app is ready): each prediction
 * route must stand there once, at the top level of the tree (nothing nests it, so the line is its whole path), with
 * no constraints, and with EXPECTED_ROUTE_HOOKS as its only hooks. Anything else — a hook added to it, a constrained
 * twin, a route it nests under, a format this does not know — keeps the lane off: never a skipped hook.
 */
export function fastLaneBlocker(app: FastifyInstance, others: readonly string[] = []): string | null {
  const lines = app.printRoutes({ includeHooks: true, commonPrefix: false, method: "POST" }).split("\n");
  const found = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of lines) {
    if (line.trim() === "") continue;
    const hook = /^[│ ]*• (.+)$/.exec(line);
    if (hook !== null) {
      current?.push(hook[1]);
      continue;
    }
    const route = /^[├└]── (\S+) \((.+)\)(.*)$/.exec(line);
    const mentions = PREDICTION_KINDS.some((kind) => line.includes(`/${kind}`));
    if (route === null) {
      if (mentions) return `a prediction route nested in Fastify's route table: ${line.trim()}`;
      current = null; // some other route, nested under another
      continue;
    }
    const [, path, , rest] = route;
    const isOurs = PREDICTION_KINDS.some((kind) => path === `${PREDICT_PREFIX}/${kind}`) || others.includes(path);
    if (!isOurs) {
      if (mentions && path.startsWith(PREDICT_PREFIX)) return `another POST route beside the prediction routes: ${line.trim()}`;
      current = null;
      continue;
    }
    if (rest.trim() !== "" || found.has(path)) return `POST ${path} has constraints or a twin: ${line.trim()}`;
    current = [];
    found.set(path, current);
  }
  for (const path of [...PREDICTION_KINDS.map((kind) => `${PREDICT_PREFIX}/${kind}`), ...others]) {
    const hooks = found.get(path);
    if (hooks === undefined) return `no route POST ${path} at the top of Fastify's route table`;
    if (hooks.join("\n") !== EXPECTED_ROUTE_HOOKS.join("\n")) return `POST ${path} has the hooks ${JSON.stringify(hooks)}`;
  }
  return null;
}

export function createFastLane(options: FastLaneOptions): FastLane {
  const { app, holder, bodyLimit, heavyWork } = options;
  const routes = new Map<string, { kind: PredictionKind; serialize: Serializer; record: Recorder }>();
  for (const kind of PREDICTION_KINDS) {
    const path = `${PREDICT_PREFIX}/${kind}`;
    routes.set(path, { kind, serialize: PREDICTION_SERIALIZERS[kind], record: options.recorderFor(path) });
  }
  const others = (options.others ?? []).map((r) => ({ ...r, record: options.recorderFor(r.pattern) }));
  // Read on the first request: Fastify settles each route's hooks when the app becomes ready.
  let blocker: string | null | undefined;
  let answered = 0;
  let closed = false;

  // Requests taken whose body is still arriving. The server's close() waits for them (drained) before it closes
  // Fastify: once closing, Fastify's inject refuses work, and such a request may yet need it. (A request handed to
  // inject before then is Fastify's in-flight request like any other: it finishes.)
  let reading = 0;
  let waiting: (() => void)[] = [];
  const doneReading = (): void => {
    reading--;
    if (reading === 0 && waiting.length > 0) {
      for (const resolve of waiting) resolve();
      waiting = [];
    }
  };

  /** Fastify answers a request whose body has been read already; its response is copied to the client. */
  const viaFastify = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    app
      // The raw bytes: the client's Content-Length counts them, and Fastify decodes them as it always does.
      .inject({ method: "POST", url: req.url as string, headers: req.headers, payload: raw, remoteAddress: req.socket.remoteAddress })
      .then(
        (r) => {
          const headers: OutgoingHttpHeaders = {};
          for (const [name, value] of Object.entries(r.headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = value;
          res.writeHead(r.statusCode, headers);
          res.end(r.rawPayload);
        },
        () => {
          // inject refuses only once Fastify has begun to close (app.close() called directly, not by the server's
          // close(), which drains the lane first): Fastify's own answer to a request that arrives then.
          if (!res.headersSent) res.writeHead(503, { "content-type": "application/json", connection: "close" });
          res.end(CLOSING_BODY);
        },
      )
      // Nothing left to tell the client (its socket is gone, say): close rather than leave a rejection unhandled.
      .catch(() => res.destroy());
  };

  const answer = (route: { kind: PredictionKind; serialize: Serializer; record: Recorder }, req: IncomingMessage, res: ServerResponse, raw: Buffer, started: number): void => {
    const model = holder.current;
    // Decoded as Fastify decodes a JSON body (utf8, a bad sequence becoming U+FFFD).
    const body = raw.toString("utf8");
    if (model === null || SUSPECT.test(body)) return viaFastify(req, res, raw);
    let text: string;
    try {
      const prepared = prepareRequest(model, route.kind, JSON.parse(body));
      if (!isLight(model, prepared, heavyWork)) return viaFastify(req, res, raw);
      text = route.serialize(answerHere(model, prepared));
    } catch {
      // Malformed JSON, a validation error, non-finite samples: Fastify says which, as it always does.
      return viaFastify(req, res, raw);
    }
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
    answered++;
    route.record("POST", 200, performance.now() - started);
  };

  /** A request of one of the other routes: as `answer`, with the route's own function. */
  const answerOther = (route: (typeof others)[number], params: string[], req: IncomingMessage, res: ServerResponse, raw: Buffer, started: number): void => {
    const model = holder.current;
    const body = raw.toString("utf8");
    if (model === null || SUSPECT.test(body)) return viaFastify(req, res, raw);
    let text: string | null;
    try {
      text = route.answer(model, params, JSON.parse(body));
    } catch {
      text = null;
    }
    if (text === null) return viaFastify(req, res, raw);
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
    drained() {
      return reading === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve));
    },
    close() {
      closed = true;
      return this.drained();
    },
    handle(req, res) {
      if (req.method !== "POST" || closed) return false;
      if (blocker === undefined) blocker = fastLaneBlocker(app, others.map((r) => r.pattern)); // (not ??=: null is the answer "none")
      if (blocker !== null) return false;
      const route = routes.get(req.url as string);
      let other: { route: (typeof others)[number]; params: string[] } | undefined;
      if (route === undefined)
        for (const r of others) {
          const m = r.url.exec(req.url as string);
          if (m !== null) other = { route: r, params: m.slice(1) };
        }
      if ((route === undefined && other === undefined) || !options.engaged()) return false;
      const type = req.headers["content-type"];
      if (type === undefined || !JSON_TYPES.has(type.toLowerCase())) return false;
      const length = Number(req.headers["content-length"]);
      if (!(length > 0 && length <= bodyLimit) || req.headers["transfer-encoding"] !== undefined) return false;
      const started = performance.now();
      reading++;
      const chunks: Buffer[] = [];
      let received = 0;
      req.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
      });
      req.on("end", () => {
        // Answered, or handed to inject, before the count drops: close() cannot get between the two.
        const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received);
        if (route !== undefined) answer(route, req, res, raw, started);
        else if (other !== undefined) answerOther(other.route, other.params, req, res, raw, started);
        doneReading();
      });
      // A client gone mid-body: Node closes the socket; there is nothing to answer.
      req.on("error", () => undefined);
      req.on("close", () => {
        if (!req.complete) doneReading();
      });
      return true;
    },
  };
}
