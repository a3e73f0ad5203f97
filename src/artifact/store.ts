// Where artefacts live. A store holds immutable versions and one mutable pointer, `latest`:
//
//   <root or prefix>/versions/<version>/manifest.json    written last: a version without it does not exist
//   <root or prefix>/versions/<version>/seal.json        the manifest's sha256 (and HMAC with a signing key): seal.ts
//   <root or prefix>/versions/<version>/draws.bin        and every other file the manifest lists, with its sha256
//   <root or prefix>/latest                              {"version", "updatedAt", "manifestSha256"}, replaced atomically
//
// Every read of a manifest checks it against its seal (and against `latest`'s digest when loading what it names), and
// every other file against the manifest's checksums: no byte of a version is trusted unchecked.
//
// `openStore` picks the implementation from the URI: a plain path or file:// URL is a local folder, s3://bucket/prefix
// is S3 (or any S3-compatible store, configured by the standard AWS environment variables).
import { TRAIN_DEFAULTS } from "../defaults.js";
import { fileURLToPath } from "node:url";
import { BayesServeError } from "../errors.js";
import type { LatestPointer } from "./base-store.js";
import type { Bundle, BundleFileSelection } from "./bundle.js";
import { LocalStore, type LocalIo } from "./local-store.js";
import { type Manifest } from "./manifest.js";
import { isVersionId } from "./version-id.js";
import { S3Store, type S3StoreOptions } from "./s3-store.js";
import { signingKeyFromEnv } from "./seal.js";

export type { LatestPointer };

export interface VersionInfo {
  version: string;
  /** True for the version `latest` names. */
  latest: boolean;
  /** From the manifest; null when the manifest could not be read (see `problem`). */
  createdAt: string | null;
  gatePassed: boolean | null;
  /** Why the manifest could not be read or validated, or null. */
  problem: string | null;
}

export interface PublishOptions {
  /** Move `latest` to the new version once all its files are written (default true). */
  promote?: boolean;
}

export interface ReadBundleOptions {
  /** "all" (default) reads and verifies every file; "posterior" only the manifest, draws and sampler stats. */
  files?: BundleFileSelection;
  /** The manifest digest `latest` recorded: the manifest must still be that one (besides matching its seal). */
  manifestSha256?: string;
}

/** What `verify` found: no problems means every byte of the version is as published. */
export interface VersionCheck {
  version: string;
  latest: boolean;
  /** Each thing wrong (a bad seal or manifest, a missing or corrupt file), each naming the file; empty when whole. */
  problems: string[];
}

export interface PruneOptions {
  /** How many of the newest versions to keep (besides `latest` and the pinned ones, always kept). */
  keep: number;
  /** Versions a server is pinned to (`--model URI@VERSION`): never removed. */
  pinned?: string[];
  /** Say what would be removed, remove nothing. */
  dryRun?: boolean;
}

export interface PruneResult {
  removed: string[];
  kept: string[];
  /** Leftovers of interrupted publishes and removals (removed too, unless dry run). */
  leftovers: string[];
}

export interface ArtifactStore {
  /** The store's canonical URI: an absolute path for a local store, `s3://bucket/prefix` for S3. */
  readonly uri: string;
  /**
   * Writes every file of the bundle, the manifest last, then (unless `promote: false`) moves `latest` to it.
   * Refuses a version that already exists. On failure nothing is visible: `latest` and `list` are unchanged.
   */
  publish(bundle: Bundle, options?: PublishOptions): Promise<string>;
  /** The version `latest` names, or null when nothing was ever published. */
  readLatest(): Promise<string | null>;
  /** The whole pointer: the version and the digest of its manifest when promoted. */
  readLatestPointer(): Promise<LatestPointer | null>;
  /** Points `latest` at an existing version (promote or roll back). Refuses a version the store does not hold. */
  setLatest(version: string): Promise<void>;
  /** Every complete version (one with a manifest), oldest first. Partial versions are not listed. */
  list(): Promise<VersionInfo[]>;
  /** The version's manifest, validated. */
  readManifest(version: string): Promise<Manifest>;
  /** The version's bundle, every file read verified against the manifest's checksums. */
  readBundle(version: string, options?: ReadBundleOptions): Promise<Bundle>;
  /** One file of a version (e.g. `report/report.html`), verified against its checksum; `manifest.json` as stored. */
  readFile(version: string, path: string): Promise<Uint8Array>;
  /** Checks every byte of a version: the manifest against its seal, every file against the manifest. */
  verify(version: string): Promise<VersionCheck>;
  /**
   * Records the seal of a version published without one, once its every file matches its manifest; with a signing
   * key, also signs a sealed version whose manifest still matches its digest.
   */
  seal(version: string): Promise<void>;
  /** Removes all but the newest `keep` versions (never `latest` nor a pinned one), and leftovers. */
  prune(options: PruneOptions): Promise<PruneResult>;
  /** Removes what interrupted publishes and removals left behind (old enough not to be a publish in progress). */
  removeLeftovers(): Promise<string[]>;
}

