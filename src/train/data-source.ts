// Where training data come from: a local path or file:// URL, s3://bucket/key, s3://bucket/prefix/ (the newest object
// under the prefix, or every object in key order with `all`), or http(s)://. Each object is CSV — gzip-compressed or
// not, told by its first bytes rather than its name — or Parquet (told by its "PAR1" magic). What was read is recorded
// for the manifest: each object's URI, size, sha256 of its bytes as stored, and its ETag, version id and modification
// time where the source gives them.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { CsvError } from "csv-parse";
import { BayesServeError } from "../errors.js";
import type { DataObjectInfo } from "../artifact/manifest.js";
import { explainS3Error, s3Settings } from "../artifact/s3-store.js";
import { TransferDeadline, withinDeadline, type TransferLimits } from "../artifact/transfer-deadline.js";
import { readCsvStream, type ColumnSpec, type CsvTable } from "./csv.js";
import { parseParquet } from "./parquet.js";
import type { Table } from "./table.js";

/** One object read for training, as recorded in the manifest. */
export type DataObject = DataObjectInfo;
export type DataFormat = DataObjectInfo["format"];

/** An object to read: where it is, and how to open its bytes. */
export interface SourceObject {
  uri: string;
  open(): Promise<OpenedObject>;
}

interface OpenedObject {
  body: Readable;
  etag?: string;
  versionId?: string;
  lastModified?: string;
}

export interface ResolveOptions {
  /** For a prefix (a URI ending in "/"): read every object under it instead of the newest. */
  all?: boolean;
  env?: NodeJS.ProcessEnv;
  /** How long a network object may take to arrive whole, headers and body (default: see TransferDeadline). */
  transfer?: TransferLimits;
}

const fail = (uri: string, msg: string): never => {
  throw new BayesServeError("DATA_SOURCE", `${uri}: ${msg}`);
};

/** The objects a data URI names, in the order they are read. */
export async function resolveSource(uri: string, options: ResolveOptions = {}): Promise<SourceObject[]> {
  if (uri.startsWith("s3://")) return resolveS3(uri, options);
  if (uri.startsWith("https://") || uri.startsWith("http://")) {
    if (options.all === true) fail(uri, "--data-all reads every object under an s3:// prefix; an http(s) URL names one object");
    return [httpObject(uri, options.transfer ?? {})];
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(uri);
  if (scheme !== null && scheme[1].toLowerCase() !== "file") fail(uri, `unsupported scheme "${scheme[1]}" (use a path, file://, s3:// or https://)`);
  if (options.all === true) fail(uri, "--data-all reads every object under an s3:// prefix, not a local file");
  const path = scheme !== null ? fileURLToPath(uri) : uri;
  return [localObject(path)];
}

function localObject(path: string): SourceObject {
  return {
    uri: path,
    open: async () => {
      try {
        const s = await stat(path);
        if (!s.isFile()) fail(path, "is not a file");
        return { body: createReadStream(path), lastModified: s.mtime.toISOString() };
      } catch (err) {
        if (err instanceof BayesServeError) throw err;
        return fail(path, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    },
  };
}

function httpObject(uri: string, limits: TransferLimits): SourceObject {
  return {
    uri,
    open: async () => {
      const deadline = new TransferDeadline(limits);
      let res: Response;
      try {
        res = await fetch(uri, { signal: deadline.signal, redirect: "follow" });
      } catch (err) {
        deadline.clear();
        const cause = (err as { cause?: { code?: string } }).cause?.code;
        return fail(uri, deadline.expired ? `no answer within ${deadline.allowed}` : `cannot fetch (${cause ?? (err as Error).message})`);
      }
      if (res.status !== 200 || res.body === null) {
        deadline.clear();
        await res.body?.cancel();
        return fail(uri, `HTTP ${res.status} ${res.statusText}`.trimEnd());
      }
      // fetch decodes a Content-Encoding (gzip, br): Content-Length is then the encoded size, a fraction of the bytes the
      // body gives, which are allowed as they arrive too.
      const encoding = (res.headers.get("content-encoding") ?? "").trim().toLowerCase();
      const decoded = encoding !== "" && encoding !== "identity";
      const length = Number(res.headers.get("content-length") ?? NaN);
      return {
        body: withinTransferDeadline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>), deadline, uri, length, decoded),
        ...optional("etag", res.headers.get("etag")),
        ...optional("lastModified", res.headers.get("last-modified") === null ? null : new Date(res.headers.get("last-modified")!).toISOString()),
      };
    },
  };
}

/**
 * The bytes of a body as they pass, counted against its deadline (when its size was not known up front). While the
 * reader holds them back — its buffers full as it parses or gunzips, slower than the link — the deadline's clock stops:
 * a gzip'd object's Content-Length is its compressed size, and the time its reader takes over the text is not the
 * endpoint's.
 */
class DeadlineBody extends Transform {
  constructor(
    private readonly deadline: TransferDeadline,
    private readonly countBytes: boolean,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.countBytes) this.deadline.allow(chunk.length);
    // Full: Transform waits for the reader's next _read before it takes more.
    if (!this.push(chunk)) this.deadline.pause();
    done();
  }

  override _read(size: number): void {
    this.deadline.resume();
    super._read(size);
  }
}

