// `bayes-serve models history | rollback | compare A B --data FILE`: the versions a store holds with where their
// data came from, their held-out scores and what their gate and comparison said; moving `latest` back one promoted
// version; and comparing two versions' predictions of the same data as R's loo_compare prints it.
import type { Command } from "commander";
import type { ComparisonVerdict } from "../artifact/manifest.js";
import { servedModel } from "../artifact/served-model.js";
import { DEFAULT_STORE_URI, type ArtifactStore } from "../artifact/store.js";
import { BayesServeError } from "../errors.js";
import { modelFromJSON } from "../model/serialize.js";
import { compareScores, heldOutLpd } from "../predict/index.js";
import { readSourceTable } from "../train/data-source.js";
import { columnSpecs } from "../train/pipeline.js";
import { tableRows } from "../train/table.js";
import type { CliOutput } from "./models.js";

const STORE_HELP = "artefact store: a folder, file:// URL or s3://bucket/prefix";

/** One version's history entry: what it was trained on, how it scored, what the gate said. */
export interface HistoryEntry {
  version: string;
  latest: boolean;
  created: string;
  model: string;
  data: { rows: number; sha256: string; source?: string };
  metrics: Record<string, number>;
  gate: { passed: boolean; failures: string[] };
  comparison: ComparisonVerdict | null;
}

const fmt = (v: number | null | undefined, digits = 2): string => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : "-");

async function historyOf(store: ArtifactStore): Promise<HistoryEntry[]> {
  const versions = await store.list();
  const out: HistoryEntry[] = [];
  for (const v of versions) {
    if (v.problem !== null) continue;
    const m = await store.readManifest(v.version);
    const gate = m.gate;
    const data = m.data;
    out.push({
      version: v.version,
      latest: v.latest,
      created: m.createdAt,
      model: typeof m.model === "object" && m.model !== null && "name" in m.model ? String((m.model as { name: unknown }).name) : "-",
      data: { rows: data.rows, sha256: data.sha256, ...(data.source !== undefined ? { source: data.source } : {}) },
      metrics: typeof m.metrics === "object" && m.metrics !== null && !Array.isArray(m.metrics) ? (m.metrics as Record<string, number>) : {},
      gate: { passed: gate.passed, failures: gate.failures },
      comparison: gate.comparison ?? null,
    });
  }
  return out.reverse(); // newest first
}

