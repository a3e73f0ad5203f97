// Windowed metric adaptation (Stan's windowed_adaptation.hpp + var_adaptation.hpp): a fast initial buffer for the step
// size, then slow windows doubling in length in which the variance of the draws is estimated, then a final fast buffer.
// After each window the diagonal inverse metric becomes the regularised sample variance, and the step size restarts.

/** Stan's defaults: init_buffer 75, term_buffer 50, base window 25. */
export const WINDOW_DEFAULTS = { initBuffer: 75, termBuffer: 50, baseWindow: 25 } as const;

export interface WindowSchedule {
  numWarmup: number;
  initBuffer: number;
  termBuffer: number;
  baseWindow: number;
  windowSize: number;
  nextWindow: number;
  counter: number;
}

export function windowScheduleInit(numWarmup: number, cfg: { initBuffer: number; termBuffer: number; baseWindow: number } = WINDOW_DEFAULTS): WindowSchedule {
  let { initBuffer, termBuffer, baseWindow } = cfg;
  // Stan: with too little warm-up for the default windows, fall back to 15% / 75% / 10%.
  if (numWarmup >= 20 && initBuffer + baseWindow + termBuffer > numWarmup) {
    initBuffer = Math.trunc(0.15 * numWarmup);
    termBuffer = Math.trunc(0.1 * numWarmup);
    baseWindow = numWarmup - (initBuffer + termBuffer);
  }
  return { numWarmup, initBuffer, termBuffer, baseWindow, windowSize: baseWindow, nextWindow: initBuffer + baseWindow - 1, counter: 0 };
}

export function inAdaptationWindow(w: WindowSchedule): boolean {
  return w.counter >= w.initBuffer && w.counter < w.numWarmup - w.termBuffer && w.counter !== w.numWarmup;
}

export function endOfAdaptationWindow(w: WindowSchedule): boolean {
  return w.counter === w.nextWindow && w.counter !== w.numWarmup;
}

export function computeNextWindow(w: WindowSchedule): void {
  if (w.nextWindow === w.numWarmup - w.termBuffer - 1) return;
  w.windowSize *= 2;
  w.nextWindow = w.counter + w.windowSize;
  if (w.nextWindow !== w.numWarmup - w.termBuffer - 1) {
    const nextBoundary = w.nextWindow + 2 * w.windowSize;
    if (nextBoundary >= w.numWarmup - w.termBuffer) w.nextWindow = w.numWarmup - w.termBuffer - 1;
  }
}

/** Welford's running mean and variance. */
export interface Welford {
  n: number;
  mean: Float64Array;
  m2: Float64Array;
}

export function welfordInit(dim: number): Welford {
  return { n: 0, mean: new Float64Array(dim), m2: new Float64Array(dim) };
}

export function welfordAdd(w: Welford, x: Float64Array): void {
  w.n++;
  for (let i = 0; i < x.length; i++) {
    const delta = x[i] - w.mean[i];
    w.mean[i] += delta / w.n;
    w.m2[i] += delta * (x[i] - w.mean[i]);
  }
}

export function welfordReset(w: Welford): void {
  w.n = 0;
  w.mean.fill(0);
  w.m2.fill(0);
}

/**
 * Feed one warm-up draw. Returns true when a window closed and `invMetric` was updated:
 * (n / (n + 5))·var + 1e-3·(5 / (n + 5)) — Stan's shrinkage towards a small multiple of the identity.
 */
export function learnVariance(w: WindowSchedule, est: Welford, invMetric: Float64Array, q: Float64Array): boolean {
  if (inAdaptationWindow(w)) welfordAdd(est, q);
  if (endOfAdaptationWindow(w)) {
    computeNextWindow(w);
    const n = est.n;
    for (let i = 0; i < invMetric.length; i++) {
      const variance = est.m2[i] / (n - 1);
      invMetric[i] = (n / (n + 5)) * variance + 1e-3 * (5 / (n + 5));
      if (!Number.isFinite(invMetric[i])) throw new Error("numerical overflow in metric adaptation");
    }
    welfordReset(est);
    w.counter++;
    return true;
  }
  w.counter++;
  return false;
}
