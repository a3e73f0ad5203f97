// docs/v2.md and the README's V2 section, run as written: the seed model trained as docs/v2.md says
// (`train --simulate --store ./artifacts --seed 1`) and the logistic model as docs/models.md trains it, each served,
// then every ```sh block's curl requests sent and each answer matched against the ```text block that follows — to the
// last digit, since both pages say the outputs are those the server gave ("…" stands for any text, and a version id
// for any version id). `npx bayes-serve` runs this checkout's CLI from its sources, `npx tsx` its tsx.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blocks, pattern } from "../support/markdown-blocks.js";

const repo = path.resolve(import.meta.dirname, "..", "..");
const tsx = path.join(repo, "node_modules", ".bin", "tsx");
const cli = `${tsx} ${path.join(repo, "src", "cli", "main.ts")}`;
const v2Doc = readFileSync(path.join(repo, "docs", "v2.md"), "utf8");
const modelsDoc = readFileSync(path.join(repo, "docs", "models.md"), "utf8");
const readme = readFileSync(path.join(repo, "README.md"), "utf8");
const VERSION_ID = /\d{8}T\d{6}Z-[0-9a-f]{6}/g;

/** The text of a Markdown section: from its heading to the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no heading ${heading}`);
  const level = /^#+/.exec(heading)![0].length;
  const rest = markdown.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, "m"));
  return end < 0 ? rest : rest.slice(0, end);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const work = mkdtempSync(path.join(tmpdir(), "bayes-serve-v2-doc-"));
symlinkSync(path.join(repo, "examples"), path.join(work, "examples"));
const servers: ChildProcess[] = [];
const ports = { seed: 0, churn: 0 };

function run(line: string): string {
  const command = line.replace(/^npx bayes-serve\b/, cli).replace(/^npx tsx\b/, tsx);
  const r = spawnSync("bash", ["-c", command], { cwd: work, encoding: "utf8", timeout: 240_000 });
  expect(r.status, `${line}\n${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

async function serve(store: string, port: number): Promise<void> {
  let log = "";
  const server = spawn("bash", ["-c", `exec ${cli} serve --model ${store} --port ${port} --poll-interval 0`], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
  server.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  server.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  servers.push(server);
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the server exited (${server.exitCode}):\n${log}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the server on port ${port} was not ready in 90 s:\n${log}`);
}

/** Every curl request of the sh blocks, run against the two servers and matched with the text block after it. */
function checkRequests(markdown: string): number {
  const all = blocks(markdown);
  let checked = 0;
  for (let b = 0; b < all.length; b++) {
    const block = all[b];
    if (block.lang !== "sh" || !block.lines.every((l) => l.startsWith("curl "))) continue;
    const sample = all[b + 1];
    expect(sample?.lang, `a text block of sample answers after block ${b}`).toBe("text");
    expect(sample.lines.length).toBe(block.lines.length);
    block.lines.forEach((line, k) => {
      const local = line.replaceAll("localhost:8000", `127.0.0.1:${ports.seed}`).replaceAll("localhost:8002", `127.0.0.1:${ports.churn}`);
      expect(run(local), line).toMatch(pattern(sample.lines[k], VERSION_ID));
      checked++;
    });
  }
  return checked;
}

beforeAll(async () => {
  // The seed model, trained as docs/v2.md's "Examples" says.
  const seedTraining = /`(npx bayes-serve train --simulate[^`]*)`/.exec(v2Doc)?.[1];
  expect(seedTraining).toBe("npx bayes-serve train --simulate --store ./artifacts --seed 1");
  run(seedTraining!);
  // The logistic model, trained as docs/models.md's section on it does.
  const logistic = blocks(section(modelsDoc, "### A logistic regression")).find((b) => b.lang === "sh")!;
  for (const line of logistic.lines.filter((l) => !/^npx bayes-serve serve\b/.test(l))) run(line);
  ports.seed = await freePort();
  ports.churn = await freePort();
  await Promise.all([serve("./artifacts", ports.seed), serve("./models/churn", ports.churn)]);
}, 600_000);

afterAll(() => {
  for (const s of servers) s.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

describe("docs/v2.md", () => {
  it("answers every example request as the page shows it", () => {
    expect(checkRequests(v2Doc)).toBe(4);
  });

  it("quotes the /predict interval the V2 interval equals, and the error for category 9", () => {
    const interval = /`(\{"y_pred_lower":[^`]*\})`/.exec(v2Doc)?.[1];
    expect(interval).toBeDefined();
    const body = '{"data": {"x": 5, "category": 2}, "algo_param": {"seed": 1}}';
    expect(run(`curl -s -X POST 127.0.0.1:${ports.seed}/predict/v1.0.0/interval -H 'Content-Type: application/json' -d '${body}'`)).toBe(interval);

    const error = blocks(section(v2Doc, "## Errors")).find((b) => b.lang === "text")!.lines[0];
    const infer =
      '{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [5]}, {"name": "category", "shape": [1], "datatype": "INT64", "data": [9]}]}';
    expect(run(`curl -s -X POST 127.0.0.1:${ports.seed}/v2/models/seed-regression/infer -H 'Content-Type: application/json' -d '${infer}'`)).toBe(error);
  });

  it("rounds the logistic model's probabilities in its prose as the answer has them", () => {
    const prose = /churns with probability ([\d.]+) \(90 % interval ([\d.]+)–([\d.]+)\); one of five years\s+paying 30, ([\d.]+) \(([\d.]+)–([\d.]+)\)/.exec(
      v2Doc,
    );
    expect(prose).not.toBeNull();
    const answer = JSON.parse(blocks(section(v2Doc, "## Examples")).filter((b) => b.lang === "text")[3].lines[0]) as {
      outputs: { name: string; data: number[] }[];
    };
    const out = (name: string) => answer.outputs.find((o) => o.name === name)!.data;
    const [p1, lo1, hi1, p2, lo2, hi2] = prose!.slice(1).map(Number);
    const close = (doc: number, value: number) =>
      expect(Math.abs(doc - value), `${doc} for ${value}`).toBeLessThanOrEqual(0.5 * 10 ** -(String(doc).split(".")[1]?.length ?? 0));
    close(p1, out("y_mean")[0]);
    close(lo1, out("y_mean_lower")[0]);
    close(hi1, out("y_mean_upper")[0]);
    close(p2, out("y_mean")[1]);
    close(lo2, out("y_mean_lower")[1]);
    close(hi2, out("y_mean_upper")[1]);
  });
});

describe("README.md, The Open Inference Protocol (V2)", () => {
  it("answers its example requests as the README shows them", () => {
    expect(checkRequests(section(readme, "### The Open Inference Protocol (V2)"))).toBe(2);
  });
});
