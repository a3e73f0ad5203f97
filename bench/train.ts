// Train-command benchmark: `bayes-serve train --simulate` with the seed's settings (2,000 rows, 2 chains ×
// (1,000 warm-up + 5,000 draws), report included), from process start to a published artefact, into a fresh folder
// each run. Runs the built CLI (dist/), so build first: `npm run build && npm run bench:train -- [--runs 5]`.
// The seed's notebook spent 7 s in sampling alone (README, "The original project"); the goal here is under 3 s for
// the whole command.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf("--runs") + 1] ?? 5) || 5;
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/cli/main.js");
const walls: number[] = [];
let timings = "";
for (let r = 0; r < runs; r++) {
  const store = mkdtempSync(path.join(tmpdir(), "bench-train-"));
  const t0 = performance.now();
  const res = spawnSync(process.execPath, [cli, "train", "--simulate", "--store", store], { encoding: "utf8" });
  const wall = (performance.now() - t0) / 1000;
  if (res.status !== 0) throw new Error(`train failed: ${res.stderr}`);
  walls.push(wall);
  timings = res.stderr.split("\n").find((l) => l.startsWith("timings")) ?? "";
  console.log(`run ${r + 1}: ${wall.toFixed(2)} s  (${timings})`);
}
const sorted = [...walls].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
console.log(`TRAIN_RESULT: ${JSON.stringify({ runs, median_seconds: median, min_seconds: sorted[0], max_seconds: sorted.at(-1) })}`);
