// posteriordb earnings-logearn_height (Stan: logearn_height.stan)
//   transformed data: log_earn = log(earn)   (a data-only expression here)
//   vector[2] beta (flat);  real<lower=0> sigma (flat on (0, ∞))
//   log_earn ~ normal(beta[1] + beta[2] * height, sigma)
import { Flat, model, Normal } from "../../model/index.js";
import { vec, type PosteriordbModel, type RawData } from "./types.js";

export const logearnHeight = model("logearn_height", (m) => {
  const logEarn = m.data("earn").log();
  const height = m.data("height");
  const beta = m.param("beta", Flat(), { shape: 2 });
  const sigma = m.param("sigma", Flat(), { lower: 0 });
  m.observe("log_earn_obs", Normal(beta.at(0).add(beta.at(1).mul(height)), sigma), logEarn);
});

export function prepareData(raw: RawData) {
  return { earn: vec(raw, "earn"), height: vec(raw, "height") };
}

export const definition: PosteriordbModel = { posterior: "earnings-logearn_height", model: logearnHeight, prepareData };
export default logearnHeight;
