// A store in S3 or any S3-compatible service (MinIO, s3rver, …), configured by the standard AWS environment:
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (path-style addressing when set), AWS_REGION / AWS_DEFAULT_REGION (default
// us-east-1), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (else the SDK's default chain: profile,
// SSO, instance role…), AWS_MAX_ATTEMPTS. A version's objects are put first, its manifest last, `latest` after that;
// a version is removed manifest first. Objects of a version that has no manifest (a publish or removal that was
// interrupted) are leftovers, deleted by later publishes and prunes once they are old enough not to be in progress.
// The SDK is imported on first use: it costs a quarter of a second that local-only runs should not pay.
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { BayesServeError } from "../errors.js";
import { BaseStore, LATEST_KEY, mapLimit, type Leftover } from "./base-store.js";
import { MANIFEST_FILE } from "./manifest.js";
import { withinDeadline, type TransferDeadline, type TransferLimits } from "./transfer-deadline.js";
import { isVersionId } from "./version-id.js";
import type { BundleEntry } from "./bundle.js";

type Sdk = typeof import("@aws-sdk/client-s3");

export interface S3StoreOptions {
  /** Where to read AWS settings (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** A ready client (settings above are then ignored). */
  client?: S3Client;
  /** Time allowed to open a connection (default 2500 ms). */
  connectionTimeoutMs?: number;
  /** Time a request's socket may sit idle, no byte either way, before it fails (default 10 s). Not a cap on the
   *  length of a transfer, so large uploads are fine. */
  idleTimeoutMs?: number;
  /** Attempts per request, first included (default AWS_MAX_ATTEMPTS or 2). */
  maxAttempts?: number;
  /** The deadline of each request (a read, a page of a list, a write, a delete): see TransferDeadline. */
  transfer?: TransferLimits;
}

export interface ResolvedS3Settings {
  config: S3ClientConfig;
  /** The endpoint as a person would name it, for messages. */
  endpoint: string;
}

/** Client settings from the environment: endpoint, region, credentials, short timeouts and few retries. */
export function s3Settings(options: S3StoreOptions = {}): ResolvedS3Settings {
  const env = options.env ?? process.env;
  const endpoint = nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? "us-east-1";
  const attemptsFromEnv = Number(env.AWS_MAX_ATTEMPTS);
  const maxAttempts = options.maxAttempts ?? (Number.isInteger(attemptsFromEnv) && attemptsFromEnv > 0 ? attemptsFromEnv : 2);
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  const config: S3ClientConfig = {
    region,
    maxAttempts,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 2500,
      socketTimeout: options.idleTimeoutMs ?? 10_000,
    },
    // Integrity is the manifest's sha256s; the SDK's newer default checksums trip some S3-compatible servers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    ...(accessKeyId !== undefined && secretAccessKey !== undefined
      ? { credentials: { accessKeyId, secretAccessKey, sessionToken: nonEmpty(env.AWS_SESSION_TOKEN) } }
      : {}),
  };
  return { config, endpoint: endpoint ?? `AWS S3 (region ${region})` };
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === "" ? undefined : s.trim();
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown[];
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ECONNABORTED"]);

