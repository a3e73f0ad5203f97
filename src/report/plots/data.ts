import type { TopLevelSpec } from "vega-lite";
import type { ReportData } from "../types.js";
import { thinIndices } from "../stats.js";
import { BASE_CONFIG, placeholderSpec } from "./common.js";

export interface DataPlotOptions {
  /** Most rows drawn (evenly thinned). Default 5000. */
  maxPoints?: number;
}

/** The training data: scatter of x against y, coloured by category when there is one. */
export function dataPlotSpec(data: ReportData, options: DataPlotOptions = {}): TopLevelSpec {
  const title = "Training data";
  const n = Math.min(data.x.length, data.y.length);
  const rows: { x: number; y: number; c?: string }[] = [];
  const categoryName = data.categoryName ?? "category";
  for (const i of thinIndices(n, options.maxPoints ?? 5000)) {
    const x = data.x[i];
    const y = data.y[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    rows.push(data.category ? { x, y, c: String(data.category[i]) } : { x, y });
  }
  if (rows.length === 0) return placeholderSpec(title, "No data rows");
  const shown = rows.length < n ? `${rows.length} of ${n} rows shown` : `${n} rows`;
  const subtitle = data.category ? `${shown}, coloured by ${categoryName}` : shown;
  const categories = data.category ? [...new Set(rows.map((r) => Number(r.c)))].sort((a, b) => a - b).map(String) : [];
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, subtitle },
    width: 480,
    height: 320,
    data: { values: rows },
    mark: { type: "circle", size: 14, fillOpacity: 0.55 },
    encoding: {
      x: { field: "x", type: "quantitative", title: data.xName, scale: { zero: false, nice: true } },
      y: { field: "y", type: "quantitative", title: data.yName, scale: { zero: false, nice: true } },
      ...(data.category ? { color: { field: "c", type: "nominal", title: categoryName, scale: { domain: categories } } } : { color: { value: "#1f77b4" } }),
    },
    config: BASE_CONFIG,
  };
}
