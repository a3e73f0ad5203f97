// posteriordb arK-arK (Stan: arK.stan), an AR(K) model:
//   alpha ~ normal(0, 10);  beta ~ normal(0, 10) (K of them);  sigma ~ cauchy(0, 2.5) with <lower=0>
//   for t in K+1..T: y[t] ~ normal(alpha + Σ_k beta[k] * y[t-k], sigma)
// The loop becomes a data matrix of lags built by prepareData: row t-K-1 holds (y[t-1], ..., y[t-K]), so the mean is
// alpha + lags · beta, and the observed values are y[K+1..T].
import { Cauchy, model, Normal } from "../../model/index.js";
import { num, vec, type PosteriordbModel, type RawData } from "./types.js";

export const arK = model("arK", (m) => {
  const K = m.dim("K");
  const lags = m.data("lags", { shape: "matrix" });
  const yTail = m.data("y_tail");
  const alpha = m.param("alpha", Normal(0, 10));
  const beta = m.param("beta", Normal(0, 10), { shape: K });
  const sigma = m.param("sigma", Cauchy(0, 2.5), { lower: 0 });
  m.observe("y_obs", Normal(lags.matvec(beta).add(alpha), sigma), yTail);
});

/** The lagged design: for t = K..T-1 (0-based), the row (y[t-1], ..., y[t-K]) and the observed y[t]. */
export function prepareData(raw: RawData) {
  const K = num(raw, "K");
  const T = num(raw, "T");
  const y = vec(raw, "y");
  if (y.length !== T) throw new Error(`posteriordb data: y has ${y.length} values, T is ${T}`);
  const lags: number[][] = [];
  const yTail: number[] = [];
  for (let t = K; t < T; t++) {
    lags.push(Array.from({ length: K }, (_, k) => y[t - k - 1]));
    yTail.push(y[t]);
  }
  return { K, lags, y_tail: yTail };
}

export const definition: PosteriordbModel = { posterior: "arK-arK", model: arK, prepareData };
export default arK;
