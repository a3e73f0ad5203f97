// A real crash in the middle of publishing: a child process publishes and SIGKILLs itself before the k-th write (no
// exception handler, no cleanup runs). Whatever it leaves, `latest` still names the previous version, that version
// still loads and verifies, the half-written version is not listed, and the next publish works and removes what the
// crash left (a hidden .partial-* folder, orphan S3 objects) once it is older than the store's leftover age.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { bundleEntries } from "../../src/artifact/bundle.js";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { s3Settings } from "../../src/artifact/s3-store.js";
import { openStore } from "../../src/artifact/store.js";
import { useS3Server } from "../support/s3-server.js";
import { sampleBundle, versionIds } from "./fixtures/bundles.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/publish-crash.ts", import.meta.url));
const s3 = useS3Server({ buckets: ["models"], setProcessEnv: false });
const tmpRoot = mkdtempSync(join(tmpdir(), "bayes-serve-crash-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

function publishAndCrash(
  uri: string,
  killAt: number,
  env: NodeJS.ProcessEnv,
): Promise<{ version: string; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, uri, String(killAt)], {
      env: { ...process.env, ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      try {
        const { version } = JSON.parse(stdout.split("\n")[0]) as { version: string };
        resolve({ version, signal, stdout, stderr });
      } catch {
        reject(new Error(`crash fixture printed no version: ${stdout} ${stderr}`));
      }
    });
  });
}

const writesPerPublish = bundleEntries(sampleBundle()).length + 2; // files, the seal, the manifest, then the pointer
// After the first file, before the manifest (every other file written), before the pointer.
const killPoints = [1, writesPerPublish - 2, writesPerPublish - 1];

describe.each(["local", "s3"] as const)("%s store, process killed mid-publish", (kind) => {
  let n = 0;
  const location = (): { uri: string; env: NodeJS.ProcessEnv } =>
    kind === "local" ? { uri: join(tmpRoot, `store-${n++}`), env: {} } : { uri: `s3://models/crash-${n++}`, env: s3.current.env };

  it.each(killPoints)("killed before write %i", async (killAt) => {
    const { uri, env } = location();
    const store = openStore(uri, { env });
    const [previous] = versionIds(1);
    await store.publish(sampleBundle({ version: previous }));

    const run = await publishAndCrash(uri, killAt, env);
    expect(run.signal, run.stderr).toBe("SIGKILL");
    expect(run.stdout).not.toContain("published");

    expect(await store.readLatest()).toBe(previous);
    const loaded = await store.readBundle(previous);
    expect(loaded.manifest.version).toBe(previous);
    const listed = (await store.list()).map((v) => v.version);
    if (killAt < writesPerPublish - 1) {
      expect(listed).toEqual([previous]);
      await expect(store.setLatest(run.version)).rejects.toThrow(/not found/);
    } else {
      // Killed just before moving the pointer: the new version is complete (and verifies) but not latest.
      expect(listed).toEqual([previous, run.version]);
      expect((await store.readBundle(run.version)).manifest.version).toBe(run.version);
    }
    if (kind === "local" && killAt > 0 && killAt < writesPerPublish - 1) {
      // What the crash left: a hidden temporary folder, never taken for a version.
      expect(readdirSync(join(uri, "versions")).filter((d) => d.startsWith(".partial-")).length).toBe(1);
    }
    // And the store still takes new versions; a publish removes leftovers older than the store's leftover age (an hour
    // by default, so that a publish running in another process is not taken for one; none here).
    const leftovers = async (): Promise<string[]> => {
      if (kind === "local") return readdirSync(join(uri, "versions")).filter((d) => d.startsWith("."));
      const client = new S3Client(s3Settings({ env }).config);
      const res = await client.send(
        new ListObjectsV2Command({ Bucket: "models", Prefix: uri.slice("s3://models/".length) + "/versions/" + run.version + "/" }),
      );
      return (res.Contents ?? []).map((o) => o.Key ?? "");
    };
    const crashedPartway = killAt > 0 && killAt < writesPerPublish - 1;
    // (On S3 the puts run side by side: a process killed at the second may not have finished the first.)
    if (crashedPartway && kind === "local") expect((await leftovers()).length).toBeGreaterThan(0);
    const next = await openStore(uri, { env, leftoverAgeMs: 0 }).publish(sampleBundle({ seed: 5 }));
    expect(await store.readLatest()).toBe(next);
    if (crashedPartway) expect(await leftovers()).toEqual([]);
  });
});
