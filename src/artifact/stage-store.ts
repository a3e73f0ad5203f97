// A staging area: a flat folder of named objects in a local folder or under an s3://bucket/prefix, where the chains of
// one fit, run apart (in separate processes or Kubernetes pods), wait to be merged. Unlike a version in the artefact
// store it is mutable — a retried chain replaces its own object — but every object is replaced whole or not at all: a
// local file is written to a hidden temporary name, fsynced and renamed over the old one; an S3 object is one PUT,
// which S3 makes visible only complete. Readers never see half an object; what they see is checked by its writer's
// own format (src/train/chain-stage.ts).
import type { S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { BayesServeError } from "../errors.js";
import { nodeLocalIo, type LocalIo } from "./local-store.js";
import { explainS3Error, getObjectBytes, s3Settings, stalledEndpoint, type ResolvedS3Settings, type S3StoreOptions } from "./s3-store.js";
import { withinDeadline, type TransferDeadline } from "./transfer-deadline.js";
import { parseStoreUri } from "./store.js";

export interface StageStore {
  /** An absolute path or s3://bucket/prefix. */
  readonly uri: string;
  /** Writes (or replaces) an object whole: readers see the old bytes or the new ones, never a part. */
  put(name: string, bytes: Uint8Array): Promise<void>;
  /** The object's bytes, or null when there is none. */
  get(name: string): Promise<Uint8Array | null>;
  /** The names of the objects there (not hidden temporary files), sorted. */
  list(): Promise<string[]>;
  /** The object's full name for messages: a path or an s3:// URI. */
  describe(name: string): string;
}

export interface OpenStageOptions {
  env?: NodeJS.ProcessEnv;
  s3?: S3StoreOptions;
  localIo?: LocalIo;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkName(name: string): void {
  if (!NAME.test(name)) throw new Error(`internal: staging object name "${name}" is not a plain file name`);
}

/** Opens the staging area a URI names (a path, file:// URL or s3://bucket/prefix). Nothing is read until asked. */
export function openStageStore(uri: string, options: OpenStageOptions = {}): StageStore {
  const location = parseStoreUri(uri);
  if (location.kind === "local") return new LocalStage(location.path, options.localIo ?? nodeLocalIo);
  return new S3Stage(location.bucket, location.prefix, { env: options.env, ...options.s3 });
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

class LocalStage implements StageStore {
  readonly uri: string;
  constructor(
    path: string,
    private readonly io: LocalIo,
  ) {
    this.uri = resolve(path);
  }

  describe(name: string): string {
    return join(this.uri, name);
  }

  private failure(operation: string, err: unknown, file: string): BayesServeError {
    return new BayesServeError("STORE", `staging ${this.uri}: cannot ${operation}: ${(err as Error | null)?.message ?? String(err)} (file ${file})`, {
      cause: err,
    });
  }

  async put(name: string, bytes: Uint8Array): Promise<void> {
    checkName(name);
    const final = this.describe(name);
    const temp = join(this.uri, `.${name}.${randomBytes(4).toString("hex")}.tmp`);
    let current = this.uri;
    try {
      await this.io.mkdir(this.uri);
      current = temp;
      await this.io.writeFile(temp, bytes);
      current = final;
      await this.io.rename(temp, final);
      await this.io.syncDir(this.uri);
    } catch (err) {
      await this.io.remove(temp).catch(() => undefined);
      throw this.failure(`write ${name}`, err, current);
    }
  }

  async get(name: string): Promise<Uint8Array | null> {
    checkName(name);
    const file = this.describe(name);
    try {
      return await this.io.readFile(file);
    } catch (err) {
      if (errno(err) === "ENOENT") return null;
      throw this.failure(`read ${name}`, err, file);
    }
  }

  async list(): Promise<string[]> {
    try {
      return (await this.io.readdir(this.uri)).filter((n) => !n.startsWith(".")).sort();
    } catch (err) {
      if (errno(err) === "ENOENT") return [];
      throw this.failure("list the staged objects", err, this.uri);
    }
  }
}

class S3Stage implements StageStore {
  readonly uri: string;
  private readonly prefix: string;
  private readonly settings: ResolvedS3Settings;
  private connection: Promise<{ sdk: typeof import("@aws-sdk/client-s3"); client: S3Client }> | undefined;

  constructor(
    private readonly bucket: string,
    prefix: string,
    private readonly options: S3StoreOptions,
  ) {
    this.prefix = prefix === "" ? "" : `${prefix}/`;
    this.uri = `s3://${bucket}${prefix === "" ? "" : `/${prefix}`}`;
    this.settings = s3Settings(options);
  }

  private connect() {
    this.connection ??= import("@aws-sdk/client-s3").then((sdk) => ({ sdk, client: this.options.client ?? new sdk.S3Client(this.settings.config) }));
    return this.connection;
  }

  describe(name: string): string {
    return `s3://${this.bucket}/${this.prefix}${name}`;
  }

  private failure(operation: string, err: unknown, name: string): BayesServeError {
    if (err instanceof BayesServeError) return err;
    const why = explainS3Error(err, { bucket: this.bucket, endpoint: this.settings.endpoint });
    return new BayesServeError("STORE", `staging ${this.uri}: cannot ${operation}: ${why} (object ${this.describe(name)})`, { cause: err });
  }

  /** One request under its TransferDeadline (see S3Store): a stalled endpoint cannot hold a chain's pod or the merge. */
  private withDeadline<T>(operation: string, name: string, bytes: number, run: (deadline: TransferDeadline) => Promise<T>): Promise<T> {
    return withinDeadline(this.options.transfer ?? {}, bytes, run, (allowed, cause) => {
      const why = `not done within ${allowed}: ${stalledEndpoint(this.settings.endpoint)}`;
      return new BayesServeError("STORE", `staging ${this.uri}: cannot ${operation}: ${why} (object ${this.describe(name)})`, { cause });
    });
  }

  async put(name: string, bytes: Uint8Array): Promise<void> {
    checkName(name);
    const { sdk, client } = await this.connect();
    try {
      const command = new sdk.PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + name,
        Body: bytes,
        ContentLength: bytes.byteLength,
        ContentType: "application/octet-stream",
      });
      await this.withDeadline(`write ${name}`, name, bytes.byteLength, (deadline) => client.send(command, { abortSignal: deadline.signal }));
    } catch (err) {
      throw this.failure(`write ${name}`, err, name);
    }
  }

  async get(name: string): Promise<Uint8Array | null> {
    checkName(name);
    const { sdk, client } = await this.connect();
    try {
      return await this.withDeadline(`read ${name}`, name, 0, (deadline) =>
        getObjectBytes({ sdk, client }, { Bucket: this.bucket, Key: this.prefix + name }, deadline),
      );
    } catch (err) {
      if ((err as { name?: string } | null)?.name === "NoSuchKey") return null;
      throw this.failure(`read ${name}`, err, name);
    }
  }

  async list(): Promise<string[]> {
    const { sdk, client } = await this.connect();
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, Delimiter: "/", ContinuationToken: token });
        const res = await this.withDeadline("list the staged objects", "", 0, (deadline) => client.send(page, { abortSignal: deadline.signal }));
        for (const o of res.Contents ?? []) if (o.Key !== undefined) out.push(o.Key.slice(this.prefix.length));
        token = res.IsTruncated === true ? res.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw this.failure("list the staged objects", err, "");
    }
    return out.filter((n) => n !== "" && !n.startsWith(".")).sort();
  }
}
