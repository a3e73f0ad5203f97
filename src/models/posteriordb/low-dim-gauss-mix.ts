// posteriordb low_dim_gauss_mix-low_dim_gauss_mix (Stan: low_dim_gauss_mix.stan), a two-component normal mixture:
//   ordered[2] mu ~ normal(0, 2);  array[2] real<lower=0> sigma ~ normal(0, 2);  theta ~ beta(5, 5)
//   target += log_mix(theta, normal_lpdf(y[n] | mu[1], sigma[1]), normal_lpdf(y[n] | mu[2], sigma[2]))  for each n
// log_mix(θ, a, b) = log(θ e^a + (1 − θ) e^b) = logSumExp(log θ + a, log(1 − θ) + b), added by a factor.
import { Beta, logSumExp, model, Normal } from "../../model/index.js";
import { vec, type PosteriordbModel, type RawData } from "./types.js";

export const lowDimGaussMix = model("low_dim_gauss_mix", (m) => {
  const y = m.data("y");
  const mu = m.param("mu", Normal(0, 2), { shape: 2, ordered: true });
  const sigma = m.param("sigma", Normal(0, 2), { shape: 2, lower: 0 });
  const theta = m.param("theta", Beta(5, 5));
  const first = theta.log().add(Normal(mu.at(0), sigma.at(0)).logp(y));
  const second = theta.log1m().add(Normal(mu.at(1), sigma.at(1)).logp(y));
  m.factor("mixture", logSumExp(first, second));
});

export function prepareData(raw: RawData) {
  return { y: vec(raw, "y") };
}

export const definition: PosteriordbModel = { posterior: "low_dim_gauss_mix-low_dim_gauss_mix", model: lowDimGaussMix, prepareData };
export default lowDimGaussMix;