export interface OpenStoreOptions {
  /** Environment to read AWS settings from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** S3 client settings: timeouts, retries, or a ready client. */
  s3?: S3StoreOptions;
  /** Local file operations (tests inject faults here). */
  localIo?: LocalIo;
  /** HMAC key for seals; default: BAYES_SERVE_SIGNING_KEY from `env`. null: none. */
  signingKey?: string | null;
  /** Leftovers younger than this are left alone (default 1 hour: they may be a publish in progress). */
  leftoverAgeMs?: number;
}

export const DEFAULT_STORE_URI = TRAIN_DEFAULTS.store;

export type StoreLocation = { kind: "local"; path: string } | { kind: "s3"; bucket: string; prefix: string };

/** Parses a store URI: a path or file:// URL (local), or s3://bucket[/prefix]. */
export function parseStoreUri(uri: string): StoreLocation {
  if (uri.trim() === "") throw new BayesServeError("STORE", "the store URI is empty");
  if (uri.startsWith("s3://")) {
    const rest = uri.slice("s3://".length);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = (slash < 0 ? "" : rest.slice(slash + 1)).replace(/^\/+|\/+$/g, "");
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new BayesServeError("STORE", `store URI ${uri}: "${bucket}" is not a valid S3 bucket name`);
    }
    if (prefix.split("/").some((s) => s === "." || s === "..") || prefix.includes("//")) {
      throw new BayesServeError("STORE", `store URI ${uri}: the prefix "${prefix}" has an empty, "." or ".." segment`);
    }
    return { kind: "s3", bucket, prefix };
  }
  if (uri.startsWith("file:")) {
    try {
      return { kind: "local", path: fileURLToPath(uri) };
    } catch (err) {
      throw new BayesServeError("STORE", `store URI ${uri} is not a valid file URL: ${(err as Error).message}`, { cause: err });
    }
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri);
  if (scheme !== null) {
    throw new BayesServeError("STORE", `store URI ${uri}: unsupported scheme "${scheme[1]}" (use a path, file:// or s3://)`);
  }
  return { kind: "local", path: uri };
}

/** Opens the store a URI names. Nothing is read until the first operation. */
export function openStore(uri: string = DEFAULT_STORE_URI, options: OpenStoreOptions = {}): ArtifactStore {
  const location = parseStoreUri(uri);
  const integrity = {
    signingKey: options.signingKey !== undefined ? options.signingKey : signingKeyFromEnv(options.env ?? process.env),
    leftoverAgeMs: options.leftoverAgeMs,
  };
  if (location.kind === "local") return new LocalStore(location.path, options.localIo, integrity);
  return new S3Store(location.bucket, location.prefix, { env: options.env, ...options.s3 }, integrity);
}

/**
 * Splits `URI[@VERSION]` (the server's `--model` argument) into the store URI and the pinned version, if any.
 * Only a trailing `@` followed by a well-formed version id counts, so paths containing `@` still work.
 */
export function parseModelRef(ref: string): { storeUri: string; version: string | null } {
  const at = ref.lastIndexOf("@");
  if (at > 0) {
    const version = ref.slice(at + 1);
    if (isVersionId(version)) return { storeUri: ref.slice(0, at), version };
    if (version === "latest") return { storeUri: ref.slice(0, at), version: null };
    // A mistyped id (it begins as a version's time does) would otherwise name a store that does not exist — one that
    // "has no model yet", or that --wait-for-model waits for forever.
    if (/^\d{8}T/.test(version))
      throw new BayesServeError("USAGE", `--model ${ref}: "${version}" is not a version id (they look like 20261201T003000Z-a1b2c3)`);
  }
  return { storeUri: ref, version: null };
}
