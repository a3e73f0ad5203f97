// The report layer: pure functions from plain inputs to file contents (SVG, PNG, one self-contained HTML page).
export type {
  ParameterDraws,
  PlotName,
  RenderedReport,
  RenderOptions,
  ReportData,
  ReportGate,
  ReportInput,
  ReportPpc,
  ReportPredictions,
  ReportSample,
} from "./types.js";
export { renderReport, reportPlots, type ReportPlot } from "./report.js";
export { compileSpec, renderPlot, specToSvg, svgToPng, type CompiledSpec, type RenderedPlot, type RenderPlotOptions } from "./render.js";
export { dataPlotSpec, type DataPlotOptions } from "./plots/data.js";
export { tracePlotSpec, type TracePlotOptions } from "./plots/trace.js";
export { predictedVsActualSpec } from "./plots/predicted-vs-actual.js";
export { ppcPlotSpec, type PpcPlotOptions } from "./plots/ppc.js";
export { reportHtml } from "./html.js";
