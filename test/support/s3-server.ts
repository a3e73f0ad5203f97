// A real S3-compatible server for integration tests: scripts/s3-server.mjs (s3rver) in its own process on a free
// loopback port, with a temporary data folder, stopped on teardown. The child also exits when this process dies
// (its stdin closes), so a killed test run leaves no server behind.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";

const SCRIPT = fileURLToPath(new URL("../../scripts/s3-server.mjs", import.meta.url));

export interface S3Server {
  endpoint: string;
  port: number;
  /** s3rver's data folder (removed when the server stops). */
  directory: string;
  buckets: string[];
  /** The AWS environment that points a store at this server with valid credentials. */
  env: NodeJS.ProcessEnv;
  /** Stops the server and waits for its process to exit. */
  stop(): Promise<void>;
}

interface ReadyLine {
  endpoint: string;
  port: number;
  directory: string;
  buckets: string[];
  accessKeyId: string;
  secretAccessKey: string;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts s3rver with the given buckets; resolves once it listens. */
export async function startS3Server(options: { buckets?: string[]; startTimeoutMs?: number } = {}): Promise<S3Server> {
  const buckets = options.buckets ?? ["models"];
  const args = [SCRIPT, "--port", "0", "--address", "127.0.0.1", "--exit-with-stdin", ...buckets.flatMap((b) => ["--bucket", b])];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr += s));

  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`s3-server did not start within ${options.startTimeoutMs ?? 15_000} ms: ${stderr}`));
    }, options.startTimeoutMs ?? 15_000);
    child.stdout?.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      const nl = stdout.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(stdout.slice(0, nl)) as ReadyLine);
      } catch (err) {
        reject(new Error(`s3-server printed ${stdout.slice(0, nl)}: ${(err as Error).message}`));
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`s3-server exited (${code ?? signal}) before it was ready: ${stderr}`));
    });
  });

  const stop = async (): Promise<void> => {
    child.kill("SIGTERM");
    if (!(await waitForExit(child, 5_000))) {
      child.kill("SIGKILL");
      await waitForExit(child, 5_000);
    }
  };
  return {
    endpoint: ready.endpoint,
    port: ready.port,
    directory: ready.directory,
    buckets: ready.buckets,
    env: {
      AWS_ENDPOINT_URL_S3: ready.endpoint,
      AWS_ACCESS_KEY_ID: ready.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ready.secretAccessKey,
      AWS_REGION: "us-east-1",
    },
    stop,
  };
}

/**
 * For a test file: starts the server before its tests and stops it after. While it runs, process.env carries its
 * AWS settings too (restored afterwards), for code that reads the environment itself. Read `.current` inside tests.
 */
export function useS3Server(options: { buckets?: string[]; setProcessEnv?: boolean } = {}): { readonly current: S3Server } {
  let server: S3Server | undefined;
  const saved: NodeJS.ProcessEnv = {};
  beforeAll(async () => {
    server = await startS3Server(options);
    if (options.setProcessEnv !== false) {
      for (const [k, v] of Object.entries(server.env)) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
    }
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await server?.stop();
  });
  return {
    get current(): S3Server {
      if (server === undefined) throw new Error("the S3 server is not running (use it inside a test)");
      return server;
    },
  };
}