/** A person's explanation of an SDK error: what went wrong and what to check. */
export function explainS3Error(err: unknown, where: { bucket: string; endpoint: string }): string {
  const e = (err ?? {}) as SdkErrorShape;
  const name = e.name ?? "Error";
  const code = e.code ?? (e.errors?.[0] as SdkErrorShape | undefined)?.code;
  const status = e.$metadata?.httpStatusCode;
  const message = e.message ?? String(err);
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return `cannot reach the S3 endpoint ${where.endpoint} (${code}); check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and the network`;
  }
  switch (name) {
    case "NoSuchBucket":
      return `bucket "${where.bucket}" does not exist at ${where.endpoint} (NoSuchBucket)`;
    case "InvalidAccessKeyId":
      return `wrong credentials: the access key id is not known to ${where.endpoint} (InvalidAccessKeyId); check AWS_ACCESS_KEY_ID`;
    case "SignatureDoesNotMatch":
      return `wrong credentials: the secret key does not match the access key id (SignatureDoesNotMatch); check AWS_SECRET_ACCESS_KEY`;
    case "ExpiredToken":
    case "InvalidToken":
    case "TokenRefreshRequired":
      return `the credentials have expired or are invalid (${name}); refresh AWS_SESSION_TOKEN or the profile`;
    case "AccessDenied":
    case "Forbidden":
      return `access denied (${name}): the credentials may not do this on bucket "${where.bucket}"`;
    case "CredentialsProviderError":
      return `no AWS credentials found (${message}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a profile`;
    case "PermanentRedirect":
    case "AuthorizationHeaderMalformed":
      return `bucket "${where.bucket}" is in another region (${name}); set AWS_REGION to the bucket's region`;
    case "TimeoutError":
    case "RequestTimeout":
    case "RequestTimeoutException":
      return `the S3 endpoint ${where.endpoint} did not answer in time (${name}); check the endpoint and the network`;
    default:
      break;
  }
  if (status === 403) return `access denied (HTTP 403 ${name}): check the credentials and their permissions`;
  if (status === 404 && name === "NotFound") return `bucket "${where.bucket}" or the object does not exist (HTTP 404)`;
  return `${name}${status === undefined ? "" : ` (HTTP ${status})`}: ${message}`;
}

/** Why a request outlived its deadline, for messages. */
export const stalledEndpoint = (endpoint: string): string => `the S3 endpoint ${endpoint} is too slow or stalled mid-answer; the request was aborted`;

/** An object's bytes, read whole within `deadline` (its size allowed once the answer gives it). */
export async function getObjectBytes(
  s3: { sdk: Sdk; client: S3Client },
  object: { Bucket: string; Key: string },
  deadline: TransferDeadline,
): Promise<Uint8Array> {
  const res = await s3.client.send(new s3.sdk.GetObjectCommand(object), { abortSignal: deadline.signal });
  if (res.Body === undefined) return new Uint8Array(0);
  const body = res.Body as { destroy?: (error?: Error) => void };
  // The request's abort may no longer reach a response already under way.
  deadline.onExpire(() => body.destroy?.(new Error("the request's deadline passed")));
  deadline.allow(res.ContentLength ?? 0);
  return await res.Body.transformToByteArray();
}

const CONTENT_TYPES: Record<string, string> = {
  json: "application/json",
  html: "text/html; charset=utf-8",
  png: "image/png",
  svg: "image/svg+xml",
  csv: "text/csv",
  txt: "text/plain; charset=utf-8",
  nc: "application/x-netcdf",
};
const contentType = (path: string): string => CONTENT_TYPES[path.slice(path.lastIndexOf(".") + 1)] ?? "application/octet-stream";

export class S3Store extends BaseStore {
  readonly uri: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly settings: ResolvedS3Settings;
  private readonly givenClient: S3Client | undefined;
  private readonly limits: TransferLimits;
  private sdk: Promise<{ sdk: Sdk; client: S3Client }> | undefined;

  constructor(bucket: string, prefix: string, options: S3StoreOptions = {}, integrity: { signingKey?: string | null; leftoverAgeMs?: number } = {}) {
    super(integrity.signingKey ?? null, integrity.leftoverAgeMs);
    this.bucket = bucket;
    this.prefix = prefix === "" ? "" : `${prefix.replace(/\/+$/, "")}/`;
    this.uri = `s3://${bucket}${prefix === "" ? "" : `/${this.prefix.slice(0, -1)}`}`;
    this.settings = s3Settings(options);
    this.givenClient = options.client;
    this.limits = options.transfer ?? {};
  }

