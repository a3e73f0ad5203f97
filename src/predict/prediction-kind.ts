// The four questions the service answers about a new instance: the seed's three over posterior-predictive samples,
// and the posterior of the expected value E[y | x, θ].
export type PredictionKind = "point" | "interval" | "density" | "mean";
export const PREDICTION_KINDS: readonly PredictionKind[] = ["point", "interval", "density", "mean"];
