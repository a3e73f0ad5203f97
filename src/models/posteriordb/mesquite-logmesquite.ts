// posteriordb mesquite-logmesquite (Stan: logmesquite.stan)
//   transformed data: logs of weight, diam1, diam2, canopy_height, total_height, density (data-only expressions here)
//   vector[7] beta (flat);  real<lower=0> sigma (flat)
//   log_weight ~ normal(beta[1] + beta[2] log_diam1 + beta[3] log_diam2 + beta[4] log_canopy_height
//                       + beta[5] log_total_height + beta[6] log_density + beta[7] group, sigma)
import { Flat, model, Normal } from "../../model/index.js";
import { vec, type PosteriordbModel, type RawData } from "./types.js";

const COLUMNS = ["weight", "diam1", "diam2", "canopy_height", "total_height", "density", "group"] as const;

export const logmesquite = model("logmesquite", (m) => {
  const logWeight = m.data("weight").log();
  const predictors = [
    m.data("diam1").log(),
    m.data("diam2").log(),
    m.data("canopy_height").log(),
    m.data("total_height").log(),
    m.data("density").log(),
    m.data("group"),
  ];
  const beta = m.param("beta", Flat(), { shape: 7 });
  const sigma = m.param("sigma", Flat(), { lower: 0 });
  let mu = beta.at(0);
  predictors.forEach((x, k) => {
    mu = mu.add(beta.at(k + 1).mul(x));
  });
  m.observe("log_weight_obs", Normal(mu, sigma), logWeight);
});

export function prepareData(raw: RawData) {
  return Object.fromEntries(COLUMNS.map((c) => [c, vec(raw, c)]));
}

export const definition: PosteriordbModel = { posterior: "mesquite-logmesquite", model: logmesquite, prepareData };
export default logmesquite;