/** Two versions' scores of the same rows, as loo_compare prints them: the better first, differences from it. */
function compareTable(rows: { name: string; elpd: number; se: number; pointwise: Float64Array }[]): string {
  const [a, b] = rows;
  const d = compareScores({ pointwise: a.pointwise, elpd: a.elpd, se: a.se }, { pointwise: b.pointwise, elpd: b.elpd, se: b.se });
  const better = d.elpdDiff > 0 ? b : a;
  const worse = better === a ? b : a;
  const lines = [
    ["", "elpd_diff", "se_diff", "elpd", "se_elpd"],
    [better.name, "0.0", "0.0", fmt(better.elpd, 1), fmt(better.se, 1)],
    [worse.name, fmt(-Math.abs(d.elpdDiff), 1), fmt(d.seDiff, 1), fmt(worse.elpd, 1), fmt(worse.se, 1)],
  ];
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines.map((l) => l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n");
}

/** Adds history, rollback and compare to the `models` command (models.ts). */
export function registerHistoryCommands(
  models: Command,
  out: CliOutput,
  open: (uri: string) => ArtifactStore,
  resolveVersion: (store: ArtifactStore, version: string | undefined) => Promise<string>,
): void {
  models
    .command("history")
    .description("the versions in a store, newest first: their data, held-out scores, gate and comparison verdicts; * marks latest")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .option("--json", "print one JSON array")
    .action(async (opts: { store: string; json?: boolean }) => {
      const entries = await historyOf(open(opts.store));
      if (opts.json === true) {
        out.stdout(`${JSON.stringify(entries)}\n`);
        return;
      }
      if (entries.length === 0) {
        out.stdout(`no versions in ${opts.store}\n`);
        return;
      }
      const cells = entries.map((e) => [
        `${e.latest ? "*" : " "} ${e.version}`,
        e.model,
        `${e.data.rows} rows${e.data.source !== undefined ? ` from ${e.data.source}` : ""} (${e.data.sha256.slice(0, 8)})`,
        `${fmt(e.metrics.elpd_holdout, 1)} ± ${fmt(e.metrics.elpd_holdout_se, 1)}`,
        e.gate.passed ? "passed" : `FAILED (${e.gate.failures.length})`,
        e.comparison === null
          ? "-"
          : e.comparison.note !== undefined
            ? e.comparison.refused
              ? `REFUSED: other requests than ${e.comparison.against}`
              : "not compared"
            : `${e.comparison.refused ? "REFUSED " : ""}${fmt(e.comparison.elpd_diff, 1)} ± ${fmt(e.comparison.se_diff, 1)} vs ${e.comparison.against}`,
      ]);
      const header = ["  VERSION", "MODEL", "DATA", "ELPD HELD-OUT", "GATE", "AGAINST LATEST"];
      const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
      out.stdout(
        `${[header, ...cells]
          .map((r) =>
            r
              .map((c, i) => c.padEnd(widths[i]))
              .join("  ")
              .trimEnd(),
          )
          .join("\n")}\n`,
      );
    });

  models
    .command("rollback")
    .description("move latest back to the newest version before it that passed its gate (verified first)")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .action(async (opts: { store: string }) => {
      const store = open(opts.store);
      const current = await resolveVersion(store, "latest");
      const entries = await historyOf(store);
      // In the store's order (newest first; within one second by createdAt, not by the ids' random suffixes).
      const at = entries.findIndex((e) => e.version === current);
      const older = at >= 0 ? entries.slice(at + 1) : entries.filter((e) => e.version < current);
      const previous = older.find((e) => e.gate.passed);
      if (previous === undefined)
        throw new BayesServeError("ARTIFACT", `no version before ${current} in ${store.uri} passed its gate: nothing to roll back to`);
      await store.readBundle(previous.version);
      await store.setLatest(previous.version);
      out.stdout(`latest: ${current} -> ${previous.version} in ${store.uri}\n`);
    });

  models
    .command("compare")
    .description("compare two versions' predictions of the rows of a CSV (log predictive density, as loo_compare prints it)")
    .argument("<a>", "version id, or latest")
    .argument("<b>", "version id, or latest")
    .requiredOption("--data <uri>", "the rows to predict (a path, s3:// or http(s):// URI; CSV, gzip'd CSV or Parquet): both models' inputs and the target")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .option("--json", "print one JSON object")
    .action(async (a: string, b: string, opts: { store: string; data: string; json?: boolean }) => {
      const store = open(opts.store);
      const versions = [await resolveVersion(store, a), await resolveVersion(store, b)];
      const served = [];
      for (const v of versions) {
        const bundle = await store.readBundle(v, { files: "posterior" });
        served.push({ version: v, manifest: bundle.manifest, ...servedModel(bundle.manifest, bundle.draws) });
      }
      const targets = new Set(served.map((s) => s.manifest.target.name));
      if (targets.size > 1)
        throw new BayesServeError("USAGE", `the two versions predict different columns (${[...targets].join(", ")}): there is nothing to compare`);
      // Both models' columns, each read once.
      const specs = new Map(served.flatMap((s) => columnSpecs(modelFromJSON(s.manifest.model)).map((c) => [c.name, c] as const)));
      const { table } = await readSourceTable(opts.data, [...specs.values()]);
      const instances = tableRows(table, Object.keys(table.columns));
      const ys = table.columns[[...targets][0]];
      const scores = served.map((s) => ({ name: s.version, ...heldOutLpd(s.predictor, instances, ys) }));
      const d = compareScores(scores[0], scores[1]);
      if (opts.json === true) {
        out.stdout(
          `${JSON.stringify({ rows: table.rows, a: { version: versions[0], elpd: scores[0].elpd, se: scores[0].se }, b: { version: versions[1], elpd: scores[1].elpd, se: scores[1].se }, elpd_diff: d.elpdDiff, se_diff: d.seDiff })}\n`,
        );
        return;
      }
      out.stdout(`${table.rows} rows of ${opts.data}; elpd = Σ log mean_s p(y_i | x_i, θ_s)\n${compareTable(scores)}\n`);
    });
}
