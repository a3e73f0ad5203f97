// What every store does the same way, on top of a few primitives a concrete store provides (read an object, list
// version folders, write a version atomically, replace the `latest` pointer atomically, write one file into a version,
// remove a version, find and remove leftovers, name an object for messages): the publish protocol, the `latest`
// pointer format, the manifest's seal, listing, verified reads, verification, and retention.
import { BayesServeError } from "../errors.js";
import { bundleEntries, bundleFilesToRead, decodeBundle, sha256Hex, verifyFile, type Bundle, type BundleEntry } from "./bundle.js";
import { MANIFEST_FILE, bundlePathProblem, parseManifest, validateManifest, type Manifest } from "./manifest.js";
import { isVersionId } from "./version-id.js";
import { SEAL_FILE, checkSeal, decodeSeal, encodeSeal, makeSeal } from "./seal.js";
import type { ArtifactStore, PruneOptions, PruneResult, PublishOptions, ReadBundleOptions, VersionCheck, VersionInfo } from "./store.js";

/** The `latest` pointer's contents. */
export interface LatestPointer {
  version: string;
  updatedAt: string;
  /**
   * sha256 of the version's manifest.json when it was promoted; absent in pointers written before bayes-serve recorded
   * it (the version's own seal is checked either way).
   */
  manifestSha256?: string;
}

/** Something an interrupted publish or removal left behind, found by `listLeftovers`. */
export interface Leftover {
  /** How to name it to a person: a path, or an s3:// prefix with its object count. */
  description: string;
  /** The store's own handle on it (a path, or the keys of the objects). */
  handle: string | string[];
}

/** Leftovers younger than this may belong to a publish still running in another process: they are left alone. */
export const DEFAULT_LEFTOVER_AGE_MS = 60 * 60 * 1000;

export const LATEST_KEY = "latest";
export const versionKey = (version: string, path: string): string => `versions/${version}/${path}`;

export function encodeLatest(version: string, manifestSha256: string, now: Date = new Date()): Uint8Array {
  const pointer: LatestPointer = { version, updatedAt: now.toISOString(), manifestSha256 };
  return new TextEncoder().encode(`${JSON.stringify(pointer)}\n`);
}

