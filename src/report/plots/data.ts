import type { TopLevelSpec } from "vega-lite";
import type { ReportData } from "../types.js";
import { thinIndices } from "../stats.js";
import { BASE_CONFIG, MAX_COLOURED_LEVELS, TAB10, TAB10_LIGHT, placeholderSpec } from "./common.js";

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
  const categories = data.category ? [...new Set(rows.map((r) => Number(r.c)))].sort((a, b) => a - b).map(String) : [];
  // Ten colours (tab10) until they run out, then their light shades (tab20's), so that no two levels share one; past
  // twenty levels no colouring tells them apart, and the points are drawn in one colour.
  const coloured = data.category !== null && categories.length <= MAX_COLOURED_LEVELS;
  const subtitle = coloured
    ? `${shown}, coloured by ${categoryName}`
    : data.category
      ? `${shown}; ${categories.length} levels of ${categoryName}, too many to tell apart by colour`
      : shown;
  const range = [...TAB10, ...TAB10_LIGHT].slice(0, categories.length);
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
      ...(coloured ? { color: { field: "c", type: "nominal", title: categoryName, scale: { domain: categories, range } } } : { color: { value: "#1f77b4" } }),
    },
    config: BASE_CONFIG,
  };
}