/**
 * The body of a network object under its transfer's deadline: the size allowed up front when the answer gives it, and
 * the bytes as they arrive when it does not or when they were `decoded` from it (fetch's Content-Encoding). Past the deadline the body fails with a DATA_SOURCE error naming the object, and the request is
 * aborted: a source that drips its answer cannot hold a scheduled train forever.
 */
function withinTransferDeadline(body: Readable, deadline: TransferDeadline, uri: string, size: number, decoded = false): Readable {
  const sizeKnown = Number.isFinite(size) && size >= 0;
  if (sizeKnown) deadline.allow(size);
  const timed = new DeadlineBody(deadline, !sizeKnown || decoded);
  deadline.onExpire(() => {
    const error = new BayesServeError("DATA_SOURCE", `${uri}: the answer did not finish within ${deadline.allowed}`);
    timed.destroy(error);
    body.destroy(error);
  });
  body.on("error", (err) => timed.destroy(err));
  timed.on("close", () => {
    deadline.clear();
    body.destroy();
  });
  return body.pipe(timed);
}

function optional<K extends string>(key: K, value: string | null | undefined): Partial<Record<K, string>> {
  return value === null || value === undefined || value === "" ? {} : ({ [key]: value } as Record<K, string>);
}

async function resolveS3(uri: string, options: ResolveOptions): Promise<SourceObject[]> {
  const rest = uri.slice("s3://".length);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? "" : rest.slice(slash + 1);
  if (bucket === "") fail(uri, "no bucket: write s3://bucket/key or s3://bucket/prefix/");
  const settings = s3Settings({ env: options.env });
  const limits = options.transfer ?? {};
  const sdk = await import("@aws-sdk/client-s3");
  const client = new sdk.S3Client(settings.config);
  const explain = (err: unknown): never => fail(uri, explainS3Error(err, { bucket, endpoint: settings.endpoint }));
  const object = (k: string): SourceObject => ({
    uri: `s3://${bucket}/${k}`,
    open: async () => {
      const deadline = new TransferDeadline(limits);
      try {
        const res = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: k }), { abortSignal: deadline.signal });
        return {
          body: withinTransferDeadline(res.Body as Readable, deadline, `s3://${bucket}/${k}`, res.ContentLength ?? NaN),
          ...optional("etag", res.ETag),
          ...optional("versionId", res.VersionId),
          ...optional("lastModified", res.LastModified?.toISOString()),
        };
      } catch (err) {
        deadline.clear();
        if (deadline.expired) return fail(`s3://${bucket}/${k}`, `no answer within ${deadline.allowed}`);
        if ((err as { name?: string }).name === "NoSuchKey") return fail(`s3://${bucket}/${k}`, "no such object");
        return explain(err);
      }
    },
  });

  if (key !== "" && !key.endsWith("/")) {
    if (options.all === true) fail(uri, '--data-all needs a prefix ending in "/"');
    return [object(key)];
  }
  const listed: { key: string; modified: number }[] = [];
  let token: string | undefined;
  try {
    do {
      const command = new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: key, ContinuationToken: token });
      const page = await withinDeadline(
        limits,
        0,
        (deadline) => client.send(command, { abortSignal: deadline.signal }),
        (allowed) => new BayesServeError("DATA_SOURCE", `${uri}: listing the prefix did not finish within ${allowed}`),
      );
      for (const o of page.Contents ?? []) {
        // Folder markers (keys ending in "/") and empty objects hold no rows.
        if (o.Key === undefined || o.Key.endsWith("/") || o.Size === 0) continue;
        listed.push({ key: o.Key, modified: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } catch (err) {
    if (err instanceof BayesServeError) throw err;
    explain(err);
  }
  if (listed.length === 0) fail(uri, "no objects under this prefix");
  if (options.all === true) return listed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).map((o) => object(o.key));
  // The newest object; of objects written in the same second, the last by key (timestamped names sort).
  const newest = listed.reduce((best, o) => (o.modified > best.modified || (o.modified === best.modified && o.key > best.key) ? o : best));
  return [object(newest.key)];
}

