import type { TopLevelSpec } from "vega-lite";
import type { ParameterDraws } from "../types.js";
import { commonGrid, finite, gridPoint, kde, silvermanBandwidth, thinIndices } from "../stats.js";
import { BASE_CONFIG, TAB10, placeholderSpec, round } from "./common.js";

export interface TracePlotOptions {
  /** Most draws per chain in each trace line (evenly thinned). Default 1000. */
  maxPoints?: number;
  /**
   * Most parameters drawn. Default 16. The `flagged` ones (those failing the quality gate) come first, then the
   * others in input order; the rows keep input order.
   */
  maxParameters?: number;
  /** Names of parameters to draw first if there is room for them, most important first: those the quality gate names. */
  flagged?: readonly string[];
  /** Grid points per density curve. Default 128. */
  gridPoints?: number;
}

const DENSITY_WIDTH = 300;
const TRACE_WIDTH = 520;
const ROW_HEIGHT = 110;
/** Room kept for y-axis labels, so that every row's plots start at the same x. */
const Y_AXIS_EXTENT = 40;

/**
 * az.plot_trace: one row per parameter, the density of each chain on the left and the draws against the iteration
 * on the right, one colour per chain. Laid out as a two-column grid so the rows line up.
 */
export function tracePlotSpec(parameters: ParameterDraws[], options: TracePlotOptions = {}): TopLevelSpec {
  const title = "Trace plot";
  const maxParameters = options.maxParameters ?? 16;
  const withDraws = parameters.filter((p) => p.chains.some((c) => c.length > 0));
  const flagged = new Set(options.flagged ?? []);
  const byName = new Map(withDraws.map((p) => [p.name, p]));
  const firstFlagged = [...flagged].flatMap((name) => byName.get(name) ?? []);
  const chosen = new Set([...firstFlagged, ...withDraws].slice(0, maxParameters));
  const shown = withDraws.filter((p) => chosen.has(p));
  const flaggedShown = shown.filter((p) => flagged.has(p.name)).length;
  const flaggedTotal = withDraws.filter((p) => flagged.has(p.name)).length;
  if (shown.length === 0) return placeholderSpec(title, "No posterior draws");
  const nChains = Math.max(...shown.map((p) => p.chains.length));
  const chainNames = Array.from({ length: nChains }, (_, k) => String(k));
  const color = {
    field: "chain",
    type: "nominal" as const,
    title: "chain",
    scale: { domain: chainNames, range: chainNames.map((_, k) => TAB10[k % TAB10.length]) },
    legend: { orient: "top" as const, direction: "horizontal" as const, symbolType: "stroke", symbolStrokeWidth: 2 },
  };
  const maxDraws = Math.max(...shown.map((p) => Math.max(...p.chains.map((c) => c.length))));
  const stride = thinIndices(maxDraws, options.maxPoints ?? 1000)[1] ?? 1;
  const header = (name: string) => ({ text: name, fontSize: 12, fontWeight: "bold" as const, anchor: "middle" as const, offset: 4 });

  const cells = shown.flatMap((p, row) => {
    // Only the bottom row carries the x-axis titles.
    const isLast = row === shown.length - 1;
    const chains = p.chains.map(finite);
    const bws = chains.map((c) => silvermanBandwidth(c));
    const grid = commonGrid(chains, bws, options.gridPoints ?? 128);
    const density: { chain: string; value: number; density: number }[] = [];
    const trace: { chain: string; draw: number; value: number }[] = [];
    p.chains.forEach((raw, k) => {
      if (grid && chains[k].length > 1) {
        const d = kde(chains[k], grid, bws[k]);
        for (let i = 0; i < grid.n; i++) density.push({ chain: String(k), value: round(gridPoint(grid, i)), density: round(d[i], 4) });
      }
      for (let i = 0; i < raw.length; i += stride) {
        if (Number.isFinite(raw[i])) trace.push({ chain: String(k), draw: i, value: round(raw[i]) });
      }
    });
    return [
      {
        title: header(p.name),
        width: DENSITY_WIDTH,
        height: ROW_HEIGHT,
        data: { values: density },
        mark: { type: "line" as const, strokeWidth: 1.5, interpolate: "monotone" as const },
        encoding: {
          x: {
            field: "value",
            type: "quantitative" as const,
            title: isLast ? "value" : null,
            scale: { zero: false, nice: false },
            axis: { tickCount: 5, labelOverlap: "greedy" as const, labelSeparation: 6 },
          },
          y: {
            field: "density",
            type: "quantitative" as const,
            title: "density",
            // As in az.plot_trace, the density's scale is not labelled: the shape is what matters.
            axis: { labels: false, ticks: false, grid: false, minExtent: Y_AXIS_EXTENT },
          },
          color,
        },
      },
      {
        title: header(p.name),
        width: TRACE_WIDTH,
        height: ROW_HEIGHT,
        data: { values: trace },
        mark: { type: "line" as const, strokeWidth: 0.6, strokeOpacity: 0.8 },
        encoding: {
          x: {
            field: "draw",
            type: "quantitative" as const,
            title: isLast ? "draw" : null,
            scale: { nice: false },
            axis: { tickCount: 8, labelSeparation: 6 },
          },
          y: {
            field: "value",
            type: "quantitative" as const,
            title: null,
            scale: { zero: false },
            axis: { tickCount: 4, minExtent: Y_AXIS_EXTENT },
          },
          color,
        },
      },
    ];
  });
  const parts = [`${shown.length} parameter${shown.length === 1 ? "" : "s"}`, `${nChains} chain${nChains === 1 ? "" : "s"}`, `${maxDraws} draws per chain`];
  if (stride > 1) parts.push(`trace shows 1 draw in ${stride}`);
  if (withDraws.length > shown.length)
    parts.push(
      flaggedShown > 0
        ? `${shown.length} of ${withDraws.length} parameters: ${flaggedShown === shown.length ? `${flaggedShown} of the ${flaggedTotal}` : `the ${flaggedShown}`} failing the quality gate${flaggedShown === shown.length ? "" : " and the first others"}`
        : `first ${shown.length} of ${withDraws.length} parameters`,
    );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, subtitle: parts.join(" · ") },
    concat: cells,
    columns: 2,
    align: "each",
    spacing: { row: 16, column: 28 },
    resolve: { scale: { color: "shared" } },
    // Flush end labels keep every cell's bounds at its plot area plus axes, so the rows line up exactly.
    config: { ...BASE_CONFIG, axisX: { labelFlush: true }, axisY: { labelFlush: true } },
  };
}
