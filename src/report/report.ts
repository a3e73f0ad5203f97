import type { TopLevelSpec } from "vega-lite";
import type { PlotName, RenderedReport, RenderOptions, ReportInput } from "./types.js";
import { dataPlotSpec } from "./plots/data.js";
import { tracePlotSpec } from "./plots/trace.js";
import { percentLabel, predictedVsActualSpec } from "./plots/predicted-vs-actual.js";
import { ppcPlotSpec } from "./plots/ppc.js";
import { renderPlot } from "./render.js";
import { reportHtml, type HtmlFigure } from "./html.js";

export interface ReportPlot {
  name: PlotName;
  caption: string;
  spec: TopLevelSpec;
}

/** The report's Vega-Lite specs, in page order. Pure: no rendering. */
export function reportPlots(input: ReportInput, options: RenderOptions = {}): ReportPlot[] {
  const yName = input.data.yName;
  const pct = percentLabel(input.predictions.hdiProb);
  return [
    {
      name: "data",
      caption: input.data.category
        ? `Training data: ${input.data.yName} against ${input.data.xName}, coloured by ${input.data.categoryName ?? "category"}.`
        : `Training data: ${input.data.yName} against ${input.data.xName}.`,
      spec: dataPlotSpec(input.data, { maxPoints: options.maxDataPoints }),
    },
    {
      name: "trace",
      caption: "Trace plot: per parameter, the posterior density of each chain (left) and the draws in sampling order (right).",
      spec: tracePlotSpec(input.parameters, { maxPoints: options.maxTracePoints, maxParameters: options.maxTraceParameters }),
    },
    {
      name: "predicted-vs-actual",
      caption: `Held-out rows: predictive mean against the actual value, with the ${pct}% HDI as a bar; the dashed line is y = x.`,
      spec: predictedVsActualSpec(input.predictions, yName),
    },
    {
      name: "ppc",
      caption: "Posterior predictive check: density of the observed values against the densities of replicated datasets and their mean.",
      spec: ppcPlotSpec(input.ppc, yName, { maxReplicates: options.maxPpcReplicates }),
    },
  ];
}

/**
 * Every report file from plain inputs: "<plot>.svg" and "<plot>.png" for data, trace, predicted-vs-actual and ppc,
 * and a self-contained "report.html". Writes nothing; the caller stores the files.
 */
export async function renderReport(input: ReportInput, options: RenderOptions = {}): Promise<RenderedReport> {
  const plots = reportPlots(input, options);
  // The SVG step runs on this thread; the PNG step runs on libuv's pool, so starting all at once overlaps them.
  const rendered = await Promise.all(
    plots.map((p) => renderPlot(p.spec, { pngScale: options.pngScale, fontFiles: options.fontFiles })),
  );
  const files: Record<string, Uint8Array | string> = {};
  const figures: HtmlFigure[] = [];
  plots.forEach((p, i) => {
    files[`${p.name}.svg`] = rendered[i].svg;
    files[`${p.name}.png`] = rendered[i].png;
    figures.push({ name: p.name, caption: p.caption, svg: rendered[i].svg });
  });
  files["report.html"] = reportHtml(input, figures);
  return { files };
}
