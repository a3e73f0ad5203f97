// A store in a local folder. A version is written into a hidden temporary folder and renamed into place in one
// step; `latest` is written to a temporary file and renamed over the old pointer. Files are fsynced before the
// renames, so a crash or power cut at any point leaves either the old state or the new one. A version is removed the
// same way round: renamed to a hidden folder in one step, then deleted. What a crash leaves (`.partial-*`,
// `.removing-*` folders, `.latest-*.tmp` files) is hidden from `list` and removed by later publishes and prunes.
//
// Only regular files are read (a symbolic link is followed, as ever, to the file it names): a FIFO in the store's
// place — `latest` made a named pipe by mistake or malice — would block its reader until some writer came, on one of
// libuv's few threads, which no timeout frees and which process exit waits for; a device (/dev/zero) never ends.
import { randomBytes } from "node:crypto";
import { constants, promises as fs, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { BayesServeError } from "../errors.js";
import { BaseStore, LATEST_KEY, type Leftover } from "./base-store.js";
import type { BundleEntry } from "./bundle.js";

/** The file operations a local store uses; replaceable so that tests can inject faults and crashes. */
export interface LocalIo {
  /** The bytes of a regular file (a symbolic link followed); anything else is refused with a NotARegularFileError. */
  readFile(path: string): Promise<Uint8Array>;
  /** Creates or truncates the file, writes the bytes and fsyncs it. */
  writeFile(path: string, bytes: Uint8Array): Promise<void>;
  /** mkdir -p */
  mkdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** rm -rf */
  remove(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** fsyncs a directory, making renames in it durable (a no-op where the platform cannot). */
  syncDir(path: string): Promise<void>;
  /** The last modification time, in ms since the epoch. */
  mtimeMs(path: string): Promise<number>;
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

/** A path a store reads that is not a regular file (a FIFO, a device, a socket, a folder). */
export class NotARegularFileError extends Error {
  constructor(
    readonly path: string,
    /** What it is instead, e.g. "a FIFO (named pipe)". */
    readonly what: string,
  ) {
    super(`${path} is ${what}, not a regular file`);
    this.name = "NotARegularFileError";
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  if (st.isDirectory()) return "a folder";
  return "not a file";
}

/**
 * Opening with O_NONBLOCK returns at once whatever the path is (a FIFO without a writer included; on a regular file
 * the flag changes nothing), and the type is taken from the open file, not from the path beforehand, so that nothing
 * can be swapped in between the check and the read. Windows has no O_NONBLOCK, nor FIFOs in the file system.
 */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** The file at `path` read through a blocking open, if it is still the regular file `checked`. */
async function readBlocking(path: string, checked: Stats): Promise<Buffer> {
  const reading = await fs.open(path, constants.O_RDONLY);
  try {
    const st = await reading.stat();
    if (st.dev !== checked.dev || st.ino !== checked.ino) throw new NotARegularFileError(path, "a file replaced while it was being read");
    return await reading.readFile();
  } finally {
    await reading.close();
  }
}

export const nodeLocalIo: LocalIo = {
  async readFile(path) {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, READ_FLAGS);
    } catch (err) {
      // A socket's path (or a device without its driver) cannot be opened at all.
      if (errno(err) === "ENXIO") throw new NotARegularFileError(path, "a socket or a device");
      throw err;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new NotARegularFileError(path, kindOf(st));
      let b: Buffer;
      try {
        b = await handle.readFile();
      } catch (err) {
        if (errno(err) !== "EAGAIN") throw err;
        // A FUSE file system (gcsfuse, blobfuse, Mountpoint for S3 as a CSI volume) may pass O_NONBLOCK on and answer a
        // read with EAGAIN: read through a blocking open of the very file just checked (same device and inode).
        b = await readBlocking(path, st);
      }
      // A plain Uint8Array view on the Buffer's memory (no copy), so that both stores return the same type.
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    } finally {
      await handle.close();
    }
  },
  async writeFile(path, bytes) {
    const handle = await fs.open(path, "w");
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  mkdir: async (path) => {
    await fs.mkdir(path, { recursive: true });
  },
  rename: (from, to) => fs.rename(from, to),
  remove: (path) => fs.rm(path, { recursive: true, force: true }),
  readdir: (path) => fs.readdir(path),
  mtimeMs: async (path) => (await fs.stat(path)).mtimeMs,
  async syncDir(path) {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(path, "r");
      await handle.sync();
    } catch {
      // Directories cannot be opened or fsynced on every platform (Windows); the rename is still atomic.
    } finally {
      await handle?.close();
    }
  },
};

function explain(err: unknown): string {
  const code = errno(err);
  const reason =
    code === "EACCES" || code === "EPERM"
      ? "permission denied"
      : code === "ENOSPC"
        ? "no space left on the device"
        : code === "EROFS"
          ? "read-only file system"
          : code === "ENOTDIR"
            ? "a path component is a file, not a folder"
            : code === "ENOENT"
              ? "no such file or folder"
              : ((err as Error)?.message ?? String(err));
  return code === undefined ? reason : `${reason} (${code})`;
}

const PARTIAL = ".partial-";
const REMOVING = ".removing-";
const LATEST_TEMP = /^\.latest-[0-9a-f]+\.tmp$/;

export class LocalStore extends BaseStore {
  readonly uri: string;
  private readonly root: string;
  private readonly io: LocalIo;

  constructor(path: string, io: LocalIo = nodeLocalIo, integrity: { signingKey?: string | null; leftoverAgeMs?: number } = {}) {
    super(integrity.signingKey ?? null, integrity.leftoverAgeMs);
    this.root = resolve(path);
    this.uri = this.root;
    this.io = io;
  }

  protected describe(key: string): string {
    return join(this.root, ...key.split("/").filter((s) => s !== ""));
  }

  private storeError(operation: string, err: unknown, file: string): BayesServeError {
    if (err instanceof BayesServeError) return err;
    return new BayesServeError("STORE", `store ${this.uri}: cannot ${operation}: ${explain(err)} (file ${file})`, { cause: err });
  }

  protected async readObject(key: string, operation: string): Promise<Uint8Array | null> {
    const file = this.describe(key);
    try {
      return await this.io.readFile(file);
    } catch (err) {
      if (errno(err) === "ENOENT") return null;
      if (err instanceof NotARegularFileError) {
        // Not the store failing: something that is not an artefact's file stands where one should be.
        throw this.artifactError(operation, `${file} is ${err.what}, not a regular file: a store holds only regular files (or symbolic links to them)`);
      }
      throw this.storeError(operation, err, file);
    }
  }

  protected async listVersionFolders(operation: string): Promise<string[]> {
    const dir = join(this.root, "versions");
    try {
      return await this.io.readdir(dir);
    } catch (err) {
      if (errno(err) === "ENOENT") return [];
      throw this.storeError(operation, err, dir);
    }
  }

  protected async writeVersion(version: string, entries: BundleEntry[], operation: string): Promise<void> {
    const versions = join(this.root, "versions");
    const final = join(versions, version);
    // Hidden and not a version id: `list` never mistakes it for a version, even if a crash leaves it behind.
    const temp = join(versions, `${PARTIAL}${version}-${randomBytes(4).toString("hex")}`);
    let current = versions;
    try {
      await this.io.mkdir(temp);
      for (const entry of entries) {
        current = join(temp, ...entry.path.split("/"));
        await this.io.mkdir(dirname(current));
        await this.io.writeFile(current, entry.bytes);
      }
      current = temp;
      await this.io.syncDir(temp);
      current = final;
      await this.io.rename(temp, final);
      await this.io.syncDir(versions);
    } catch (err) {
      await this.io.remove(temp).catch(() => undefined);
      const code = errno(err);
      if (current === final && (code === "ENOTEMPTY" || code === "EEXIST")) {
        throw new BayesServeError("ARTIFACT", `store ${this.uri}: cannot ${operation}: version ${version} already exists (file ${final})`, { cause: err });
      }
      throw this.storeError(operation, err, current);
    }
  }

  protected async writeLatest(bytes: Uint8Array, operation: string): Promise<void> {
    const final = this.describe(LATEST_KEY);
    const temp = join(this.root, `.latest-${randomBytes(4).toString("hex")}.tmp`);
    let current = temp;
    try {
      await this.io.mkdir(this.root);
      await this.io.writeFile(temp, bytes);
      current = final;
      await this.io.rename(temp, final);
      await this.io.syncDir(this.root);
    } catch (err) {
      await this.io.remove(temp).catch(() => undefined);
      throw this.storeError(operation, err, current);
    }
  }

  protected async writeVersionFile(version: string, path: string, bytes: Uint8Array, operation: string): Promise<void> {
    const final = this.describe(`versions/${version}/${path}`);
    const temp = `${final}.${randomBytes(4).toString("hex")}.tmp`;
    let current = temp;
    try {
      await this.io.writeFile(temp, bytes);
      current = final;
      await this.io.rename(temp, final);
      await this.io.syncDir(dirname(final));
    } catch (err) {
      await this.io.remove(temp).catch(() => undefined);
      throw this.storeError(operation, err, current);
    }
  }

  protected async removeVersion(version: string, operation: string): Promise<void> {
    const versions = join(this.root, "versions");
    const doomed = join(versions, `${REMOVING}${version}-${randomBytes(4).toString("hex")}`);
    let current = join(versions, version);
    try {
      // One rename takes the version out of `list`; a crash before the delete leaves a hidden folder, not half a version.
      await this.io.rename(current, doomed);
      await this.io.syncDir(versions);
      current = doomed;
      await this.io.remove(doomed);
    } catch (err) {
      throw this.storeError(operation, err, current);
    }
  }

  protected async listLeftovers(olderThanMs: number, operation: string): Promise<Leftover[]> {
    const versions = join(this.root, "versions");
    const candidates: { path: string; always: boolean }[] = [];
    const names = async (dir: string): Promise<string[]> => {
      try {
        return await this.io.readdir(dir);
      } catch (err) {
        if (errno(err) === "ENOENT") return [];
        throw this.storeError(operation, err, dir);
      }
    };
    for (const name of await names(versions)) {
      // A folder being removed is dead whatever its age; a partial one may be a publish still running.
      if (name.startsWith(REMOVING)) candidates.push({ path: join(versions, name), always: true });
      else if (name.startsWith(PARTIAL)) candidates.push({ path: join(versions, name), always: false });
    }
    for (const name of await names(this.root)) {
      if (LATEST_TEMP.test(name)) candidates.push({ path: join(this.root, name), always: false });
    }
    const cutoff = Date.now() - olderThanMs;
    const out: Leftover[] = [];
    for (const c of candidates) {
      let mtime: number;
      try {
        mtime = await this.io.mtimeMs(c.path);
      } catch (err) {
        if (errno(err) === "ENOENT") continue; // removed meanwhile
        throw this.storeError(operation, err, c.path);
      }
      if (c.always || mtime <= cutoff) out.push({ description: c.path, handle: c.path });
    }
    return out;
  }

  protected async removeLeftover(leftover: Leftover, operation: string): Promise<void> {
    const path = leftover.handle as string;
    try {
      await this.io.remove(path);
    } catch (err) {
      throw this.storeError(operation, err, path);
    }
  }
}
