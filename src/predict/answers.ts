// The seed's three answers from predictive samples: point = median (np.median), interval = ArviZ's HDI,
// density = np.histogram(density=True) with bin mid-points.
import { hdi, histogram, median } from "../diagnostics/index.js";

export function pointAnswer(samples: Float64Array): number {
  return median(samples);
}

export function intervalAnswer(samples: Float64Array, prob: number): [number, number] {
  return hdi(samples, prob);
}

export function densityAnswer(samples: Float64Array, bins: number): { binMids: number[]; density: number[] } {
  const h = histogram(samples, bins);
  return { binMids: Array.from(h.binMids), density: Array.from(h.density) };
}
