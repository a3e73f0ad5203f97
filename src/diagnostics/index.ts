/** Public API of the diagnostics layer. */
export * from "./chains.js";
export * from "./ess.js";
export * from "./rhat.js";
export * from "./mcse.js";
export * from "./quantile.js";
export * from "./median.js";
export * from "./rank-normalize.js";
export * from "./autocovariance.js";
export * from "./beta-quantile.js";
export * from "./incomplete-beta.js";
export * from "./log-gamma.js";
export * from "./normal-quantile.js";
export * from "./hdi.js";
export * from "./histogram.js";
export * from "./energy.js";
export * from "./summary.js";
export * from "./format-summary.js";
