// docs/models.md, run as written: every ```sh block's commands in order, in a scratch folder beside the repository's
// examples — the simulators, `bayes-serve train` on their data, `bayes-serve serve` (left running, as in another
// terminal) and the curl requests — and each curl's output matched against the ```text block that follows (with "…"
// standing for any text). `npx bayes-serve` runs this checkout's CLI from its sources, `npx tsx` its tsx.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { blocks, pattern } from "../support/markdown-blocks.js";

const repo = path.resolve(import.meta.dirname, "..", "..");
const tsx = path.join(repo, "node_modules", ".bin", "tsx");
const cli = `${tsx} ${path.join(repo, "src", "cli", "main.ts")}`;
const doc = readFileSync(path.join(repo, "docs", "models.md"), "utf8");

const work = mkdtempSync(path.join(tmpdir(), "bayes-serve-models-doc-"));
symlinkSync(path.join(repo, "examples"), path.join(work, "examples"));
const servers: ChildProcess[] = [];

afterAll(() => {
  for (const s of servers) s.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

async function waitReady(port: number, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited (${server.exitCode}):\n${log()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server on port ${port} was not ready in 90 s:\n${log()}`);
}

describe("docs/models.md", () => {
  const all = blocks(doc);
  it("has runnable examples: five trained, served and queried", () => {
    expect(all.filter((b) => b.lang === "sh").length).toBe(10);
  });

  it("runs every command as written, and the answers look as the page shows them", async () => {
    for (let b = 0; b < all.length; b++) {
      const block = all[b];
      if (block.lang !== "sh") continue;
      const outputs: string[] = [];
      for (const line of block.lines) {
        const command = line.replace(/^npx bayes-serve\b/, cli).replace(/^npx tsx\b/, tsx);
        if (/^npx bayes-serve serve\b/.test(line)) {
          const port = Number(/--port (\d+)/.exec(line)?.[1]);
          let log = "";
          const server = spawn("bash", ["-c", `exec ${command}`], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
          server.stdout?.on("data", (d: Buffer) => (log += d.toString()));
          server.stderr?.on("data", (d: Buffer) => (log += d.toString()));
          servers.push(server);
          await waitReady(port, server, () => log);
          continue;
        }
        const r = spawnSync("bash", ["-c", command], { cwd: work, encoding: "utf8", timeout: 240_000 });
        expect(r.status, `${line}\n${r.stderr}`).toBe(0);
        outputs.push(r.stdout.trim());
      }
      // The requests' answers, against the sample the page shows right after them.
      if (block.lines.every((l) => l.startsWith("curl "))) {
        const sample = all[b + 1];
        expect(sample?.lang, `a text block of sample answers after block ${b}`).toBe("text");
        expect(sample.lines.length).toBe(outputs.length);
        outputs.forEach((out, k) => expect(out, block.lines[k]).toMatch(pattern(sample.lines[k])));
      }
    }
    // Five trainings and five servers one after another: minutes on a busy two-core machine.
  }, 900_000);
});