/** Counts and hashes the bytes that pass through. */
class Digesting extends Transform {
  bytes = 0;
  private readonly hash = createHash("sha256");

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    done(null, chunk);
  }

  digest(): string {
    return this.hash.digest("hex");
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];
const PARQUET_MAGIC = Buffer.from("PAR1");

/** An opened object's bytes: decoded to CSV text as a stream, or (Parquet) whole, and its record when read. */
export type ObjectContent = (
  { format: "csv" | "csv+gzip"; text: Readable; finish(): Promise<DataObject> } | { format: "parquet"; bytes: ArrayBuffer; finish(): Promise<DataObject> }
) & {
  /** Ends the transfer: a reader that stops early (a bad header, a bad value) lets go of the connection and its deadline. */
  close(): void;
};

/** Opens an object and tells CSV from gzip from Parquet by the first bytes. */
export async function openObject(source: SourceObject): Promise<ObjectContent> {
  const opened = await source.open();
  const digest = new Digesting();
  const raw = opened.body.pipe(digest);
  opened.body.on("error", (err) => digest.destroy(err));
  const first = await firstBytes(raw, 4);
  const record = (format: DataFormat): DataObject => ({
    uri: source.uri,
    bytes: digest.bytes,
    sha256: digest.digest(),
    format,
    ...optional("etag", opened.etag),
    ...optional("versionId", opened.versionId),
    ...optional("lastModified", opened.lastModified),
  });
  const close = (): void => {
    opened.body.destroy();
  };
  const head = Readable.from(prepend(first, raw));
  if (first.length >= 4 && first.subarray(0, 4).equals(PARQUET_MAGIC)) {
    const chunks: Buffer[] = [];
    for await (const c of head) chunks.push(c as Buffer);
    const whole = Buffer.concat(chunks);
    return {
      format: "parquet",
      bytes: whole.buffer.slice(whole.byteOffset, whole.byteOffset + whole.byteLength) as ArrayBuffer,
      finish: async () => record("parquet"),
      close,
    };
  }
  if (isGzip(first)) {
    const gunzip = createGunzip();
    head.on("error", (err) => gunzip.destroy(err));
    const text = head.pipe(gunzip);
    // What the gzip holds, told as the object's own bytes are: CSV is read; Parquet, or gzip again, would be read as
    // CSV text and refused as a header without the model's columns.
    let inner: Buffer;
    try {
      inner = await firstBytes(text, 4);
    } catch (err) {
      text.destroy();
      close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code?.startsWith("Z_") === true) fail(source.uri, `the gzip data are damaged (${code})`);
      throw err;
    }
    const refuse = (what: string): never => {
      text.destroy();
      close();
      return fail(source.uri, what);
    };
    if (inner.length >= 4 && inner.subarray(0, 4).equals(PARQUET_MAGIC))
      refuse("is gzip-compressed Parquet, which is not read: give the Parquet file itself (Parquet compresses its own pages)");
    if (isGzip(inner)) refuse("is gzip-compressed twice: decompress it once (gzip -d) and give that");
    // gunzip may end before the object does (zero padding after the last member, which gzip(1) also accepts): the rest
    // is read too, so that the record's size and sha256 are the whole object's.
    const finish = async (): Promise<DataObject> => {
      head.unpipe(gunzip);
      for await (const _ of head) void _;
      return record("csv+gzip");
    };
    return { format: "csv+gzip", text: Readable.from(prepend(inner, text), { objectMode: false }), finish, close };
  }
  return { format: "csv", text: head, finish: async () => record("csv"), close };
}

const isGzip = (bytes: Buffer): boolean => bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];