  private connect(): Promise<{ sdk: Sdk; client: S3Client }> {
    this.sdk ??= import("@aws-sdk/client-s3").then((sdk) => ({
      sdk,
      client: this.givenClient ?? new sdk.S3Client(this.settings.config),
    }));
    return this.sdk;
  }

  protected describe(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }

  private storeError(operation: string, err: unknown, key: string): BayesServeError {
    if (err instanceof BayesServeError) return err;
    const why = explainS3Error(err, { bucket: this.bucket, endpoint: this.settings.endpoint });
    return new BayesServeError("STORE", `store ${this.uri}: cannot ${operation}: ${why} (object ${this.describe(key)})`, { cause: err });
  }

  /** Runs one request under its TransferDeadline; past it, a STORE error naming the object and the time allowed. */
  private withDeadline<T>(what: { operation: string; key: string; done: string }, bytes: number, run: (deadline: TransferDeadline) => Promise<T>): Promise<T> {
    return withinDeadline(this.limits, bytes, run, (allowed, cause) => {
      const why = `${this.describe(what.key)} was not ${what.done} within ${allowed}: ${stalledEndpoint(this.settings.endpoint)}`;
      return new BayesServeError("STORE", `store ${this.uri}: cannot ${what.operation}: ${why}`, { cause });
    });
  }

  /** The object's bytes, read whole within its deadline (see withDeadline), or null when there is no such object. */
  protected async readObject(key: string, operation: string): Promise<Uint8Array | null> {
    const { sdk, client } = await this.connect();
    try {
      return await this.withDeadline({ operation, key, done: "read whole" }, 0, (deadline) =>
        getObjectBytes({ sdk, client }, { Bucket: this.bucket, Key: this.prefix + key }, deadline),
      );
    } catch (err) {
      if ((err as SdkErrorShape | null)?.name === "NoSuchKey") return null;
      throw this.storeError(operation, err, key);
    }
  }

