// What every store does the same way, on top of five primitives a concrete store provides (read an object, list
// version folders, write a version atomically, replace the `latest` pointer atomically, name an object for messages):
// the publish protocol, the `latest` pointer format, listing, and verified reads.
import { BayesServeError } from "../errors.js";
import { bundleEntries, bundleFilesToRead, decodeBundle, verifyFile, type Bundle, type BundleEntry } from "./bundle.js";
import { MANIFEST_FILE, bundlePathProblem, isVersionId, parseManifest, validateManifest, type Manifest } from "./manifest.js";
import type { ArtifactStore, PublishOptions, ReadBundleOptions, VersionInfo } from "./store.js";

/** The `latest` pointer's contents. */
export interface LatestPointer {
  version: string;
  updatedAt: string;
}

export const LATEST_KEY = "latest";
export const versionKey = (version: string, path: string): string => `versions/${version}/${path}`;

export function encodeLatest(version: string, now: Date = new Date()): Uint8Array {
  const pointer: LatestPointer = { version, updatedAt: now.toISOString() };
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
  if (typeof v !== "object" || v === null || typeof v.version !== "string" || !isVersionId(v.version) || typeof v.updatedAt !== "string") {
    throw new BayesServeError("ARTIFACT", `latest pointer ${where} must be {"version": "<version id>", "updatedAt": "<time>"}`);
  }
  return { version: v.version, updatedAt: v.updatedAt };
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

export abstract class BaseStore implements ArtifactStore {
  abstract readonly uri: string;

  /** The object's bytes, or null when it does not exist. `key` is relative to the store root. */
  protected abstract readObject(key: string, operation: string): Promise<Uint8Array | null>;
  /** Names of the folders under versions/ that look like version ids (complete or not). */
  protected abstract listVersionFolders(operation: string): Promise<string[]>;
  /** Writes a version's files so that it appears complete or not at all; the entries end with manifest.json. */
  protected abstract writeVersion(version: string, entries: BundleEntry[], operation: string): Promise<void>;
  /** Replaces `latest` atomically. */
  protected abstract writeLatest(bytes: Uint8Array, operation: string): Promise<void>;
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
    await this.writeVersion(version, bundleEntries(bundle), operation);
    if (options.promote !== false) await this.writeLatest(encodeLatest(version), `${operation}: move latest to it`);
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
    await this.readManifestFor(version, operation);
    await this.writeLatest(encodeLatest(version), operation);
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
      const key = versionKey(version, MANIFEST_FILE);
      const bytes = await this.readObject(key, operation);
      if (bytes === null) return null; // partial: publishing never finished
      try {
        const m = parseManifest(bytes, this.describe(key));
        if (m.version !== version) throw new Error(`the manifest says version ${m.version}`);
        return { version, latest: version === latest, createdAt: m.createdAt, gatePassed: m.gate.passed, problem: null };
      } catch (err) {
        return { version, latest: version === latest, createdAt: null, gatePassed: null, problem: (err as Error).message };
      }
    });
    // Ids sort by time to the second; within a second, the manifest's createdAt (milliseconds) decides.
    const key = (v: VersionInfo): string => `${v.version.slice(0, 16)} ${v.createdAt ?? ""} ${v.version}`;
    return infos.filter((x): x is VersionInfo => x !== null).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  async readManifest(version: string): Promise<Manifest> {
    return this.readManifestFor(version, `read the manifest of version ${version}`);
  }

  private async readManifestFor(version: string, operation: string): Promise<Manifest> {
    this.checkVersionId(version, operation);
    const key = versionKey(version, MANIFEST_FILE);
    const bytes = await this.readObject(key, operation);
    if (bytes === null) throw this.artifactError(operation, `version ${version} not found (no ${this.describe(key)})`);
    const manifest = parseManifest(bytes, this.describe(key));
    if (manifest.version !== version) {
      throw this.artifactError(operation, `${this.describe(key)} says version ${manifest.version}, not ${version}`);
    }
    return manifest;
  }

  async readBundle(version: string, options: ReadBundleOptions = {}): Promise<Bundle> {
    const operation = `read version ${version}`;
    const manifest = await this.readManifestFor(version, operation);
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
    if (path === MANIFEST_FILE) {
      const key = versionKey(version, MANIFEST_FILE);
      const bytes = await this.readObject(key, operation);
      if (bytes === null) throw this.artifactError(operation, `version ${version} not found (no ${this.describe(key)})`);
      parseManifest(bytes, this.describe(key));
      return bytes;
    }
    const bad = bundlePathProblem(path);
    if (bad !== null) throw this.artifactError(operation, bad);
    const manifest = await this.readManifestFor(version, operation);
    if (!(path in manifest.files)) throw this.artifactError(operation, `version ${version} has no file "${path}"`);
    const key = versionKey(version, path);
    const bytes = await this.readObject(key, operation);
    if (bytes === null) throw this.artifactError(operation, `${this.describe(key)} is missing (the manifest lists it)`);
    verifyFile(manifest, path, bytes, this.describe(key));
    return bytes;
  }
}
