// The everyday request of the answering routes — a light, valid JSON body — answered straight from Node's HTTP server,
// and every other request left to Fastify: Fastify's request lifecycle (request and reply objects, router, hook
// runners, content-type parser, reply pipeline) is a large part of the CPU of a request that computes for microseconds.
//
// Which routes the lane may answer is declared by our code, not read from Fastify: a route is declared through
// `LaneRoutes.route`, which registers the Fastify route and, beside it, the lane's way of answering it (`LaneHandler`:
// the same validation, computation and serializer as the route's handler, so the answer is Fastify's, bit for bit).
// Fastify's public `onRoute` hook shows each route's options as declared; the lane engages only when every lane route
// is there once, unconstrained, with no other POST route that could match its URLs, and with no hooks but the ones it
// does itself (the metrics count, `isRequestCounter`). Request-lifecycle hooks added to the app go through
// `LaneRoutes.hook`, which turns the lane off: it never skips a hook. (A hook added around it, with Fastify's
// `addHook` directly, is caught by test/server/fast-lane.test.ts, which compares Fastify's own table with this.)
//
// Anything else goes to Fastify untouched when it can be decided from the headers (other routes and methods, a query
// string, another content type, no or too large a Content-Length, the server closing, per-request logging on); when it
// can only be decided from the body (malformed or suspicious JSON, a validation error, no model, non-finite samples)
// the body, already read, is given to Fastify through `inject` and its response copied out — so every such error is
// Fastify's own 4xx, logged and counted as ever.
//
// A valid heavy request is answered here too, by the route's own function (its admission, its connection's turn and
// the memory it holds are the real connection's, which a request given to `inject` would not have); its errors (503
// when refused, an instance the model cannot answer) are written as the route's error handler writes them.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { FastifyInstance, RouteOptions } from "fastify";
import { answerLightInTurn, connectionFree, type AnswerStream, type Connection } from "./backpressure.js";
import { HttpProblem, logProblem } from "./errors.js";
import { parseJson } from "./json-body.js";
import type { LoadedModel, ModelHolder } from "./model-holder.js";

/** Records one answered request (the metrics plugin's recorder for the route). */
type Recorder = (method: string, status: number, ms: number) => void;

/** A response written by hand: its status, headers and body. */
export interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What the lane does with a request, decided from its parsed body. */
export type LaneAnswer =
  | {
      light: true;
      /** About the size of its answer (counted while it waits behind an unsent answer on its connection). */
      bytes: number;
      /** The 200 body; throws for a request whose answer is an error (Fastify then answers it). */
      write(): string;
    }
  | {
      light: false;
      /** Takes its turn on the connection, is admitted and computed: its 200 body, to stream; or rejects with its error. */
      stream(connection: Connection, res: ServerResponse): Promise<AnswerStream>;
    };

/** A route's part in the fast lane: the same work as its Fastify handler, without Fastify's request and reply. */
export interface LaneHandler {
  /**
   * The answer to a parsed body from the model serving now, `params` the URL's parameters in the pattern's order.
   * Throws for any request whose answer is an error: the lane gives it to Fastify.
   */
  prepare(model: LoadedModel, params: readonly string[], body: unknown): LaneAnswer;
  /** An error as the route's error handler writes it (a heavy request's, or the lane's 503 while Fastify closes). */
  problem(problem: HttpProblem, requestId: string): ProblemResponse;
}

/** Fastify's request-lifecycle hooks, as a route's options can carry them. */
const LIFECYCLE_HOOKS = [
  "onRequest",
  "preParsing",
  "preValidation",
  "preHandler",
  "preSerialization",
  "onSend",
  "onResponse",
  "onTimeout",
  "onError",
  "onRequestAbort",
] as const;
type LifecycleHook = (typeof LIFECYCLE_HOOKS)[number];

/** A lane route as the lane matches it: its pattern's URLs, its handler and its metrics recorder. */
interface LaneEntry {
  pattern: string;
  /** For a pattern with parameters: its URLs, the parameters in the groups. */
  url: RegExp | null;
  handler: LaneHandler;
  record: Recorder;
}

/** What the lane reads on the first request: why it must stay off (or null), and its routes. */
interface LaneTable {
  blocker: string | null;
  exact: Map<string, LaneEntry>;
  parametric: LaneEntry[];
}