export function decodeLatest(bytes: Uint8Array, where: string): LatestPointer {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new BayesServeError("ARTIFACT", `latest pointer ${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const v = value as Partial<Record<keyof LatestPointer, unknown>> | null;
  if (
    typeof v !== "object" ||
    v === null ||
    typeof v.version !== "string" ||
    !isVersionId(v.version) ||
    typeof v.updatedAt !== "string" ||
    (v.manifestSha256 !== undefined && (typeof v.manifestSha256 !== "string" || !/^[0-9a-f]{64}$/.test(v.manifestSha256)))
  ) {
    throw new BayesServeError(
      "ARTIFACT",
      `latest pointer ${where} must be {"version": "<version id>", "updatedAt": "<time>", "manifestSha256": "<sha256 hex>"}`,
    );
  }
  return { version: v.version, updatedAt: v.updatedAt, ...(v.manifestSha256 === undefined ? {} : { manifestSha256: v.manifestSha256 as string }) };
}

/**
 * Runs `fn` over `items` with at most `limit` in flight; results in input order. After a failure no new item is
 * started, and the first error is thrown once every started call has settled (so cleanup never races a write).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return out;
}

interface SealedManifest {
  manifest: Manifest;
  /** manifest.json as stored, and its sha256. */
  bytes: Uint8Array;
  digest: string;
}

export abstract class BaseStore implements ArtifactStore {
  abstract readonly uri: string;

  /**
   * @param signingKey HMAC key for seals (see seal.ts), or null.
   * @param leftoverAgeMs leftovers younger than this are not removed (DEFAULT_LEFTOVER_AGE_MS).
   */
  constructor(
    protected readonly signingKey: string | null = null,
    protected readonly leftoverAgeMs: number = DEFAULT_LEFTOVER_AGE_MS,
  ) {}

  /** The object's bytes, or null when it does not exist. `key` is relative to the store root. */
  protected abstract readObject(key: string, operation: string): Promise<Uint8Array | null>;
  /** Names of the folders under versions/ that look like version ids (complete or not). */
  protected abstract listVersionFolders(operation: string): Promise<string[]>;
  /** Writes a version's files so that it appears complete or not at all; the entries end with manifest.json. */
  protected abstract writeVersion(version: string, entries: BundleEntry[], operation: string): Promise<void>;
  /** Adds one file to an existing version (the seal of a version published without one). */
  protected abstract writeVersionFile(version: string, path: string, bytes: Uint8Array, operation: string): Promise<void>;
  /** Replaces `latest` atomically. */
  protected abstract writeLatest(bytes: Uint8Array, operation: string): Promise<void>;
  /** Removes a version so that it disappears from `list` at once (its manifest first), then its other files. */
  protected abstract removeVersion(version: string, operation: string): Promise<void>;
  /** What interrupted publishes and removals left behind, older than `olderThanMs` (by modification time). */
  protected abstract listLeftovers(olderThanMs: number, operation: string): Promise<Leftover[]>;
  protected abstract removeLeftover(leftover: Leftover, operation: string): Promise<void>;
  /** A full name of the object for messages: a file path or an s3:// URI. */
  protected abstract describe(key: string): string;

  protected artifactError(operation: string, problem: string): BayesServeError {
    return new BayesServeError("ARTIFACT", `store ${this.uri}: cannot ${operation}: ${problem}`);
  }

  protected checkVersionId(version: string, operation: string): void {
    if (!isVersionId(version)) {
      throw this.artifactError(operation, `"${version}" is not a version id (they look like 20261201T003000Z-a1b2c3)`);
    }
  }

  async publish(bundle: Bundle, options: PublishOptions = {}): Promise<string> {
    const version = bundle.manifest.version;
    const operation = `publish version ${version}`;
    this.checkVersionId(version, operation);
    // The bundle must be exactly what its manifest says before any byte leaves the process.
    validateManifest(bundle.manifest, `of version ${version}`);
    for (const path of Object.keys(bundle.manifest.files)) {
      const bytes = bundle.files.get(path);
      if (bytes === undefined) throw this.artifactError(operation, `the manifest lists ${path} but the bundle has no such file`);
      verifyFile(bundle.manifest, path, bytes, `bundle in memory`);
    }
    for (const path of bundle.files.keys()) {
      if (!(path in bundle.manifest.files)) throw this.artifactError(operation, `the bundle has ${path} but the manifest does not list it`);
    }
    if ((await this.readObject(versionKey(version, MANIFEST_FILE), operation)) !== null) {
      throw this.artifactError(operation, `version ${version} already exists (${this.describe(versionKey(version, ""))})`);
    }
    const entries = bundleEntries(bundle);
    const manifestEntry = entries[entries.length - 1];
    const seal = makeSeal(version, manifestEntry.bytes, this.signingKey);
    // The seal before the manifest: a version that exists (has its manifest) always has its seal.
    entries.splice(entries.length - 1, 0, { path: SEAL_FILE, bytes: encodeSeal(seal) });
    await this.writeVersion(version, entries, operation);
    if (options.promote !== false) await this.writeLatest(encodeLatest(version, seal.manifestSha256), `${operation}: move latest to it`);
    // Housekeeping, best effort: what earlier, interrupted publishes left. A failure here loses nothing (the version
    // is published); `models prune` reports what it cannot remove.
    await this.removeLeftovers().catch(() => undefined);
    return version;
  }

  async readLatestPointer(): Promise<LatestPointer | null> {
    const bytes = await this.readObject(LATEST_KEY, "read latest");
    return bytes === null ? null : decodeLatest(bytes, this.describe(LATEST_KEY));
  }

  async readLatest(): Promise<string | null> {
    return (await this.readLatestPointer())?.version ?? null;
  }

  async setLatest(version: string): Promise<void> {
    const operation = `move latest to ${version}`;
    this.checkVersionId(version, operation);
    const { digest } = await this.readManifestFor(version, operation);
    await this.writeLatest(encodeLatest(version, digest), operation);
  }

  async list(): Promise<VersionInfo[]> {
    const operation = "list versions";
    const folders = (await this.listVersionFolders(operation)).filter(isVersionId).sort();
    let latest: string | null = null;
    try {
      latest = await this.readLatest();
    } catch (err) {
      // A broken pointer must not hide the versions: list them, none marked latest.
      if (!(err instanceof BayesServeError) || err.code !== "ARTIFACT") throw err;
    }
    const infos = await mapLimit(folders, 8, async (version): Promise<VersionInfo | null> => {
      try {
        // A damaged version's message names it: "cannot read version V: …", not the listing.
        const read = await this.readSealedManifest(version, `read version ${version}`);
        if (read === null) return null; // partial: publishing never finished
        const m = read.manifest;
        return { version, latest: version === latest, createdAt: m.createdAt, gatePassed: m.gate.passed, problem: null };
      } catch (err) {
        if (!(err instanceof BayesServeError) || err.code !== "ARTIFACT") throw err;
        return { version, latest: version === latest, createdAt: null, gatePassed: null, problem: err.message };
      }
    });
    // Ids sort by time to the second; within a second, the manifest's createdAt (milliseconds) decides.
    const key = (v: VersionInfo): string => `${v.version.slice(0, 16)} ${v.createdAt ?? ""} ${v.version}`;
    return infos.filter((x): x is VersionInfo => x !== null).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  async readManifest(version: string): Promise<Manifest> {
    return (await this.readManifestFor(version, `read the manifest of version ${version}`)).manifest;
  }

  /**
   * The version's manifest, its bytes and their digest, checked against the seal (and `expectedDigest`, the one the
   * `latest` pointer recorded, when given) before it is parsed.
   */
  private async readManifestFor(version: string, operation: string, expectedDigest?: string): Promise<SealedManifest> {
    this.checkVersionId(version, operation);
    const read = await this.readSealedManifest(version, operation, expectedDigest);
    if (read === null) throw this.artifactError(operation, `version ${version} not found (no ${this.describe(versionKey(version, MANIFEST_FILE))})`);
    return read;
  }

  /** As readManifestFor, but null when the version has no manifest (it does not exist, or never finished). */
  private async readSealedManifest(version: string, operation: string, expectedDigest?: string): Promise<SealedManifest | null> {
    const key = versionKey(version, MANIFEST_FILE);
    const sealKey = versionKey(version, SEAL_FILE);
    const [bytes, sealBytes] = await Promise.all([this.readObject(key, operation), this.readObject(sealKey, operation)]);
    if (bytes === null) return null;
    if (sealBytes === null) {
      throw this.artifactError(
        operation,
        `version ${version} has no seal (${this.describe(sealKey)}), so its manifest cannot be verified; a version published ` +
          `before bayes-serve recorded manifest digests can be checked and sealed with \`bayes-serve models seal ${version}\``,
      );
    }
    try {
      checkSeal(decodeSeal(sealBytes, this.describe(sealKey)), version, bytes, this.signingKey, this.describe(key));
    } catch (err) {
      throw err instanceof BayesServeError ? this.artifactError(operation, err.message) : err;
    }
    const digest = sha256Hex(bytes);
    if (expectedDigest !== undefined && expectedDigest !== digest) {
      throw this.artifactError(
        operation,
        `${this.describe(key)} is not the manifest that was promoted (latest recorded sha256 ${expectedDigest}, the file and its seal have ${digest}): the version was changed after it was promoted`,
      );
    }
    const manifest = parseManifest(bytes, this.describe(key));
    if (manifest.version !== version) {
      throw this.artifactError(operation, `${this.describe(key)} says version ${manifest.version}, not ${version}`);
    }
    return { manifest, bytes, digest };
  }

  async readBundle(version: string, options: ReadBundleOptions = {}): Promise<Bundle> {
    const operation = `read version ${version}`;
    const { manifest } = await this.readManifestFor(version, operation, options.manifestSha256);
    const paths = bundleFilesToRead(manifest, options.files ?? "all");
    const contents = await mapLimit(paths, 8, async (path) => {
      const key = versionKey(version, path);
      const bytes = await this.readObject(key, operation);
      if (bytes === null) throw this.artifactError(operation, `${this.describe(key)} is missing (the manifest lists it)`);
      return bytes;
    });
    const files = new Map(paths.map((p, i) => [p, contents[i]] as const));
    return decodeBundle(manifest, files, (path) => this.describe(versionKey(version, path)));
  }

  async readFile(version: string, path: string): Promise<Uint8Array> {
    const operation = `read ${path} of version ${version}`;
    this.checkVersionId(version, operation);
    if (path === MANIFEST_FILE) return (await this.readManifestFor(version, operation)).bytes;
    const bad = bundlePathProblem(path);
    if (bad !== null) throw this.artifactError(operation, bad);
    const { manifest } = await this.readManifestFor(version, operation);
    if (!(path in manifest.files)) throw this.artifactError(operation, `version ${version} has no file "${path}"`);
    const key = versionKey(version, path);
    const bytes = await this.readObject(key, operation);
    if (bytes === null) throw this.artifactError(operation, `${this.describe(key)} is missing (the manifest lists it)`);
    verifyFile(manifest, path, bytes, this.describe(key));
    return bytes;
  }

  async verify(version: string): Promise<VersionCheck> {
    const operation = `verify version ${version}`;
    this.checkVersionId(version, operation);
    let pointer: LatestPointer | null = null;
    try {
      pointer = await this.readLatestPointer();
    } catch (err) {
      if (!(err instanceof BayesServeError) || err.code !== "ARTIFACT") throw err;
    }
    const latest = pointer?.version === version;
    const problems: string[] = [];
    const artefactProblem = (err: unknown): void => {
      // A store that cannot be read says nothing about the version: that is the caller's error, not a verdict.
      if (!(err instanceof BayesServeError) || err.code !== "ARTIFACT") throw err;
      problems.push(err.message);
    };
    let manifest: Manifest;
    try {
      manifest = (await this.readManifestFor(version, operation, latest ? pointer?.manifestSha256 : undefined)).manifest;
    } catch (err) {
      artefactProblem(err);
      return { version, latest, problems };
    }
    const files = new Map<string, Uint8Array>();
    // One problem (or none) per file, reported in path order whatever order the reads finish in.
    const perFile = await mapLimit(Object.keys(manifest.files).sort(), 4, async (path): Promise<string | null> => {
      const key = versionKey(version, path);
      const bytes = await this.readObject(key, operation);
      if (bytes === null) return `${this.describe(key)} is missing (the manifest lists it)`;
      try {
        verifyFile(manifest, path, bytes, this.describe(key));
        files.set(path, bytes);
        return null;
      } catch (err) {
        if (!(err instanceof BayesServeError) || err.code !== "ARTIFACT") throw err;
        return err.message;
      }
    });
    for (const p of perFile) if (p !== null) problems.push(p);
    if (problems.length === 0) {
      try {
        decodeBundle(manifest, files, (path) => this.describe(versionKey(version, path)));
      } catch (err) {
        artefactProblem(err);
      }
    }
    return { version, latest, problems };
  }

  async seal(version: string): Promise<void> {
    const operation = `seal version ${version}`;
    this.checkVersionId(version, operation);
    const key = versionKey(version, MANIFEST_FILE);
    const sealKey = versionKey(version, SEAL_FILE);
    const [bytes, existing] = await Promise.all([this.readObject(key, operation), this.readObject(sealKey, operation)]);
    if (bytes === null) throw this.artifactError(operation, `version ${version} not found (no ${this.describe(key)})`);
    if (existing !== null) {
      if (this.signingKey === null) {
        throw this.artifactError(
          operation,
          `version ${version} already has a seal (${this.describe(sealKey)}); \`bayes-serve models verify ${version}\` checks it`,
        );
      }
      // Signing a sealed version (a key newly set, or a new key): only if the manifest still matches its digest.
      // Sealing over a seal that no longer matches would hide exactly what seals are for.
      try {
        checkSeal(decodeSeal(existing, this.describe(sealKey)), version, bytes, null, this.describe(key));
      } catch (err) {
        throw err instanceof BayesServeError ? this.artifactError(operation, err.message) : err;
      }
    }
    const manifest = parseManifest(bytes, this.describe(key));
    if (manifest.version !== version) throw this.artifactError(operation, `${this.describe(key)} says version ${manifest.version}, not ${version}`);
    // Every file must match the manifest before the manifest is vouched for.
    const contents = await mapLimit(Object.keys(manifest.files), 4, async (path) => {
      const fileKey = versionKey(version, path);
      const fileBytes = await this.readObject(fileKey, operation);
      if (fileBytes === null) throw this.artifactError(operation, `${this.describe(fileKey)} is missing (the manifest lists it)`);
      return [path, fileBytes] as const;
    });
    decodeBundle(manifest, new Map(contents), (path) => this.describe(versionKey(version, path)));
    await this.writeVersionFile(version, SEAL_FILE, encodeSeal(makeSeal(version, bytes, this.signingKey)), operation);
  }

  async prune(options: PruneOptions): Promise<PruneResult> {
    const operation = "prune versions";
    if (!Number.isSafeInteger(options.keep) || options.keep < 0) {
      throw new BayesServeError("USAGE", `--keep must be a whole number ≥ 0 (got ${options.keep})`);
    }
    const pinned = options.pinned ?? [];
    for (const v of pinned) this.checkVersionId(v, operation);
    // Without a readable pointer there is no knowing which version must stay: refuse rather than guess.
    const latest = await this.readLatest();
    const versions = (await this.list()).map((v) => v.version);
    const keep = new Set([...versions.slice(Math.max(0, versions.length - options.keep)), ...pinned, ...(latest === null ? [] : [latest])]);
    const remove = versions.filter((v) => !keep.has(v));
    const leftovers = await this.listLeftovers(this.leftoverAgeMs, operation);
    if (options.dryRun !== true) {
      for (const v of remove) await this.removeVersion(v, operation);
      for (const l of leftovers) await this.removeLeftover(l, operation);
    }
    return { removed: remove, kept: versions.filter((v) => keep.has(v)), leftovers: leftovers.map((l) => l.description) };
  }

  /** Removes what interrupted publishes and removals left behind (older than the store's leftover age). */
  async removeLeftovers(): Promise<string[]> {
    const operation = "remove leftovers";
    const leftovers = await this.listLeftovers(this.leftoverAgeMs, operation);
    for (const l of leftovers) await this.removeLeftover(l, operation);
    return leftovers.map((l) => l.description);
  }
}
