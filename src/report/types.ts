import type { ComparisonVerdict } from "../artifact/manifest.js";
import type { ResponseKind } from "../model/families.js";

// Plain inputs of the report layer and what it produces. No I/O here: renderReport turns a ReportInput into file
// contents, and the caller (the train command) decides where they go.

/** The training data, as plotted in the data figure. */
export interface ReportData {
  x: Float64Array;
  /** 0-based category per row, or null when the model has no categorical feature. */
  category: Int32Array | null;
  y: Float64Array;
  xName: string;
  yName: string;
  categoryName?: string;
}

/** Posterior draws of one scalar parameter (e.g. "beta[0]"), one array per chain, in draw order. */
export interface ParameterDraws {
  name: string;
  chains: Float64Array[];
}

/** Held-out rows: the actual value, the predictive mean and an HDI of probability hdiProb. May be empty. */
export interface ReportPredictions {
  actual: Float64Array;
  mean: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  /** Probability mass of the [lower, upper] interval, in (0, 1), e.g. 0.94. */
  hdiProb: number;
}

/** Posterior-predictive check: the observed y and replicated datasets drawn from the posterior predictive. */
export interface ReportPpc {
  observed: Float64Array;
  replicated: Float64Array[];
}

/** One bin of a calibration plot (a 0/1 target): rows predicted in [lower, upper), their mean prediction and rate. */
export interface ReportCalibrationBin {
  lower: number;
  upper: number;
  rows: number;
  meanPredicted: number;
  observedRate: number;
}

/** PSIS-LOO of the training rows: the estimates and each row's Pareto k̂. */
export interface ReportLoo {
  elpd: number;
  se: number;
  pLoo: number;
  paretoK: Float64Array;
  /**
   * The data row (0-based, in the data's own order, header excluded) of each k̂: training rows are what the split and
   * any row sample left, so their own index names no row a reader can find. Without it the figure numbers the
   * training rows.
   */
  dataRows?: Int32Array;
}

/** The new fit against the version that was serving, on the new data's held-out rows. */
export type ReportComparison = ComparisonVerdict;

export interface ReportGate {
  passed: boolean;
  failures: string[];
  comparison?: ReportComparison;
}

/** Rows a figure was computed on when they are a random sample: `rows` of `of`, drawn with `seed`. */
export interface ReportSample {
  rows: number;
  of: number;
  seed: number;
}

export interface ReportInput {
  /** e.g. "seed-regression 20261201T003000Z-a1b2c3" */
  title: string;
  /**
   * Present when the data held more rows than the report is drawn from: the training rows of the data and PPC figures
   * (and PSIS-LOO's) and the held-out rows of the predicted-vs-actual figure and the sampled metrics. The page and the
   * captions say so.
   */
  samples?: { train?: ReportSample; test?: ReportSample };
  /**
   * What the target is: continuous values get density curves and predicted-vs-actual; counts and 0/1 get bars in the
   * predictive check; 0/1 gets a calibration plot instead of predicted-vs-actual. Default "continuous".
   */
  kind?: ResponseKind;
  data: ReportData;
  parameters: ParameterDraws[];
  predictions: ReportPredictions;
  /** For a 0/1 target: the calibration plot's bins. */
  calibration?: ReportCalibrationBin[];
  ppc: ReportPpc;
  /** PSIS-LOO of the training rows (absent when it was not computed: too many rows × draws). */
  loo?: ReportLoo & { subsample?: { rows: number; of: number; subsamplingSe: number; estimator: "srs" | "difference" } };
  /** Rows like az.summary: {parameter, mean, sd, "hdi_3%", "hdi_97%", mcse_mean, mcse_sd, ess_bulk, ess_tail, r_hat}. */
  summaryTable: Record<string, string | number | null>[];
  gate: ReportGate;
  /** mape, rmse, coverage_50/90/95, crps, ... */
  metrics: Record<string, number>;
  /** version, created, sampler settings, seed, data hash, rows, ... */
  meta: Record<string, string | number>;
}

/**
 * File name → contents. Always: data, trace, predicted-vs-actual and ppc, each as ".svg" (string) and ".png"
 * (bytes), and "report.html" (string, self-contained).
 */
export interface RenderedReport {
  files: Record<string, Uint8Array | string>;
}

/** Tuning knobs; every one has a default that suits the seed's size. */
export interface RenderOptions {
  /** PNG pixels per SVG unit (resvg zoom). Default 1.25. */
  pngScale?: number;
  /** Most draws per chain drawn in a trace line (evenly thinned). Default 1000. */
  maxTracePoints?: number;
  /** Most parameters drawn in the trace figure (the first ones in input order). Default 16. */
  maxTraceParameters?: number;
  /** Most rows drawn in the data scatter (evenly thinned). Default 5000. */
  maxDataPoints?: number;
  /** Most replicated datasets drawn in the PPC figure. Default 100. */
  maxPpcReplicates?: number;
  /** Font files for the PNG renderer. Default: DejaVu Sans if found, else every system font. */
  fontFiles?: string[];
}

/** Name of each figure, as used in file names ("<name>.svg", "<name>.png"). */
export type PlotName = "data" | "trace" | "predicted-vs-actual" | "ppc" | "pareto-k";
