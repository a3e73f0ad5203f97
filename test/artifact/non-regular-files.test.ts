// A local store reads only regular files (following symbolic links, as ever). A FIFO where `latest`, a manifest or the
// draws should be used to block its reader forever — on a libuv thread that no timeout frees and that process exit
// waits for, so a server never loaded another version and could not exit — and a device or folder is no artefact
// either: each is refused at once with an ARTIFACT error naming the path.
import { execFileSync } from "node:child_process";
import { constants, mkdtempSync, promises as fs, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { nodeLocalIo, NotARegularFileError } from "../../src/artifact/local-store.js";
import { openStageStore } from "../../src/artifact/stage-store.js";
import { openStore } from "../../src/artifact/store.js";
import { sampleBundle, versionIds } from "./fixtures/bundles.js";

const tmpRoot = mkdtempSync(join(tmpdir(), "bayes-serve-nonregular-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** Long enough for a loaded machine; a blocked open never settles at all. */
const PROMPTLY_MS = 3_000;

let counter = 0;
const fifos: string[] = [];

function mkfifo(path: string): void {
  execFileSync("mkfifo", [path]);
  fifos.push(path);
}

/**
 * Opens every FIFO made here for writing, without blocking: a reader stuck in open() (the code before the fix) is
 * released, so that a failing run ends instead of holding a thread of the test worker forever.
 */
async function releaseReaders(): Promise<void> {
  for (const path of fifos.splice(0)) {
    try {
      const handle = await fs.open(path, constants.O_WRONLY | constants.O_NONBLOCK);
      await handle.close();
    } catch {
      // ENXIO: nobody is reading it; ENOENT: already replaced
    }
  }
}

async function settled<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${PROMPTLY_MS} ms: the read blocked`)), PROMPTLY_MS);
  });
  try {
    return await Promise.race([p.then((value) => ({ ok: true as const, value })), deadline]);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("still waiting")) throw error;
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
    await releaseReaders();
  }
}

async function refused(p: Promise<unknown>): Promise<BayesServeError> {
  const r = await settled(p);
  if (r.ok) throw new Error("expected a rejection");
  expect(r.error).toBeInstanceOf(BayesServeError);
  return r.error as BayesServeError;
}

async function publishedStore(): Promise<{ root: string; versions: string[] }> {
  const root = join(tmpRoot, `s${counter++}`);
  const store = openStore(root);
  const versions = versionIds(2);
  for (const version of versions) await store.publish(sampleBundle({ version }));
  return { root, versions };
}

describe.skipIf(process.platform === "win32")("a local store's objects that are not regular files", () => {
  it("a FIFO in place of latest is refused at once, naming it; the versions are still listed; a good pointer is read again", async () => {
    const { root, versions } = await publishedStore();
    const latest = join(root, "latest");
    const good = await fs.readFile(latest);
    await fs.rm(latest);
    mkfifo(latest);
    const store = openStore(root);
    const err = await refused(store.readLatestPointer());
    expect(err.code).toBe("ARTIFACT");
    expect(err.message).toBe(
      `store ${root}: cannot read latest: ${latest} is a FIFO (named pipe), not a regular file: a store holds only regular files (or symbolic links to them)`,
    );
    const listed = await settled(store.list());
    expect(listed.ok && listed.value.map((v) => [v.version, v.latest])).toEqual(versions.map((v) => [v, false]));

    await fs.rm(latest);
    await fs.writeFile(latest, good);
    expect(await store.readLatest()).toBe(versions[1]);
  });

  it("a FIFO in place of a manifest or the draws is refused when the version is read, naming the file", async () => {
    const { root, versions } = await publishedStore();
    const store = openStore(root);
    const draws = join(root, "versions", versions[1], "draws.bin");
    await fs.rm(draws);
    mkfifo(draws);
    const err = await refused(store.readBundle(versions[1], { files: "posterior" }));
    expect(err.code).toBe("ARTIFACT");
    expect(err.message).toContain(`cannot read version ${versions[1]}: ${draws} is a FIFO (named pipe), not a regular file`);

    const manifest = join(root, "versions", versions[0], "manifest.json");
    await fs.rm(manifest);
    mkfifo(manifest);
    const m = await refused(store.readManifest(versions[0]));
    expect(m.code).toBe("ARTIFACT");
    expect(m.message).toContain(`${manifest} is a FIFO (named pipe), not a regular file`);
    // verify reports it as the version's problem, not as a failing store.
    const check = await settled(store.verify(versions[0]));
    expect(check.ok && check.value.problems.join("\n")).toContain(`${manifest} is a FIFO (named pipe)`);
  });

  it("follows a symbolic link to a regular file, and refuses one to a FIFO, a device or a folder", async () => {
    const { root, versions } = await publishedStore();
    const store = openStore(root);
    const latest = join(root, "latest");
    const elsewhere = join(root, "pointer.json");
    await fs.rename(latest, elsewhere);
    await fs.symlink(elsewhere, latest);
    expect(await store.readLatest()).toBe(versions[1]);

    const fifo = join(root, "pipe");
    mkfifo(fifo);
    await fs.rm(latest);
    await fs.symlink(fifo, latest);
    expect((await refused(store.readLatest())).message).toContain(`${latest} is a FIFO (named pipe), not a regular file`);

    await fs.rm(latest);
    await fs.symlink("/dev/null", latest);
    expect((await refused(store.readLatest())).message).toContain(`${latest} is a character device, not a regular file`);

    await fs.rm(latest);
    await fs.mkdir(latest);
    const folder = await refused(store.readLatest());
    expect(folder.code).toBe("ARTIFACT");
    expect(folder.message).toContain(`${latest} is a folder, not a regular file`);
  });

  it("a socket in place of latest is refused too", async () => {
    const { root } = await publishedStore();
    const latest = join(root, "latest");
    await fs.rm(latest);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(latest, resolve));
    try {
      const err = await refused(openStore(root).readLatest());
      expect(err.code).toBe("ARTIFACT");
      expect(err.message).toContain(`${latest} is a socket or a device, not a regular file`);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("the file operations say what they found, for the staging area as well", async () => {
    const dir = join(tmpRoot, `stage${counter++}`);
    await fs.mkdir(dir);
    const fifo = join(dir, "chain-1.bin");
    mkfifo(fifo);
    const direct = await settled(nodeLocalIo.readFile(fifo));
    expect(!direct.ok && direct.error).toBeInstanceOf(NotARegularFileError);
    mkfifo(join(dir, "chain-2.bin"));
    const staged = await settled(openStageStore(dir).get("chain-2.bin"));
    expect(!staged.ok && (staged.error as Error).message).toContain(`${join(dir, "chain-2.bin")} is a FIFO (named pipe), not a regular file`);
  });
});
