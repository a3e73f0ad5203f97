// posteriordb kidiq-kidscore_momiq (Stan: kidscore_momiq.stan)
//   vector[2] beta (no prior statement: flat);  sigma ~ cauchy(0, 2.5) with <lower=0>
//   kid_score ~ normal(beta[1] + beta[2] * mom_iq, sigma)
import { Cauchy, Flat, model, Normal } from "../../model/index.js";
import { vec, type PosteriordbModel, type RawData } from "./types.js";

export const kidscoreMomiq = model("kidscore_momiq", (m) => {
  const kidScore = m.data("kid_score");
  const momIq = m.data("mom_iq");
  const beta = m.param("beta", Flat(), { shape: 2 });
  const sigma = m.param("sigma", Cauchy(0, 2.5), { lower: 0 });
  m.observe("kid_score_obs", Normal(beta.at(0).add(beta.at(1).mul(momIq)), sigma), kidScore);
});

export function prepareData(raw: RawData) {
  return { kid_score: vec(raw, "kid_score"), mom_iq: vec(raw, "mom_iq") };
}

export const definition: PosteriordbModel = { posterior: "kidiq-kidscore_momiq", model: kidscoreMomiq, prepareData };
export default kidscoreMomiq;
