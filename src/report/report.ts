import type { TopLevelSpec } from "vega-lite";
import type { PlotName, RenderedReport, RenderOptions, ReportInput, ReportSample } from "./types.js";
import { dataPlotSpec } from "./plots/data.js";
import { MAX_COLOURED_LEVELS } from "./plots/common.js";
import { tracePlotSpec } from "./plots/trace.js";
import { percentLabel, predictedVsActualSpec } from "./plots/predicted-vs-actual.js";
import { ppcPlotSpec } from "./plots/ppc.js";
import { ppcBarsSpec } from "./plots/ppc-bars.js";
import { calibrationSpec } from "./plots/calibration.js";
import { paretoKSpec } from "./plots/pareto-k.js";
import { specToSvg, svgToPng } from "./render.js";
import { reportHtml, type HtmlFigure } from "./html.js";

/** Rendering order: the figures whose PNG takes longest go first. */
const HEAVIEST_FIRST: PlotName[] = ["trace", "ppc", "data", "predicted-vs-actual"];

export interface ReportPlot {
  name: PlotName;
  caption: string;
  spec: TopLevelSpec;
}

/** " (on a random sample of 10000 of 8000000 training rows, seed 42)", or nothing when every row was used. */
export function sampleNote(sample: ReportSample | undefined, what: string): string {
  return sample === undefined ? "" : ` (on a random sample of ${sample.rows} of ${sample.of} ${what}, seed ${sample.seed})`;
}

/**
 * The parameters the quality gate names (a failure reads "name: r_hat 1.02 > 1.01"), the largest R-hat first: the
 * trace figure draws them whatever their place among the parameters.
 */
function gateFlagged(input: ReportInput): string[] {
  const rHat = new Map(input.summaryTable.map((r) => [String(r.parameter), typeof r.r_hat === "number" ? r.r_hat : Number.NaN]));
  const worst = (name: string) => {
    const r = rHat.get(name) ?? Number.NaN;
    return Number.isNaN(r) ? Infinity : r;
  };
  return input.parameters
    .map((p) => p.name)
    .filter((name) => input.gate.failures.some((f) => f.startsWith(`${name}: `)))
    .sort((a, b) => worst(b) - worst(a));
}

/** The report's Vega-Lite specs, in page order. Pure: no rendering. */
export function reportPlots(input: ReportInput, options: RenderOptions = {}): ReportPlot[] {
  const plots = reportPlotsOfRows(input, options);
  const train = sampleNote(input.samples?.train, "training rows");
  const test = sampleNote(input.samples?.test, "held-out rows");
  // Every figure drawn from rows says which rows: the trace alone is of the draws.
  return plots.map((p) =>
    p.name === "trace" || (p.name === "predicted-vs-actual" ? test : train) === ""
      ? p
      : { ...p, caption: `${p.caption.replace(/\.$/, "")}${p.name === "predicted-vs-actual" ? test : train}.` },
  );
}

function reportPlotsOfRows(input: ReportInput, options: RenderOptions): ReportPlot[] {
  const yName = input.data.yName;
  const pct = percentLabel(input.predictions.hdiProb);
  const kind = input.kind ?? "continuous";
  return [
    {
      name: "data",
      caption:
        input.data.category && new Set(input.data.category).size <= MAX_COLOURED_LEVELS
          ? `Training data: ${input.data.yName} against ${input.data.xName}, coloured by ${input.data.categoryName ?? "category"}.`
          : `Training data: ${input.data.yName} against ${input.data.xName}.`,
      spec: dataPlotSpec(input.data, { maxPoints: options.maxDataPoints }),
    },
    {
      name: "trace",
      caption: "Trace plot: per parameter, the posterior density of each chain (left) and the draws in sampling order (right).",
      spec: tracePlotSpec(input.parameters, {
        maxPoints: options.maxTracePoints,
        maxParameters: options.maxTraceParameters,
        flagged: gateFlagged(input),
      }),
    },
    kind === "binary"
      ? {
          name: "predicted-vs-actual",
          caption: `Calibration of the held-out rows: in each bin of predicted P(${yName} = 1), the observed frequency of ${yName} = 1 against the mean prediction; the dashed line is perfect calibration.`,
          spec: calibrationSpec(input.calibration ?? [], yName),
        }
      : {
          name: "predicted-vs-actual",
          caption: `Held-out rows: ${kind === "count" ? "expected count" : "predictive mean"} against the actual value, with the ${pct}% HDI as a bar; the dashed line is y = x.`,
          spec: predictedVsActualSpec(input.predictions, yName),
        },
    kind === "continuous"
      ? {
          name: "ppc",
          caption: "Posterior predictive check: density of the observed values against the densities of replicated datasets and their mean.",
          spec: ppcPlotSpec(input.ppc, yName, { maxReplicates: options.maxPpcReplicates }),
        }
      : {
          name: "ppc",
          caption: `Posterior predictive check: the frequency of each value of ${yName} in the data (bars) and in replicated datasets (median and 90% interval).`,
          spec: ppcBarsSpec(input.ppc, yName),
        },
    ...(input.loo !== undefined
      ? [
          {
            name: "pareto-k" as const,
            caption:
              "PSIS-LOO diagnostics: the Pareto k̂ of each training row; above 0.7 (the upper dashed line) the row's leave-one-out estimate is unreliable, usually an outlier or a row with much influence.",
            spec: paretoKSpec(input.loo),
          },
        ]
      : []),
  ];
}

/**
 * Every report file from plain inputs: "<plot>.svg" and "<plot>.png" for data, trace, predicted-vs-actual, ppc and
 * (with PSIS-LOO) pareto-k,
 * and a self-contained "report.html". Writes nothing; the caller stores the files.
 */
export async function renderReport(input: ReportInput, options: RenderOptions = {}): Promise<RenderedReport> {
  const plots = reportPlots(input, options);
  const pngOptions = { pngScale: options.pngScale, fontFiles: options.fontFiles };
  // SVGs are made on this thread, PNGs on libuv's thread pool. Make the SVGs one after another, heaviest first, and
  // start each PNG as soon as its SVG exists, so that rasterising overlaps the next SVG.
  const heaviestFirst = [...plots].sort((a, b) => HEAVIEST_FIRST.indexOf(a.name) - HEAVIEST_FIRST.indexOf(b.name));
  const svgs = new Map<PlotName, string>();
  const pngs = new Map<PlotName, Promise<Uint8Array>>();
  for (const plot of heaviestFirst) {
    const svg = await specToSvg(plot.spec);
    svgs.set(plot.name, svg);
    const png = svgToPng(svg, pngOptions).then((r) => r.png);
    png.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
    pngs.set(plot.name, png);
  }
  const files: Record<string, Uint8Array | string> = {};
  const figures: HtmlFigure[] = [];
  for (const plot of plots) {
    const svg = svgs.get(plot.name)!;
    files[`${plot.name}.svg`] = svg;
    files[`${plot.name}.png`] = await pngs.get(plot.name)!;
    figures.push({ name: plot.name, caption: plot.caption, svg });
  }
  files["report.html"] = reportHtml(input, figures);
  return { files };
}