  protected async listVersionFolders(operation: string): Promise<string[]> {
    const { sdk, client } = await this.connect();
    const base = `${this.prefix}versions/`;
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, Delimiter: "/", ContinuationToken: token });
        const res = await this.withDeadline({ operation, key: "versions/", done: "listed" }, 0, (deadline) =>
          client.send(page, { abortSignal: deadline.signal }),
        );
        for (const p of res.CommonPrefixes ?? []) {
          if (p.Prefix !== undefined) out.push(p.Prefix.slice(base.length).replace(/\/$/, ""));
        }
        token = res.IsTruncated === true ? res.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw this.storeError(operation, err, "versions/");
    }
    return out;
  }

  private async put(key: string, bytes: Uint8Array, operation: string, extra: { CacheControl?: string } = {}): Promise<void> {
    const { sdk, client } = await this.connect();
    const command = new sdk.PutObjectCommand({
      Bucket: this.bucket,
      Key: this.prefix + key,
      Body: bytes,
      ContentLength: bytes.byteLength,
      ContentType: contentType(key),
      ...extra,
    });
    await this.withDeadline({ operation, key, done: "written" }, bytes.byteLength, (deadline) => client.send(command, { abortSignal: deadline.signal }));
  }

  private async delete(key: string, operation: string): Promise<void> {
    const { sdk, client } = await this.connect();
    const command = new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key });
    await this.withDeadline({ operation, key, done: "deleted" }, 0, (deadline) => client.send(command, { abortSignal: deadline.signal }));
  }

  protected async writeVersion(version: string, entries: BundleEntry[], operation: string): Promise<void> {
    const key = (path: string): string => `versions/${version}/${path}`;
    const manifest = entries[entries.length - 1];
    const attempted: string[] = [];
    let failedKey: string | undefined;
    try {
      await mapLimit(entries.slice(0, -1), 4, async (entry) => {
        attempted.push(key(entry.path));
        try {
          await this.put(key(entry.path), entry.bytes, operation);
        } catch (err) {
          failedKey ??= key(entry.path);
          throw err;
        }
      });
      // Only once every other object is in place: the manifest is what makes the version exist.
      failedKey = key(manifest.path);
      attempted.push(failedKey);
      await this.put(failedKey, manifest.bytes, operation);
    } catch (err) {
      await this.removeQuietly(attempted, operation);
      throw this.storeError(operation, err, failedKey ?? key(manifest.path));
    }
  }

  /** Best effort: objects of a version that never got its manifest are invisible anyway; this only tidies up. */
  private async removeQuietly(keys: string[], operation: string): Promise<void> {
    await mapLimit(keys, 4, async (k) => {
      try {
        await this.delete(k, operation);
      } catch {
        // the store is failing; leave the invisible leftovers
      }
    });
  }

  protected async writeLatest(bytes: Uint8Array, operation: string): Promise<void> {
    try {
      await this.put(LATEST_KEY, bytes, operation, { CacheControl: "no-cache" });
    } catch (err) {
      throw this.storeError(operation, err, LATEST_KEY);
    }
  }

  protected async writeVersionFile(version: string, path: string, bytes: Uint8Array, operation: string): Promise<void> {
    const key = `versions/${version}/${path}`;
    try {
      await this.put(key, bytes, operation);
    } catch (err) {
      throw this.storeError(operation, err, key);
    }
  }

  /** Every object under versions/<version>/ (or all of versions/), with its key relative to the store and its age. */
  private async listObjects(under: string, operation: string): Promise<{ key: string; modified: number }[]> {
    const { sdk, client } = await this.connect();
    const base = this.prefix + under;
    const out: { key: string; modified: number }[] = [];
    let token: string | undefined;
    try {
      do {
        const page = new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ContinuationToken: token });
        const res = await this.withDeadline({ operation, key: under, done: "listed" }, 0, (deadline) => client.send(page, { abortSignal: deadline.signal }));
        for (const o of res.Contents ?? []) {
          if (o.Key !== undefined) out.push({ key: o.Key.slice(this.prefix.length), modified: o.LastModified?.getTime() ?? 0 });
        }
        token = res.IsTruncated === true ? res.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw this.storeError(operation, err, under);
    }
    return out;
  }

  private async deleteObject(key: string, operation: string): Promise<void> {
    try {
      await this.delete(key, operation);
    } catch (err) {
      throw this.storeError(operation, err, key);
    }
  }

  protected async removeVersion(version: string, operation: string): Promise<void> {
    // The manifest first: from then on the version does not exist, and what is left is a leftover.
    await this.deleteObject(`versions/${version}/${MANIFEST_FILE}`, operation);
    const rest = await this.listObjects(`versions/${version}/`, operation);
    await mapLimit(rest, 4, (o) => this.deleteObject(o.key, operation));
  }

  protected async listLeftovers(olderThanMs: number, operation: string): Promise<Leftover[]> {
    const byVersion = new Map<string, { keys: string[]; newest: number; complete: boolean }>();
    for (const o of await this.listObjects("versions/", operation)) {
      const [, version, ...rest] = o.key.split("/");
      if (version === undefined || !isVersionId(version)) continue;
      let entry = byVersion.get(version);
      if (entry === undefined) {
        entry = { keys: [], newest: 0, complete: false };
        byVersion.set(version, entry);
      }
      entry.keys.push(o.key);
      entry.newest = Math.max(entry.newest, o.modified);
      if (rest.join("/") === MANIFEST_FILE) entry.complete = true;
    }
    const cutoff = Date.now() - olderThanMs;
    const out: Leftover[] = [];
    for (const [version, entry] of byVersion) {
      if (entry.complete || entry.newest > cutoff) continue;
      out.push({ description: `${this.describe(`versions/${version}/`)} (${entry.keys.length} object(s), no manifest)`, handle: entry.keys });
    }
    return out;
  }

  protected async removeLeftover(leftover: Leftover, operation: string): Promise<void> {
    await mapLimit(leftover.handle as string[], 4, (key) => this.deleteObject(key, operation));
  }
}