/** A pattern's URLs as a regular expression (`:name` a non-empty segment), or null for a pattern the lane does not take. */
function patternRegExp(pattern: string): RegExp | null {
  let source = "";
  for (const segment of pattern.split("/").slice(1)) {
    if (segment.startsWith(":") && /^:[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) source += "/([^/?#]+)";
    else if (/^[A-Za-z0-9._~-]*$/.test(segment)) source += `/${segment.replace(/\./g, "\\.")}`;
    else return null;
  }
  return new RegExp(`^${source}$`);
}

/** The URLs any route's pattern can match, roughly but never too narrowly (parameters and wildcards match anything). */
function looseRegExp(pattern: string): RegExp {
  const source = pattern
    .split(/(:[A-Za-z_][A-Za-z0-9_]*(?:\([^)]*\))?|\*)/)
    .map((part, i) => (i % 2 === 1 ? ".*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`);
}

/**
 * The routes the fast lane may answer, declared by the plugins that own them (`route`), and every POST route Fastify
 * is given, seen through its public `onRoute` hook (`watch`, before any route is declared).
 */
export class LaneRoutes {
  private readonly declared: { handler: unknown; lane: LaneHandler }[] = [];
  private readonly seen: RouteOptions[] = [];
  private readonly hooks: string[] = [];

  /** `standsInFor(hook)`: a route hook whose work the lane does itself (the metrics count). */
  constructor(private readonly standsInFor: (hook: unknown) => boolean) {}

  /** Sees every route declared on `app` (the root) from now on. */
  watch(app: FastifyInstance): void {
    app.addHook("onRoute", (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      // The options object Fastify reads the route's hooks from once its plugin has loaded: kept, and read then.
      if (methods.includes("POST")) this.seen.push(route);
    });
  }

  /** Declares a route (as `scope.route(options)`) whose light and heavy valid requests the fast lane answers with `lane`. */
  route(scope: FastifyInstance, options: RouteOptions, lane: LaneHandler): void {
    this.declared.push({ handler: options.handler, lane });
    scope.route(options);
  }

  /** Adds a request-lifecycle hook to `scope`: the way this app adds them. The lane cannot run it, so it stays off. */
  hook(scope: FastifyInstance, name: LifecycleHook, hook: (...args: never[]) => unknown): void {
    this.hooks.push(name);
    scope.addHook(name as "onRequest", hook as never);
  }

  /** Why the lane must stay off, or null; and the routes it answers (the patterns as Fastify has them). Read once the app is ready. */
  table(recorderFor: (pattern: string) => Recorder): LaneTable {
    const exact = new Map<string, LaneEntry>();
    const parametric: LaneEntry[] = [];
    const off = (blocker: string): LaneTable => ({ blocker, exact: new Map(), parametric: [] });
    if (this.hooks.length > 0) return off(`the app has ${this.hooks.join(", ")} hooks`);
    const ours = new Set<RouteOptions>();
    for (const d of this.declared) {
      const routes = this.seen.filter((r) => r.handler === d.handler);
      if (routes.length !== 1) return off(`a lane route was declared ${routes.length} times (or before the lane watched)`);
      const route = routes[0];
      ours.add(route);
      if (route.constraints !== undefined && Object.keys(route.constraints).length > 0) return off(`POST ${route.url} has constraints`);
      for (const name of LIFECYCLE_HOOKS) {
        const given = route[name] as unknown;
        for (const hook of given === undefined ? [] : Array.isArray(given) ? given : [given]) {
          if (!this.standsInFor(hook)) return off(`POST ${route.url} has an ${name} hook the lane cannot run`);
        }
      }
      const url = route.url.includes(":") ? patternRegExp(route.url) : null;
      if (route.url.includes(":") && url === null) return off(`POST ${route.url}: a pattern the lane does not take`);
      const entry: LaneEntry = { pattern: route.url, url, handler: d.lane, record: recorderFor(route.url) };
      if (url === null) exact.set(route.url, entry);
      else parametric.push(entry);
    }
    // Another POST route that could take some of the lane's URLs (a twin, a constrained variant, a static route
    // beside a parametric one, a wildcard): Fastify would choose between them, which the lane does not.
    for (const other of this.seen) {
      if (ours.has(other)) continue;
      const theirs = looseRegExp(other.url);
      for (const route of ours) {
        if (theirs.test(route.url) || looseRegExp(route.url).test(other.url)) return off(`POST ${other.url} could take requests of POST ${route.url}`);
      }
    }
    return { blocker: null, exact, parametric };
  }
}

export interface FastLaneOptions {
  app: FastifyInstance;
  holder: ModelHolder;
  /** The lane's routes. */
  routes: LaneRoutes;
  bodyLimit: number;
  /** The request id Fastify would give the request (its error responses and log lines carry it). */
  requestId: (req: IncomingMessage) => string;
  /** The metrics recorder of each route, by its pattern. */
  recorderFor: (pattern: string) => Recorder;
  /** False while Fastify must see every request: the server closing, or a log line wanted for each request. */
  engaged: () => boolean;
}

export interface FastLane {
  /** Takes the request and returns true, or returns false having touched nothing (Fastify's to handle). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests answered here (the rest went to Fastify). */
  readonly answered: number;
  /** Why the fast lane is off (read on the first POST request), or null. */
  readonly blocker: string | null;
  /** Resolves once every request taken has its body (and is answered, or with Fastify), or its client has gone. */
  drained(): Promise<void>;
  /** Takes no more requests (all go to Fastify from now on), then resolves as `drained` does. */
  close(): Promise<void>;
}

/** The Content-Type values taken here; Fastify decides every other (parameters, other charsets, other types). */
const JSON_TYPES = new Set(["application/json", "application/json; charset=utf-8"]);

/** Response headers that belong to the connection, not the answer: Node sets its own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);

export function createFastLane(options: FastLaneOptions): FastLane {
  const { app, holder, bodyLimit } = options;
  // Read on the first request: the routes' hooks are settled once the app is ready.
  let table: LaneTable | undefined;
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

  /** Writes an error as the route writes it, logged as its error handler logs it, and counts it. */
  const writeProblem = (entry: LaneEntry, req: IncomingMessage, res: ServerResponse, err: unknown, started: number, close = false): void => {
    if (res.headersSent || res.destroyed) return;
    const requestId = options.requestId(req);
    const log = app.log.child({ reqId: requestId });
    let problem: HttpProblem;
    if (err instanceof HttpProblem) {
      problem = err;
      logProblem(log, problem);
    } else {
      log.error({ err }, "unexpected error");
      problem = new HttpProblem(500, "Internal Server Error");
    }
    const r = entry.handler.problem(problem, requestId);
    res.writeHead(r.status, { ...r.headers, "content-length": Buffer.byteLength(r.body), ...(close ? { connection: "close" } : {}) });
    res.end(r.body);
    entry.record("POST", r.status, performance.now() - started);
  };

  /** Fastify answers a request whose body has been read already; its response is copied to the client. */
  const viaFastify = (entry: LaneEntry, req: IncomingMessage, res: ServerResponse, raw: Buffer, started: number): void => {
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
        // inject refuses only once Fastify has begun to close (app.close() called directly, not by the server's
        // close(), which drains the lane first): the route's 503, and the connection closes.
        () => writeProblem(entry, req, res, new HttpProblem(503, "The server is shutting down", { "retry-after": "1" }), started, true),
      )
      // Nothing left to tell the client (its socket is gone, say): close rather than leave a rejection unhandled.
      .catch(() => res.destroy());
  };

  const writeLight = (entry: LaneEntry, req: IncomingMessage, res: ServerResponse, raw: Buffer, answer: { write(): string }, started: number): void => {
    let text: string;
    try {
      text = answer.write();
    } catch {
      // Non-finite samples, an instance the model cannot answer: Fastify says which, as it always does.
      return viaFastify(entry, req, res, raw, started);
    }
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
    answered++;
    entry.record("POST", 200, performance.now() - started);
  };

  const writeHeavy = (entry: LaneEntry, req: IncomingMessage, res: ServerResponse, answer: Extract<LaneAnswer, { light: false }>, started: number): void => {
    answer.stream(req.socket as unknown as Connection, res).then(
      (stream) => {
        res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": stream.byteLength });
        res.once("close", () => stream.destroy());
        res.once("finish", () => entry.record("POST", 200, performance.now() - started));
        stream.pipe(res);
        answered++;
      },
      (err: unknown) => writeProblem(entry, req, res, err, started),
    );
  };

  const answer = (entry: LaneEntry, params: readonly string[], req: IncomingMessage, res: ServerResponse, raw: Buffer, started: number): void => {
    const model = holder.current;
    if (model === null) return viaFastify(entry, req, res, raw, started);
    let prepared: LaneAnswer;
    try {
      // Decoded as Fastify decodes a JSON body (utf8, a bad sequence becoming U+FFFD), parsed as it parses one.
      prepared = entry.handler.prepare(model, params, parseJson(raw.toString("utf8")));
    } catch {
      // Malformed JSON, a validation error, another model's name: Fastify says which, as it always does.
      return viaFastify(entry, req, res, raw, started);
    }
    if (!prepared.light) return writeHeavy(entry, req, res, prepared, started);
    const connection = req.socket as unknown as Connection;
    // The everyday case: nothing before it on the connection, its response the one being sent.
    if (res.socket !== null && connectionFree(connection)) return writeLight(entry, req, res, raw, prepared, started);
    answerLightInTurn(connection, res, prepared.bytes, () => writeLight(entry, req, res, raw, prepared, started));
  };

  /** The lane route a URL is for, with its parameters, or null. */
  const find = (t: LaneTable, url: string): { entry: LaneEntry; params: readonly string[] } | null => {
    const entry = t.exact.get(url);
    if (entry !== undefined) return { entry, params: [] };
    for (const e of t.parametric) {
      const m = (e.url as RegExp).exec(url);
      if (m !== null) return { entry: e, params: m.slice(1) };
    }
    return null;
  };

  return {
    get answered() {
      return answered;
    },
    get blocker() {
      return table?.blocker ?? null;
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
      table ??= options.routes.table(options.recorderFor);
      if (table.blocker !== null) return false;
      const found = find(table, req.url as string);
      if (found === null || !options.engaged()) return false;
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
        answer(found.entry, found.params, req, res, raw, started);
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