/** Reads at least n bytes (fewer at the end of the stream) without losing them. */
async function firstBytes(stream: Readable, n: number): Promise<Buffer> {
  const got: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const chunk = await nextChunk(stream);
    if (chunk === null) break;
    got.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(got);
}

function nextChunk(stream: Readable): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) return resolve(chunk);
    if (stream.readableEnded) return resolve(null);
    const cleanup = (): void => {
      stream.off("readable", onReadable);
      stream.off("end", onEnd);
      stream.off("error", onError);
    };
    const onReadable = (): void => {
      const c = stream.read() as Buffer | null;
      if (c === null) return;
      cleanup();
      resolve(c);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    stream.on("readable", onReadable);
    stream.on("end", onEnd);
    stream.on("error", onError);
  });
}

async function* prepend(first: Buffer, rest: Readable): AsyncGenerator<Buffer> {
  if (first.length > 0) yield first;
  for await (const chunk of rest) yield chunk as Buffer;
}

/** A training table read from a data URI: its rows, where each came from, and what was read. */
export interface SourcedTable {
  table: Table;
  /** Columns of the data the model does not read, in order of first appearance. */
  ignored: string[];
  /** Where a row of the table is in its object: "s3://b/k.csv, line 12" or "…/k.parquet, row 11". */
  where(row: number): string;
  objects: DataObject[];
}

/** Reads every object a data URI names into one table of the model's columns (objects' rows in order). */
export async function readSourceTable(uri: string, spec: ColumnSpec[], options: ResolveOptions = {}): Promise<SourcedTable> {
  const sources = await resolveSource(uri, options);
  const parts: { table: CsvTable; object: DataObject; unit: "line" | "row" }[] = [];
  for (const source of sources) {
    const content = await openObject(source);
    let table: CsvTable;
    if (content.format === "parquet") table = await parseParquet(content.bytes, source.uri, spec);
    else {
      try {
        // Parsed as the bytes arrive: memory holds the model's columns, not the object's text.
        table = await readCsvStream(content.text, source.uri, spec);
      } catch (err) {
        // Refused before its end (a missing column, a bad value): the rest of the object is not wanted.
        content.close();
        // A failure of the source or of gunzip comes as "cannot read the data", the stream's error its cause.
        const cause = err instanceof BayesServeError ? err.cause : err;
        const code = (cause as NodeJS.ErrnoException | undefined)?.code;
        if (content.format === "csv+gzip" && code?.startsWith("Z_") === true) fail(source.uri, `the gzip data are damaged (${code})`);
        if (err instanceof BayesServeError && !(cause instanceof CsvError) && cause !== undefined) {
          // The transfer's deadline, which names the object and the time allowed.
          if (cause instanceof BayesServeError) throw cause;
          throw new BayesServeError("DATA_SOURCE", `${source.uri}: reading failed (${typeof code === "string" ? code : (cause as Error).message})`, { cause });
        }
        throw err;
      }
    }
    parts.push({ table, object: await content.finish(), unit: content.format === "parquet" ? "row" : "line" });
  }
  const table =
    parts.length === 1
      ? parts[0].table
      : concatenate(
          parts.map((p) => p.table),
          uri,
        );
  const starts = parts.map((_, i) => parts.slice(0, i).reduce((n, p) => n + p.table.rows, 0));
  // Where a row is, from each part's line numbers alone: holding the parts would hold their columns too, as long as
  // messages may be needed (the whole fit), beside the table's copy of them.
  const located = parts.map((p) => ({ uri: p.object.uri, unit: p.unit, lines: p.table.lines }));
  return {
    table,
    ignored: [...new Set(parts.flatMap((p) => p.table.ignored))],
    objects: parts.map((p) => p.object),
    where: (row) => {
      let k = located.length - 1;
      while (k > 0 && starts[k] > row) k--;
      const p = located[k];
      return `${p.uri}, ${p.unit} ${p.lines[row - starts[k]]}`;
    },
  };
}

function concatenate(tables: CsvTable[], uri: string): Table {
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  const columns: Record<string, Float64Array> = {};
  for (const name of Object.keys(tables[0].columns)) {
    const out = new Float64Array(rows);
    let at = 0;
    for (const t of tables) {
      out.set(t.columns[name], at);
      at += t.rows;
    }
    columns[name] = out;
  }
  return { columns, rows, source: `${uri} (${tables.length} objects)` };
}
