// posteriordb nes2000-nes (Stan: nes.stan):
//   transformed data: age30_44 = (age_discrete == 2), age45_64 = (== 3), age65up = (== 4)   (built by prepareData)
//   vector[9] beta (flat);  real<lower=0> sigma (flat)
//   partyid7 ~ normal(beta[1] + beta[2] real_ideo + beta[3] race_adj + beta[4] age30_44 + beta[5] age45_64
//                     + beta[6] age65up + beta[7] educ1 + beta[8] gender + beta[9] income, sigma)
import { Flat, model, Normal } from "../../model/index.js";
import { vec, type PosteriordbModel, type RawData } from "./types.js";

const PREDICTORS = ["real_ideo", "race_adj", "age30_44", "age45_64", "age65up", "educ1", "gender", "income"] as const;

export const nes = model("nes", (m) => {
  const partyid7 = m.data("partyid7");
  const beta = m.param("beta", Flat(), { shape: 9 });
  const sigma = m.param("sigma", Flat(), { lower: 0 });
  let mu = beta.at(0);
  PREDICTORS.forEach((name, k) => {
    mu = mu.add(beta.at(k + 1).mul(m.data(name)));
  });
  m.observe("partyid7_obs", Normal(mu, sigma), partyid7);
});

export function prepareData(raw: RawData) {
  const age = vec(raw, "age_discrete");
  const indicator = (level: number) => age.map((a) => (a === level ? 1 : 0));
  return {
    partyid7: vec(raw, "partyid7"),
    real_ideo: vec(raw, "real_ideo"),
    race_adj: vec(raw, "race_adj"),
    age30_44: indicator(2),
    age45_64: indicator(3),
    age65up: indicator(4),
    educ1: vec(raw, "educ1"),
    gender: vec(raw, "gender"),
    income: vec(raw, "income"),
  };
}

export const definition: PosteriordbModel = { posterior: "nes2000-nes", model: nes, prepareData };
export default nes;
